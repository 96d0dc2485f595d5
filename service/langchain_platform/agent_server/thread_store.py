"""Threads of the Agent Server API as the state store keeps them: metadata, creator and last outcome.

The table ``agent_server_threads`` lives in the database of the checkpoints and of the platform's
thread index (``platform_threads``), so every worker and replica sees the same threads. A thread row
exists from ``POST /threads`` on, before any run; the first run also records it in the thread index
(its agent and owner), which is what ``/api/enterprise/agents/{name}/threads/{id}`` reads. Threads
that only the enterprise API ever ran are read from the index alone (``ThreadRow.metadata`` empty).

Searches and counts select in the store (``ThreadFilter``: owner, ids, metadata, status, expiry) and
page there; the sweeper asks only for expired threads, a batch at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# What the last run on a thread left behind; ``busy`` is never stored, it is a held run lease.
THREAD_OUTCOMES = ("idle", "interrupted", "error")
# Run ids of the leases the TTL sweeper takes: such a lease does not make its thread busy (an expired
# thread must not reappear while it is being deleted).
SWEEP_LEASE_PREFIX = "ttl-sweep-"
# The run-lease join condition of the stores' reads that leaves the sweeper's leases out (no LIKE: its
# "%" is a placeholder to psycopg).
RUN_LEASE = f"substr(l.run_id, 1, {len(SWEEP_LEASE_PREFIX)}) <> '{SWEEP_LEASE_PREFIX}'"


@dataclass(frozen=True)
class ThreadRow:
    thread_id: str
    owner: str | None
    created_at: float
    updated_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    outcome: str = "idle"
    # From the thread index: the agent that ran on it, and whether a run holds it now.
    agent: str | None = None
    busy: bool = False
    # Time to live after its last change (``ttl`` of create/update, or THREAD_TTL_MINUTES); None: kept.
    ttl_seconds: float | None = None

    @property
    def expires_at(self) -> float | None:
        return None if self.ttl_seconds is None else self.updated_at + self.ttl_seconds

    def expired(self, now: float) -> bool:
        """Past its time to live and not held by a run: gone for the API, deleted by the sweeper."""
        expires_at = self.expires_at
        return expires_at is not None and expires_at <= now and not self.busy


def metadata_to_json(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, separators=(",", ":"), sort_keys=True)


def metadata_from_json(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


# A thread the sweeper found: when its own row expired, and its id (the order of the sweeper's batches).
ExpiryKey = tuple[float, str]
# The orders a search may ask for: the ``ThreadRow`` field each sorts by.
SORT_FIELDS = {
    "thread_id": "thread_id",
    "status": "outcome",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "state_updated_at": "updated_at",
}


@dataclass(frozen=True)
class ThreadFilter:
    """The threads a search or count selects."""

    # Threads of this owner and threads of none (None: every owner's).
    owner: str | None
    # Threads expired at this time are left out (``ThreadRow.expired``).
    now: float
    ids: Sequence[str] | None = None
    # Every key holds an equal value in the thread's metadata.
    metadata: dict[str, Any] | None = None
    # "busy" (a run holds it), else the last outcome of a thread no run holds.
    status: str | None = None


@dataclass(frozen=True)
class ThreadOrder:
    field: str  # a value of SORT_FIELDS
    descending: bool
    limit: int
    offset: int


class ThreadStore(Protocol):
    async def setup(self) -> None: ...

    async def close(self) -> None: ...

    async def insert(self, row: ThreadRow) -> bool:
        """Add a thread; False (nothing written) if the id is taken here or in the thread index."""

    async def get(self, thread_id: str) -> ThreadRow | None:
        """The thread from this table and the thread index, or from either alone."""

    async def search(self, selected: ThreadFilter, order: ThreadOrder) -> list[ThreadRow]:
        """One page of the threads ``selected`` takes, ordered by ``order.field`` then thread id."""

    async def count(self, selected: ThreadFilter) -> int: ...

    async def expired(self, now: float, after: ExpiryKey | None, limit: int) -> list[ExpiryKey]:
        """Up to ``limit`` threads expired at ``now`` that no run holds, as (the time their own row
        expired, id), in that order, after ``after`` (the last pair of the previous batch)."""

    async def save(self, row: ThreadRow) -> None:
        """Insert or replace the thread's row (metadata, outcome, updated_at, ttl)."""

    async def delete(self, thread_id: str) -> None: ...
