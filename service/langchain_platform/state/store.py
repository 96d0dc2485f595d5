"""The platform's own tables, kept next to the LangGraph checkpoints so every worker and replica
sharing the checkpointer also shares them:

- ``platform_run_locks``: one lease per busy thread (the per-thread run guard);
- ``platform_threads``: which agent and which key owner a thread belongs to, and when it last ran;
- ``platform_run_callbacks``: how the delivery of each run's callback (its ``webhook``) went, for
  ``GET /api/runs/{id}``; kept as long as finished runs (BACKGROUND_RUN_RETENTION_SECONDS);
- ``platform_webhook_ids``: ids of accepted webhook events until their tolerance window has passed,
  so a replayed event is refused (the id's primary key makes the check atomic across workers).

Owners were added after the first release: a thread without one (NULL) predates them. Such a
thread is open to every key until one runs a turn on it, which makes that key's owner its owner
(``Principal.may_use``, ``acquire_run_lock``).

Webhook runs used to live in ``platform_runs``; they are Agent Server background runs now
(``agent_server_runs``). ``platform_runs`` is neither read nor written any more, and an existing one is
left as it is, rows included: replicas of the previous release that share the database during a
rolling deploy still write to it. Once every replica runs this release it may be dropped
(``DROP TABLE platform_runs``); its runs are no longer answered by ``GET /api/runs/{id}``.

``PlatformStore`` is the interface; ``store_memory`` holds the in-process implementation used with
``memory://``, ``store_sqlite`` and ``store_postgres`` the shared ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from langchain_platform.principals import Principal


@dataclass(frozen=True)
class LeaseRefused:
    """Why a thread's lease was not granted: another run holds it, another agent owns the thread, or
    another key owner does (``hidden``: answered as if the thread did not exist)."""

    holder: str | None = None
    agent: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class ThreadRecord:
    agent: str
    owner: str | None


class PlatformStore(Protocol):
    """Run locks, thread index, callback outcomes and webhook event ids; every method raises if the
    database is unreachable."""

    async def setup(self) -> None: ...

    async def ping(self) -> None:
        """Run a trivial query; raise if the store does not answer."""

    async def close(self) -> None: ...

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
        """Take the thread's lease for lease holder ``owner``; None on success, else why not.

        With ``agent`` and ``principal``, in the same transaction: refuse (``hidden``) a thread that
        ``principal`` may not use, before anything tells whether it is busy; refuse a thread another
        agent owns; create or refresh the thread row (``updated_at`` = now), claiming an unowned one
        for ``principal``. One commit per run start.
        """

    async def renew_run_lock(self, thread_id: str, run_id: str, lease_seconds: float) -> bool:
        """Push the lease's expiry to now + ``lease_seconds``; False if ``run_id`` no longer holds it."""

    async def release_run_lock(self, thread_id: str, run_id: str) -> None:
        """Drop the lease if ``run_id`` still holds it (an expired lease may have been taken over)."""

    async def release_leases_of_other_boots(self, host: str, boot_id: str) -> int:
        """Drop leases whose owner is ``host:<another boot id>:<pid>``; return how many."""

    async def clear_expired_run_locks(self) -> int: ...

    async def thread_record(self, thread_id: str) -> ThreadRecord | None: ...

    async def threads_older_than(self, seconds: float) -> list[str]: ...

    async def forget_threads(self, thread_ids: Sequence[str]) -> int:
        """Delete thread rows and their run locks; return how many thread rows existed."""

    async def record_callback(self, run_id: str, outcome: str, keep_seconds: float) -> None:
        """Record how the delivery of ``run_id``'s callback went (a one-line outcome).

        Records older than ``keep_seconds`` (their runs are gone by then) are swept in the same call.
        """

    async def callback_outcome(self, run_id: str) -> str | None: ...

    async def claim_webhook_id(self, webhook_id: str, keep_until: float) -> bool:
        """Record an event id until ``keep_until`` (Unix time); False if it is already recorded.

        Atomic (a unique insert), so of two concurrent deliveries of one id exactly one gets True.
        Ids whose time has passed are swept in the same call.
        """

    async def release_webhook_id(self, webhook_id: str) -> None:
        """Forget an id whose event was refused after all, so the sender may deliver it again."""
