"""The platform's own tables, kept next to the LangGraph checkpoints so every worker and replica
sharing the checkpointer also shares them:

- ``platform_run_locks``: one lease per busy thread (the per-thread run guard);
- ``platform_threads``: which agent and which key owner a thread belongs to, and when it last ran;
- ``platform_runs``: webhook runs, so ``GET /api/runs/{id}`` answers on any worker;
- ``platform_webhook_ids``: ids of accepted webhook events until their tolerance window has passed,
  so a replayed event is refused (the id's primary key makes the check atomic across workers).

Owners were added after the first release: a thread or run without one (NULL) predates them. Such a
thread is open to every key until one runs a turn on it, which makes that key's owner its owner
(``Principal.may_use``, ``acquire_run_lock``).

``PlatformStore`` is the interface; ``store_memory`` holds the in-process implementation used with
``memory://``, ``store_sqlite`` and ``store_postgres`` the shared ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from langchain_platform.principals import Principal

RUN_STATUSES = ("queued", "running", "succeeded", "failed")


class RunView(msgspec.Struct, frozen=True):
    """A webhook run as stored, and as ``GET /api/runs/{id}`` answers it."""

    run_id: str
    agent: str
    thread_id: str | None
    status: str
    result: dict[str, Any] | None
    error: str | None
    callback: str | None
    created_at: datetime
    updated_at: datetime
    owner: str | None = None


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

    async def create_run(self, run_id: str, agent: str, thread_id: str, owner: str) -> None: ...

    async def update_run(
        self,
        run_id: str,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None: ...

    async def set_run_callback(self, run_id: str, callback: str) -> None: ...

    async def get_run(self, run_id: str) -> RunView | None: ...

    async def claim_webhook_id(self, webhook_id: str, keep_until: float) -> bool:
        """Record an event id until ``keep_until`` (Unix time); False if it is already recorded.

        Atomic (a unique insert), so of two concurrent deliveries of one id exactly one gets True.
        Ids whose time has passed are swept in the same call.
        """

    async def release_webhook_id(self, webhook_id: str) -> None:
        """Forget an id whose event was refused after all, so the sender may deliver it again."""
