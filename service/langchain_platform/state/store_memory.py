"""``PlatformStore`` for ``memory://``: one process, nothing shared, nothing kept."""

from __future__ import annotations

import time
from collections.abc import Sequence

from langchain_platform.principals import Principal
from langchain_platform.state.store import LeaseRefused, ThreadRecord


class MemoryStore:
    """Single-process store for ``memory://``: state and locks vanish with the process, by design."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[str, float]] = {}
        self._threads: dict[str, tuple[ThreadRecord, float]] = {}
        self._callbacks: dict[str, tuple[str, float]] = {}
        self._webhook_ids: dict[str, float] = {}

    async def setup(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def acquire_run_lock(
        self,
        thread_id: str,
        run_id: str,
        owner: str,
        lease_seconds: float,
        *,
        agent: str | None = None,
        principal: Principal | None = None,
    ) -> LeaseRefused | None:
        # The memory store lives and dies with its one process: the lease owner is never needed.
        now = time.time()
        row = self._threads.get(thread_id)
        thread = row[0] if row else None
        if agent is not None and thread is not None and principal and not principal.may_use(thread.owner):
            return LeaseRefused(hidden=True)
        held = self._locks.get(thread_id)
        if held is not None and held[1] > now:
            return LeaseRefused(holder=held[0])
        if agent is not None:
            if thread is not None and thread.agent != agent:
                return LeaseRefused(agent=thread.agent)
            # An unowned thread (none yet, or from before owners existed) becomes the principal's.
            owner_now = thread.owner if thread and thread.owner else None
            if owner_now is None and principal is not None:
                owner_now = principal.owner
            self._threads[thread_id] = (ThreadRecord(agent, owner_now), now)
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

    async def thread_record(self, thread_id: str) -> ThreadRecord | None:
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

    async def record_callback(self, run_id: str, outcome: str, keep_seconds: float) -> None:
        now = time.time()
        for old in [i for i, (_, at) in self._callbacks.items() if at < now - keep_seconds]:
            del self._callbacks[old]
        self._callbacks[run_id] = (outcome, now)

    async def callback_outcome(self, run_id: str) -> str | None:
        row = self._callbacks.get(run_id)
        return row[0] if row else None

    async def claim_webhook_id(self, webhook_id: str, keep_until: float) -> bool:
        now = time.time()
        for expired in [i for i, until in self._webhook_ids.items() if until < now]:
            del self._webhook_ids[expired]
        if webhook_id in self._webhook_ids:
            return False
        self._webhook_ids[webhook_id] = keep_until
        return True

    async def release_webhook_id(self, webhook_id: str) -> None:
        self._webhook_ids.pop(webhook_id, None)
