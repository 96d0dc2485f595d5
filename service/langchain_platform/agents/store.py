"""The platform's own tables, kept next to the LangGraph checkpoints so every worker and replica
sharing the checkpointer also shares them:

- ``platform_run_locks``: one lease per busy thread (the per-thread run guard);
- ``platform_threads``: which agent owns a thread and when it last ran (to list and age threads);
- ``platform_runs``: webhook runs, so ``GET /api/runs/{id}`` answers on any worker.

``PlatformStore`` is the interface; this module holds the in-process implementation used with
``memory://``; ``store_sqlite`` and ``store_postgres`` hold the shared ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

RUN_STATUSES = ("queued", "running", "succeeded", "failed")


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    agent: str
    thread_id: str | None
    status: str
    result: dict[str, Any] | None
    error: str | None
    callback: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LeaseRefused:
    """Why a thread's lease was not granted: another run holds it, or another agent owns the thread."""

    holder: str | None = None
    agent: str | None = None


def epoch_to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def result_to_json(result: dict[str, Any] | None) -> str | None:
    return None if result is None else json.dumps(result, separators=(",", ":"))


def result_from_json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


class PlatformStore(Protocol):
    """Run locks, thread index and webhook runs; every method raises if the database is unreachable."""

    async def setup(self) -> None: ...

    async def ping(self) -> None:
        """Run a trivial query; raise if the store does not answer."""

    async def close(self) -> None: ...

    async def acquire_run_lock(
        self, thread_id: str, run_id: str, owner: str, lease_seconds: float, *, agent: str | None = None
    ) -> LeaseRefused | None:
        """Take the thread's lease; None on success, else who holds it.

        With ``agent``, in the same transaction: refuse a thread another agent owns, and create or
        refresh the thread row (``updated_at`` = now) for ``agent``. One commit per run start.
        """

    async def renew_run_lock(self, thread_id: str, run_id: str, lease_seconds: float) -> bool:
        """Push the lease's expiry to now + ``lease_seconds``; False if ``run_id`` no longer holds it."""

    async def release_run_lock(self, thread_id: str, run_id: str) -> None:
        """Drop the lease if ``run_id`` still holds it (an expired lease may have been taken over)."""

    async def release_leases_of_other_boots(self, host: str, boot_id: str) -> int:
        """Drop leases whose owner is ``host:<another boot id>:<pid>``; return how many."""

    async def clear_expired_run_locks(self) -> int: ...

    async def thread_agent(self, thread_id: str) -> str | None: ...

    async def threads_older_than(self, seconds: float) -> list[str]: ...

    async def forget_threads(self, thread_ids: Sequence[str]) -> int:
        """Delete thread rows and their run locks; return how many thread rows existed."""

    async def create_run(self, run_id: str, agent: str, thread_id: str) -> None: ...

    async def update_run(
        self,
        run_id: str,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None: ...

    async def set_run_callback(self, run_id: str, callback: str) -> None: ...

    async def get_run(self, run_id: str) -> RunRecord | None: ...


class MemoryStore:
    """Single-process store for ``memory://``: state and locks vanish with the process, by design."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[str, float]] = {}
        self._threads: dict[str, tuple[str, float]] = {}
        self._runs: dict[str, RunRecord] = {}

    async def setup(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def acquire_run_lock(
        self, thread_id: str, run_id: str, owner: str, lease_seconds: float, *, agent: str | None = None
    ) -> LeaseRefused | None:
        # The memory store lives and dies with its one process: the owner is never needed.
        now = time.time()
        held = self._locks.get(thread_id)
        if held is not None and held[1] > now:
            return LeaseRefused(holder=held[0])
        if agent is not None:
            thread_agent = self._threads.get(thread_id, (agent, 0.0))[0]
            if thread_agent != agent:
                return LeaseRefused(agent=thread_agent)
            self._threads[thread_id] = (agent, now)
        self._locks[thread_id] = (run_id, now + lease_seconds)
        return None

    async def renew_run_lock(self, thread_id: str, run_id: str, lease_seconds: float) -> bool:
        held = self._locks.get(thread_id)
        if held is None or held[0] != run_id:
            return False
        self._locks[thread_id] = (run_id, time.time() + lease_seconds)
        return True

    async def release_run_lock(self, thread_id: str, run_id: str) -> None:
        held = self._locks.get(thread_id)
        if held is not None and held[0] == run_id:
            del self._locks[thread_id]

    async def release_leases_of_other_boots(self, host: str, boot_id: str) -> int:
        return 0  # nothing outlives the process that held it

    async def clear_expired_run_locks(self) -> int:
        now = time.time()
        expired = [thread for thread, (_, expires) in self._locks.items() if expires <= now]
        for thread in expired:
            del self._locks[thread]
        return len(expired)

    async def thread_agent(self, thread_id: str) -> str | None:
        row = self._threads.get(thread_id)
        return row[0] if row else None

    async def threads_older_than(self, seconds: float) -> list[str]:
        cutoff = time.time() - seconds
        return [thread for thread, (_, updated) in self._threads.items() if updated < cutoff]

    async def forget_threads(self, thread_ids: Sequence[str]) -> int:
        count = 0
        for thread in thread_ids:
            self._locks.pop(thread, None)
            if self._threads.pop(thread, None) is not None:
                count += 1
        return count

    async def create_run(self, run_id: str, agent: str, thread_id: str) -> None:
        now = datetime.now(UTC)
        self._runs[run_id] = RunRecord(run_id, agent, thread_id, "queued", None, None, None, now, now)

    async def update_run(
        self,
        run_id: str,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        run = self._runs[run_id]
        self._runs[run_id] = replace(
            run, status=status, result=result, error=error, updated_at=datetime.now(UTC)
        )

    async def set_run_callback(self, run_id: str, callback: str) -> None:
        self._runs[run_id] = replace(self._runs[run_id], callback=callback, updated_at=datetime.now(UTC))

    async def get_run(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)
