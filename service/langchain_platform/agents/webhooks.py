"""Webhook signatures (inbound and outbound) and delivery of results to ``callback_url``.

Both directions use ``X-Signature-256: sha256=<hex HMAC-SHA256(WEBHOOK_SECRET, raw body)>``, so a
receiver verifies our callbacks exactly as we verify its events.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import httpx
import msgspec
import structlog

from langchain_platform.agents.callback_policy import CallbackPolicy, CallbackRefused

SIGNATURE_HEADER = "X-Signature-256"
_PREFIX = "sha256="
FIRST_BACKOFF_SECONDS = 0.5

_log = structlog.get_logger("langchain_platform.webhooks")


def sign(secret: str, body: bytes) -> str:
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def deliver(
    client: httpx.AsyncClient,
    policy: CallbackPolicy,
    *,
    url: str,
    secret: str,
    payload: dict[str, Any],
    max_attempts: int,
    timeout_seconds: float,
) -> str:
    """POST the signed payload with bounded retries; return a one-line outcome for the run record."""
    body = msgspec.json.encode(payload)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    outcome = "not attempted"
    for attempt in range(1, max_attempts + 1):
        if attempt > 1:
            await asyncio.sleep(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 2))
        try:
            await policy.check(url)
        except CallbackRefused as exc:
            return f"refused: {exc}"
        try:
            response = await client.post(url, content=body, headers=headers, timeout=timeout_seconds)
        except httpx.HTTPError as exc:
            outcome = f"failed after {attempt} attempt(s): {type(exc).__name__}"
            _log.warning("webhook callback failed", url=url, attempt=attempt, error=type(exc).__name__)
            continue
        if response.is_success:
            return f"delivered (HTTP {response.status_code}) after {attempt} attempt(s)"
        outcome = f"failed after {attempt} attempt(s): HTTP {response.status_code}"
        _log.warning("webhook callback rejected", url=url, attempt=attempt, status=response.status_code)
        if not _retryable(response.status_code):
            break
    return outcome
