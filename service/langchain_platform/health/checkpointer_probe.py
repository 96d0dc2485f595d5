"""The checkpointer ping behind ``/health`` and ``/health/ready``, cached for about a second.

Load balancers, Docker and monitoring each probe every few seconds, on every worker: without the
cache each probe is a database query. A second of staleness keeps readiness reacting to an outage
within ``MAX_AGE_SECONDS + TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

MAX_AGE_SECONDS = 1.0
# A probe must answer fast even when the database hangs: a slow ping counts as a failed one.
TIMEOUT_SECONDS = 2.0

_log = structlog.get_logger("langchain_platform.health")


class CheckpointerProbe:
    def __init__(
        self,
        ping: Callable[[], Awaitable[bool]],
        max_age_seconds: float = MAX_AGE_SECONDS,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self._ping = ping
        self._max_age = max_age_seconds
        self._timeout = timeout_seconds
        self._result = False
        self._checked_at: float | None = None
        # Probes arriving during a ping wait for its result instead of starting their own.
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._checked_at is not None and time.monotonic() - self._checked_at < self._max_age

    def fresh_ok(self) -> bool:
        """True when a ping younger than the maximum age answered; False also means "ask ``ok``"."""
        return self._result and self._fresh()

    async def ok(self) -> bool:
        if self._fresh():  # the common case, every probe: no lock needed to read a fresh answer
            return self._result
        async with self._lock:
            if not self._fresh():
                self._result = await self._ping_once()
                self._checked_at = time.monotonic()
            return self._result

    async def _ping_once(self) -> bool:
        try:
            return await asyncio.wait_for(self._ping(), self._timeout)
        except Exception as exc:  # any failure to ping means "not ok", and is worth a log line
            _log.warning("checkpointer ping failed", error=repr(exc))
            return False
