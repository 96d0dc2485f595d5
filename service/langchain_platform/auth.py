"""API-key authentication: several valid keys, stored and compared only as SHA-256 digests.

Keys come from ``API_KEY``/``API_KEYS`` (hashed at start) and ``API_KEYS_FILE`` (digests). Each one
grants a ``Principal`` (owner and scopes, see ``principals.py``), which the gate puts in the ASGI
scope as ``user`` for the guards and handlers. The file is re-read on SIGHUP and whenever its inode,
mtime or size changes (checked at most once a second on the request path), so keys rotate without a
restart. A keys-file line with ``expires=`` stops granting at that time, checked on every request, so
a grace window ends without anybody touching the file. Keys and header values are never logged.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from langchain_platform.errors import PROBLEM_JSON, problem_details
from langchain_platform.openai_compat.errors import UNAUTHORIZED_BODY as OPENAI_UNAUTHORIZED_BODY
from langchain_platform.openai_compat.errors import is_openai_path
from langchain_platform.principals import ConfiguredKey, KeyGrant, Principal, hash_key, read_key_file
from langchain_platform.settings import Settings

AUTH_FAILED_DETAIL = "Invalid or missing API key"

_log = structlog.get_logger("langchain_platform.auth")


__all__ = ["ApiKeyGate", "KeyStore", "hash_key", "path_is_exempt", "presented_key"]


def path_is_exempt(path: str, exempt: tuple[str, ...]) -> bool:
    """True if ``path`` is one of ``exempt`` or below one of them (``/health`` covers ``/health/ready``)."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in exempt)


class KeyStore:
    def __init__(
        self,
        env_keys: tuple[ConfiguredKey, ...],
        keys_file: Path | None,
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._env_grants = tuple(KeyGrant(hash_key(k.key), k.principal) for k in env_keys)
        self._keys_file = keys_file
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._file_grants: tuple[KeyGrant, ...] = ()
        self._file_stamp: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")
        if keys_file is not None:
            self.reload()

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        return cls(settings.api_keys, settings.api_keys_file)

    @property
    def digest_count(self) -> int:
        return len(self._env_grants) + len(self._file_grants)

    def verify(self, presented: str | None) -> Principal | None:
        """The principal of the presented key, or None; every stored digest is compared in constant time."""
        self._maybe_reload()
        if not presented:
            return None
        digest = hash_key(presented)
        now = self._clock()
        found: Principal | None = None
        # No early exit: the time taken does not tell which (or whether an earlier) digest matched.
        for grant in (*self._env_grants, *self._file_grants):
            if hmac.compare_digest(digest, grant.digest) and found is None:
                found = grant.principal if grant.valid_at(now) else None
        return found

    def reload(self) -> None:
        """Re-read the keys file now (SIGHUP). A missing or unreadable file grants no key (fail closed)."""
        if self._keys_file is None:
            return
        try:
            stat = self._keys_file.stat()
            grants, problems = read_key_file(self._keys_file)
        except (OSError, UnicodeDecodeError) as exc:
            _log.error(
                "API keys file unreadable; its keys are revoked", path=str(self._keys_file), error=str(exc)
            )
            self._file_grants, self._file_stamp = (), None
            return
        for problem in problems:
            _log.error("API keys file line skipped", problem=problem)
        self._file_grants = tuple(grants)
        self._file_stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        _log.info(
            "API keys file loaded",
            path=str(self._keys_file),
            digests=len(grants),
            skipped_lines=len(problems),
            owners=sorted({g.principal.owner for g in grants}),
            expiring=len([g for g in grants if g.expires is not None]),
        )

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
    """The key from ``X-API-Key``, or from ``Authorization: Bearer <key>`` when that header is absent or
    empty (a client library that always sends ``X-API-Key`` may send it blank)."""
    api_key: str | None = None
    bearer: str | None = None
    for name, value in scope["headers"]:
        if name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1").strip()
        elif name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
    return api_key or bearer


_UNAUTHORIZED_BODY = msgspec.json.encode(problem_details(401, AUTH_FAILED_DETAIL))
_UNAUTHORIZED_HEADERS = [
    (b"content-type", PROBLEM_JSON.encode()),
    (b"content-length", str(len(_UNAUTHORIZED_BODY)).encode()),
    (b"www-authenticate", b"ApiKey"),
]
# OpenAI clients raise AuthenticationError with the message only from OpenAI's error format.
_OPENAI_UNAUTHORIZED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(OPENAI_UNAUTHORIZED_BODY)).encode()),
    (b"www-authenticate", b"Bearer"),
]


class ApiKeyGate:
    """In front of the router: a 401 problem without a valid key, except on the exempt paths.

    A valid key's principal goes into the scope as ``user``, on exempt paths too (so ``/health`` can
    tell an authenticated caller from an anonymous one).

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
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        key = presented_key(scope)
        principal = self.keys.verify(key) if key else None
        if principal is not None:
            scope["user"] = principal
        if principal is not None or path_is_exempt(scope["path"], self.exempt_paths):
            await self.app(scope, receive, send)
            return
        body, headers = (
            (OPENAI_UNAUTHORIZED_BODY, _OPENAI_UNAUTHORIZED_HEADERS)
            if is_openai_path(scope["path"])
            else (_UNAUTHORIZED_BODY, _UNAUTHORIZED_HEADERS)
        )
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
