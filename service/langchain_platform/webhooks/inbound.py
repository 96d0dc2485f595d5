"""Whether an inbound event is authentic and meant for the agent whose webhook it reached.

Standard Webhooks headers are checked first (signature over id, time and body; time within
WEBHOOK_TOLERANCE_SECONDS either way); the event's id is then claimed in the state store by
``WebhookRuns`` so it runs once. The signed body names its agent (``"agent"``), which must be the
path's, so an event signed for one agent cannot be posted to another's webhook. The deprecated
``X-Signature-256`` is accepted only with WEBHOOK_LEGACY_SIGNATURE=true, and logged as such.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import structlog

from langchain_platform.webhooks.errors import EventNotAuthentic
from langchain_platform.webhooks.signatures import (
    ID_HEADER,
    LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRejected,
    VerifiedMessage,
    legacy_signature_valid,
    verify,
)

_log = structlog.get_logger("langchain_platform.webhooks")
_STANDARD_HEADERS = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)


def authenticate(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int,
    legacy_allowed: bool,
) -> VerifiedMessage | None:
    """The verified message, or None for a body accepted by its legacy signature; else raise."""
    legacy = headers.get(LEGACY_SIGNATURE_HEADER)
    if legacy is not None and not any(headers.get(name) for name in _STANDARD_HEADERS):
        if not legacy_allowed:
            raise EventNotAuthentic(
                f"{LEGACY_SIGNATURE_HEADER} is no longer accepted: sign with the Standard Webhooks headers "
                f"{', '.join(_STANDARD_HEADERS)} (or set WEBHOOK_LEGACY_SIGNATURE=true for this release)"
            )
        if not legacy_signature_valid(secret, body, legacy):
            raise EventNotAuthentic(
                f"invalid {LEGACY_SIGNATURE_HEADER}: send sha256=<hex HMAC-SHA256 of the raw body>"
            )
        _log.warning(
            "webhook accepted with the deprecated X-Signature-256 header: it cannot stop replays; "
            "move the sender to Standard Webhooks signatures"
        )
        return None
    try:
        return verify(secret, headers, body, now=time.time(), tolerance_seconds=tolerance_seconds)
    except SignatureRejected as exc:
        raise EventNotAuthentic(f"webhook signature refused: {exc}") from exc


def check_target(path_agent: str, event_agent: str | None, message: VerifiedMessage | None) -> None:
    """The signed body must name the agent of the path (optional only for a legacy signature)."""
    if event_agent is None and message is not None:
        raise EventNotAuthentic(
            f'the signed body must name its agent: add "agent": "{path_agent}" to the event'
        )
    if event_agent is not None and event_agent != path_agent:
        raise EventNotAuthentic(f"the event is signed for agent {event_agent!r}, not {path_agent!r}")
