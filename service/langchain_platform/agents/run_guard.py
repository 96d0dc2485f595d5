"""One run at a time per thread, across workers and replicas: a lease in the state store.

Two runs appending to one thread's checkpoint would interleave their messages, so the second run
is refused with 409 instead. The lease outlives a crashed holder by at most RUN_TIMEOUT_SECONDS
plus a margin; after that the next run takes it over.
"""

from __future__ import annotations

import os
import socket

from langchain_platform.agents.store import PlatformStore
from langchain_platform.errors import Conflict

LEASE_MARGIN_SECONDS = 30.0


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RunGuard:
    def __init__(self, store: PlatformStore, run_timeout_seconds: float) -> None:
        self._store = store
        self.lease_seconds = run_timeout_seconds + LEASE_MARGIN_SECONDS
        self._owner = owner_id()

    async def acquire(self, thread_id: str, run_id: str) -> None:
        """Take the thread for ``run_id`` or raise ``Conflict`` naming the run that holds it."""
        holder = await self._store.acquire_run_lock(thread_id, run_id, self._owner, self.lease_seconds)
        if holder is not None:
            raise Conflict(f"thread {thread_id} is busy with run {holder}")

    async def release(self, thread_id: str, run_id: str) -> None:
        await self._store.release_run_lock(thread_id, run_id)
