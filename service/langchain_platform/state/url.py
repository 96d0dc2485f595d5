"""``CHECKPOINTER_URL``: the one parser of the state store's address."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

Backend = Literal["memory", "sqlite", "postgresql"]
STATE_FILE_NAME = "state.sqlite"
_FIX = "use memory://, sqlite:///abs/path or postgresql://user:pw@host:5432/db"
# postgres:// is libpq's other spelling of the same scheme.
_BACKENDS: dict[str, Backend] = {
    "memory": "memory",
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
}


class InvalidCheckpointerUrl(ValueError):
    """The URL cannot name a state store; the message says what to write instead."""


@dataclass(frozen=True)
class CheckpointerUrl:
    backend: Backend
    # The SQLite file (sqlite only).
    path: Path | None = None
    # The libpq connection string (postgresql only); it may hold a password, so it is never shown.
    dsn: str | None = field(default=None, repr=False)


def default_checkpointer_url(data_dir: Path) -> str:
    """The SQLite file in DATA_DIR, used when CHECKPOINTER_URL is unset."""
    return f"sqlite://{data_dir / STATE_FILE_NAME}"


def parse_checkpointer_url(url: str) -> CheckpointerUrl:
    """Backend and target of ``url``; raise ``InvalidCheckpointerUrl`` naming the problem and the fix."""
    parts = urlsplit(url)
    backend = _BACKENDS.get(parts.scheme)
    if backend is None:
        raise InvalidCheckpointerUrl(f"CHECKPOINTER_URL has unknown scheme {parts.scheme!r}: {_FIX}")
    if backend == "sqlite":
        if parts.netloc or not parts.path.startswith("/"):
            raise InvalidCheckpointerUrl(
                f"CHECKPOINTER_URL sqlite path must be absolute (sqlite:///abs/path): {_FIX}"
            )
        return CheckpointerUrl(backend, path=Path(parts.path))
    if backend == "postgresql":
        if not parts.hostname:
            raise InvalidCheckpointerUrl(f"CHECKPOINTER_URL names no PostgreSQL host: {_FIX}")
        return CheckpointerUrl(backend, dsn=url)
    return CheckpointerUrl(backend)
