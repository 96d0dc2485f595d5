"""Delivery of a webhook run's result to its ``callback_url``: signed, re-checked, bounded retries.

Signed the Standard Webhooks way, like the events we receive: one ``webhook-id`` for every attempt
(so the receiver can drop a retry it already processed), a fresh ``webhook-timestamp`` and signature
per attempt (so a slow retry is not refused as stale).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import msgspec
import structlog

from langchain_platform.webhooks.callback_policy import CallbackPolicy
from langchain_platform.webhooks.errors import CallbackRefused
from langchain_platform.webhooks.signatures import LEGACY_SIGNATURE_HEADER, legacy_sign, sign_headers

FIRST_BACKOFF_SECONDS = 0.5

_log = structlog.get_logger("langchain_platform.webhooks")


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def deliver(
    client: httpx.AsyncClient,
    policy: CallbackPolicy,
    *,
    url: str,
    secret: str,
    message_id: str,
    legacy_header: bool,
    payload: dict[str, Any],
    max_attempts: int,
    timeout_seconds: float,
) -> str:
    """POST the signed payload with bounded retries; return a one-line outcome for the run record.

    ``legacy_header`` adds the deprecated ``X-Signature-256`` for receivers not yet moved over.
    """
    body = msgspec.json.encode(payload)
    fixed_headers = {"Content-Type": "application/json"}
    if legacy_header:
        fixed_headers[LEGACY_SIGNATURE_HEADER] = legacy_sign(secret, body)
    outcome = "not attempted"
    for attempt in range(1, max_attempts + 1):
        if attempt > 1:
            await asyncio.sleep(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 2))
        try:
            await policy.check(url)
        except CallbackRefused as exc:
            return f"refused: {exc}"
        headers = fixed_headers | sign_headers(secret, message_id, int(time.time()), body)
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
