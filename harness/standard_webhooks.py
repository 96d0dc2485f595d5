"""Standard Webhooks (standardwebhooks.com) written from the spec, apart from the service's code, so
tests sign events and check callbacks the way any third-party sender or receiver would.

Signed content: ``{webhook-id}.{webhook-timestamp}.{raw body}``; signature: base64 of its
HMAC-SHA256 under the secret (``whsec_<base64>`` decoded, else the secret's UTF-8 bytes), sent as
``webhook-signature: v1,<signature>`` (space-separated when there are several).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping


def secret_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode("utf-8")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    content = message_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return base64.b64encode(hmac.new(secret_key(secret), content, hashlib.sha256).digest()).decode()


def signed_headers(
    secret: str, body: bytes, *, message_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Content-Type plus the three headers of one delivery (a new id and the current time by default)."""
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature(secret, message_id, timestamp, body)}",
    }


def verified(secret: str, headers: Mapping[str, str], body: bytes, tolerance_seconds: int = 300) -> bool:
    """True if ``headers`` (lower-case names) carry a valid, current v1 signature of ``body``."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not message_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance_seconds:
        return False
    expected = signature(secret, message_id, int(stamp), body)
    offered = [item.split(",", 1)[1] for item in headers.get("webhook-signature", "").split() if "," in item]
    return any(hmac.compare_digest(expected, value) for value in offered if value)
