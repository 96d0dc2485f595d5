"""Webhook signatures, inbound and outbound: the Standard Webhooks scheme (standardwebhooks.com).

A message carries ``webhook-id`` (unique per event, the same on every retry), ``webhook-timestamp``
(Unix seconds of this attempt) and ``webhook-signature``: space-separated ``v1,<base64 of
HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>``, several while a sender rotates its secret. The
id and the time are signed with the body, so a captured event can be neither replayed later than
the tolerance window (the id is remembered that long) nor re-dated. A secret written
``whsec_<base64>`` is those decoded bytes, any other secret its UTF-8 bytes.

``X-Signature-256: sha256=<hex HMAC of the body>`` is the deprecated scheme of the previous release,
accepted inbound and sent outbound only with ``WEBHOOK_LEGACY_SIGNATURE=true``: it signs neither
an id nor a time, so it cannot stop replays.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
LEGACY_SIGNATURE_HEADER = "X-Signature-256"
SECRET_PREFIX = "whsec_"  # noqa: S105  # the prefix of a secret, not a secret
MAX_ID_LENGTH = 256
_LEGACY_PREFIX = "sha256="
_VERSION = "v1"


def webhook_secret_bytes(secret: str) -> bytes:
    """The HMAC key of ``secret``; ``ValueError`` for a ``whsec_`` secret that is not base64."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error as exc:
            raise ValueError("the part after whsec_ is not base64") from exc
    return secret.encode("utf-8")


def _signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def sign_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery attempt."""
    signature = _signature(webhook_secret_bytes(secret), message_id, timestamp, body)
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{_VERSION},{signature}",
    }


@dataclass(frozen=True)
class VerifiedMessage:
    message_id: str
    timestamp: int


class SignatureRejected(Exception):
    """Why a message is not authentic; the text tells the sender what to fix and reveals no secret."""


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float, tolerance_seconds: int
) -> VerifiedMessage:
    """Check the Standard Webhooks headers of ``body``; raise ``SignatureRejected`` otherwise."""
    message_id = headers.get(ID_HEADER, "")
    stamp = headers.get(TIMESTAMP_HEADER, "")
    signatures = headers.get(SIGNATURE_HEADER, "")
    if not message_id or not stamp or not signatures:
        raise SignatureRejected(
            f"send {ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} (Standard Webhooks)"
        )
    if len(message_id) > MAX_ID_LENGTH or not message_id.isprintable():
        raise SignatureRejected(f"{ID_HEADER} must be at most {MAX_ID_LENGTH} printable characters")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRejected(f"{TIMESTAMP_HEADER} must be Unix seconds")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureRejected(
            f"{TIMESTAMP_HEADER} is more than {tolerance_seconds}s away from this server's clock "
            "(WEBHOOK_TOLERANCE_SECONDS): sign each attempt with the current time"
        )
    expected = _signature(webhook_secret_bytes(secret), message_id, timestamp, body)
    matched = False
    # Every listed v1 signature is compared (no early exit), so timing says nothing about which.
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == _VERSION:
            matched |= hmac.compare_digest(expected.encode(), value.encode())
    if not matched:
        raise SignatureRejected(f"no valid {_VERSION} signature in {SIGNATURE_HEADER}")
    return VerifiedMessage(message_id, timestamp)


def legacy_sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, body)>``: the deprecated ``X-Signature-256`` value."""
    return _LEGACY_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def legacy_signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(_LEGACY_PREFIX):
        return False
    return hmac.compare_digest(legacy_sign(secret, body), header.strip())
