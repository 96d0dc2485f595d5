"""The time limit of each agent or chain run, which a stopping service can also bring forward.

A run past ``SHUTDOWN_GRACE_SECONDS`` must still answer: left to uvicorn, its request task is
cancelled (a plain-text 500, a stream cut without its ``error`` event, a CancelledError traceback).
Instead the drain makes every run's deadline expire now: the run stops at its next await, like a
timeout, and fails with ``RunCancelled`` (503 with ``Retry-After``, or the stream's ``error`` event),
while its response can still be written.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from langchain_platform.agents.errors import RunCancelled, RunTimeout
from langchain_platform.domain_errors import DomainError


class RunDeadline:
    """``async with deadline:`` bounds a run by ``seconds``; ``failure()`` names why it was cut."""

    def __init__(self, seconds: float, active: set[RunDeadline]) -> None:
        self._seconds = seconds
        self._active = active
        self._timeout = asyncio.timeout(seconds)
        self._stopped = False

    async def __aenter__(self) -> RunDeadline:
        await self._timeout.__aenter__()
        self._active.add(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._active.discard(self)
        await self._timeout.__aexit__(exc_type, exc, tb)  # turns its own cancellation into TimeoutError

    def stop(self) -> None:
        """End the run now, as the service stops."""
        self._stopped = True
        self._timeout.reschedule(asyncio.get_running_loop().time())

    def failure(self) -> DomainError | None:
        """``RunCancelled`` if the service stopped the run, ``RunTimeout`` if its time ran out, else None."""
        if not self._timeout.expired():
            return None
        return RunCancelled() if self._stopped else RunTimeout(self._seconds)


class RunDeadlines:
    """The deadlines of the runs executing in this process."""

    def __init__(self) -> None:
        self._active: set[RunDeadline] = set()

    def __len__(self) -> int:
        return len(self._active)

    def start(self, seconds: float) -> RunDeadline:
        """A deadline for one run, counted here while its ``async with`` block runs."""
        return RunDeadline(seconds, self._active)

    def stop_all(self) -> int:
        """Stop every run now; return how many there were."""
        running = list(self._active)
        for deadline in running:
            deadline.stop()
        return len(running)
