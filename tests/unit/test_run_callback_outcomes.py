"""The outcome of each run's callback delivery, kept in every state store (memory, SQLite, PostgreSQL) for
``GET /api/runs/{id}``: one per run, the latest wins, old ones swept."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_platform.state.backend import StateBackend
from langchain_platform.state.store import PlatformStore
from langchain_platform.state.store_memory import MemoryStore
from langchain_platform.state.store_sqlite import SqliteStore

KEEP = 3600.0


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PlatformStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        sqlite_store = await SqliteStore.open(tmp_path / "state.sqlite")
        await sqlite_store.setup()
        yield sqlite_store
        await sqlite_store.close()
    else:
        backend = StateBackend(request.getfixturevalue("postgres_url"))
        await backend.start()
        _, pg_store = await backend.require()
        yield pg_store
        await backend.close()


def run_id() -> str:
    return f"run-{uuid.uuid4().hex[:8]}"


async def test_the_latest_outcome_of_a_run_is_kept(store: PlatformStore) -> None:
    run, other = run_id(), run_id()
    assert await store.callback_outcome(run) is None
    await store.record_callback(run, "failed after 1 attempt(s): HTTP 500", KEEP)
    await store.record_callback(other, "refused: loopback", KEEP)
    await store.record_callback(run, "delivered (HTTP 200) after 2 attempt(s)", KEEP)
    assert await store.callback_outcome(run) == "delivered (HTTP 200) after 2 attempt(s)"
    assert await store.callback_outcome(other) == "refused: loopback"


async def test_outcomes_older_than_the_retention_are_swept(store: PlatformStore) -> None:
    old, new = run_id(), run_id()
    await store.record_callback(old, "delivered (HTTP 200) after 1 attempt(s)", KEEP)
    # A later record with no retention left sweeps every earlier one.
    await store.record_callback(new, "delivered (HTTP 204) after 1 attempt(s)", -1.0)
    assert await store.callback_outcome(old) is None
    assert await store.callback_outcome(new) == "delivered (HTTP 204) after 1 attempt(s)"
