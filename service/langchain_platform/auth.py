"""API-key authentication: several valid keys, stored and compared only as SHA-256 digests.

Keys come from ``API_KEY``/``API_KEYS`` (hashed at start) and ``API_KEYS_FILE`` (digests). The file is
re-read on SIGHUP and whenever its inode, mtime or size changes (checked at most once a second on the
request path), so keys rotate without a restart. Keys and header values are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from langchain_platform.errors import PROBLEM_JSON, problem_details
from langchain_platform.settings import Settings, read_key_digests

AUTH_FAILED_DETAIL = "Invalid or missing API key"

_log = structlog.get_logger("langchain_platform.auth")


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for a key in ``API_KEYS_FILE``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def path_is_exempt(path: str, exempt: tuple[str, ...]) -> bool:
    """True if ``path`` is one of ``exempt`` or below one of them (``/health`` covers ``/health/ready``)."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in exempt)


class KeyStore:
    def __init__(
        self, env_keys: tuple[str, ...], keys_file: Path | None, recheck_seconds: float = 1.0
    ) -> None:
        self._env_digests = tuple(hash_key(k) for k in env_keys)
        self._keys_file = keys_file
        self._recheck_seconds = recheck_seconds
        self._file_digests: tuple[str, ...] = ()
        self._file_stamp: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")
        if keys_file is not None:
            self.reload()

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        return cls(settings.api_keys, settings.api_keys_file)

    @property
    def digest_count(self) -> int:
        return len(self._env_digests) + len(self._file_digests)

    def verify(self, presented: str | None) -> bool:
        """Compare the presented key's digest with every stored digest in constant time per digest."""
        self._maybe_reload()
        if not presented:
            return False
        digest = hash_key(presented)
        matched = False
        # No early exit: the time taken does not tell which (or whether an earlier) digest matched.
        for stored in (*self._env_digests, *self._file_digests):
            matched |= hmac.compare_digest(digest, stored)
        return matched

    def reload(self) -> None:
        """Re-read the keys file now (SIGHUP). A missing or unreadable file grants no key (fail closed)."""
        if self._keys_file is None:
            return
        try:
            stat = self._keys_file.stat()
            digests, problems = read_key_digests(self._keys_file)
        except (OSError, UnicodeDecodeError) as exc:
            _log.error(
                "API keys file unreadable; its keys are revoked", path=str(self._keys_file), error=str(exc)
            )
            self._file_digests, self._file_stamp = (), None
            return
        for problem in problems:
            _log.warning("API keys file line skipped", problem=problem)
        self._file_digests = tuple(digests)
        self._file_stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        _log.info("API keys file loaded", path=str(self._keys_file), digests=len(digests))

    def _maybe_reload(self) -> None:
        if self._keys_file is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self._recheck_seconds:
            return
        self._checked_at = now
        try:
            stat = self._keys_file.stat()
            stamp: tuple[int, int, int] | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp != self._file_stamp:
            self.reload()


def presented_key(scope: Scope) -> str | None:
    """The key from ``X-API-Key``, or from ``Authorization: Bearer <key>``."""
    bearer: str | None = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
    return bearer


_UNAUTHORIZED_BODY = msgspec.json.encode(problem_details(401, AUTH_FAILED_DETAIL))
_UNAUTHORIZED_HEADERS = [
    (b"content-type", PROBLEM_JSON.encode()),
    (b"content-length", str(len(_UNAUTHORIZED_BODY)).encode()),
    (b"www-authenticate", b"ApiKey"),
]


class ApiKeyGate:
    """In front of the router: a 401 problem without a valid key, except on the exempt paths.

    A plain ASGI wrapper rather than Litestar middleware: listed middleware wraps every route in two
    more ASGI layers, which cost each health probe 13 µs (a fifth of its CPU) just to be let through.
    A refused request never reaches the router, so a caller without a key learns nothing about which
    paths exist: an unknown path is 401 for it, 404 only with a key.
    """

    def __init__(self, app: ASGIApp, keys: KeyStore, exempt_paths: tuple[str, ...]) -> None:
        self.app = app
        self.keys = keys
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or path_is_exempt(scope["path"], self.exempt_paths)
            or self.keys.verify(presented_key(scope))
        ):
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 401, "headers": _UNAUTHORIZED_HEADERS})
        await send({"type": "http.response.body", "body": _UNAUTHORIZED_BODY, "more_body": False})
