"""The sweeper every server process runs next to its background-run loop: it deletes threads past their
time to live (``ttl`` of thread create/update, or ``THREAD_TTL_MINUTES``) with their checkpoints and
runs, and background runs that ended more than ``BACKGROUND_RUN_RETENTION_SECONDS`` ago, every
``THREAD_SWEEP_SECONDS``.

A thread is deleted under its run lease, and only if it is still expired once the lease is held, so
never while a run holds it nor after a run touched it; a thread with a pending or running background
run waits for the next sweep. Sweepers of several processes or replicas meet on the same lease: one
deletes, the others find the thread busy or gone. Until it is swept, an expired thread is already
missing for get and search (``ThreadRow.expired``).

A pass reads only what is due, through indexes: expired threads ``SWEEP_BATCH`` at a time, each batch
after the last one's (expiry, id) so threads it skipped are not read again; ended runs in batches of
``run_store.DELETE_BATCH``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from langchain_platform.agent_server.run_store import ACTIVE_STATUSES, RunStore
from langchain_platform.agent_server.thread_store import ExpiryKey
from langchain_platform.agent_server.threads import Threads
from langchain_platform.agents.runtime import AgentRuntime

_log = structlog.get_logger("langchain_platform.agent_server")

SWEEP_BATCH = 100


class Sweeper:
    def __init__(self, runtime: AgentRuntime, threads: Threads, runs: RunStore) -> None:
        self._runtime = runtime
        self._threads = threads
        self._runs = runs
        self._every = runtime.settings.thread_sweep_seconds
        self._retention = runtime.settings.background_run_retention_seconds
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._sweep_loop(), name="agent-server-sweeper")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sweep(time.time())
            except Exception as exc:  # the store may be down for a while: the next sweep tries again
                _log.warning("could not sweep expired threads and runs", error=repr(exc))

    async def sweep(self, now: float) -> None:
        state = self._runtime.state
        deleted = []
        after: ExpiryKey | None = None
        while batch := await self._threads.expired(now, after, SWEEP_BATCH):
            for _, thread_id in batch:
                if await state.call(self._runs.of_thread(thread_id, statuses=ACTIVE_STATUSES, limit=1)):
                    continue
                if await self._threads.remove_expired(thread_id):
                    await state.call(self._runs.delete_of_thread(thread_id))
                    deleted.append(thread_id)
            if len(batch) < SWEEP_BATCH:
                break
            after = batch[-1]
        runs = await state.call(self._runs.delete_finished(now - self._retention))
        if deleted or runs:
            _log.info("swept expired threads and finished runs", threads=len(deleted), runs=runs)
