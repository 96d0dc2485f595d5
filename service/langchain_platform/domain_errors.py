"""The base of the errors domain code raises for failures a client can act on.

Domain modules know nothing of HTTP: ``errors.py`` maps each subclass to a status code and renders
it as problem details, the same way whether a handler, a guard or a stream event carries it.
"""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure; the message is vetted text shown to the client as ``detail``."""

    # Seconds a client should wait before retrying, sent as ``Retry-After``; None: no header.
    retry_after_seconds: int | None = None

    @property
    def detail(self) -> str:
        return str(self)
