"""Thread owners and webhook event ids in every state store (memory, SQLite, PostgreSQL), and the
migration that adds owners to a database from before them."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from langchain_platform.principals import Principal
from langchain_platform.state.backend import StateBackend
from langchain_platform.state.errors import ThreadBusy, ThreadHidden
from langchain_platform.state.run_guard import RunGuard
from langchain_platform.state.store import PlatformStore
from langchain_platform.state.store_memory import MemoryStore
from langchain_platform.state.store_sqlite import SqliteStore

ALICE = Principal("alice", frozenset({"agents"}))
BOB = Principal("bob", frozenset({"agents"}))
ADMIN = Principal("ops", frozenset({"admin", "agents"}))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PlatformStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        sqlite_store = await SqliteStore.open(tmp_path / "state.sqlite")
        await sqlite_store.setup()
        yield sqlite_store
        await sqlite_store.close()
        return
    backend = StateBackend(request.getfixturevalue("postgres_url"))
    await backend.start()
    _, pg_store = await backend.require()
    yield pg_store
    await backend.close()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def run_turn(store: PlatformStore, thread: str, principal: Principal, agent: str = "plain") -> None:
    lease = await RunGuard(store).acquire(thread, unique("run"), agent=agent, principal=principal)
    await lease.release()


async def test_a_thread_belongs_to_the_owner_that_created_it(store: PlatformStore) -> None:
    thread = unique("thread")
    await run_turn(store, thread, ALICE)
    record = await store.thread_record(thread)
    assert record is not None
    assert (record.agent, record.owner) == ("plain", "alice")
    with pytest.raises(ThreadHidden, match=f"agent plain has no thread {thread}"):
        await run_turn(store, thread, BOB)
    await run_turn(store, thread, ADMIN)  # admin may use it, and does not take it over
    await run_turn(store, thread, ALICE)
    record = await store.thread_record(thread)
    assert record is not None
    assert record.owner == "alice"


async def test_another_owner_learns_nothing_from_a_busy_thread(store: PlatformStore) -> None:
    thread = unique("thread")
    held = await RunGuard(store).acquire(thread, unique("run"), agent="plain", principal=ALICE)
    try:
        with pytest.raises(ThreadHidden):
            await run_turn(store, thread, BOB)
        with pytest.raises(ThreadBusy):
            await run_turn(store, thread, ALICE)
        with pytest.raises(ThreadHidden):  # not "belongs to agent plain" either
            await run_turn(store, thread, BOB, agent="assistant")
    finally:
        await held.release()


async def test_an_event_id_is_taken_once_until_released_or_expired(store: PlatformStore) -> None:
    event, later = unique("msg"), time.time() + 300
    assert await store.claim_webhook_id(event, later) is True
    assert await store.claim_webhook_id(event, later) is False
    await store.release_webhook_id(event)
    assert await store.claim_webhook_id(event, later) is True

    expired = unique("msg")
    assert await store.claim_webhook_id(expired, time.time() - 1) is True
    # Any later claim sweeps ids whose time has passed: the expired one is free again.
    assert await store.claim_webhook_id(unique("msg"), later) is True
    assert await store.claim_webhook_id(expired, later) is True


async def test_concurrent_claims_of_one_id_let_exactly_one_through(store: PlatformStore) -> None:
    event = unique("msg")
    results = await asyncio.gather(*(store.claim_webhook_id(event, time.time() + 300) for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]


OLD_SQLITE_SCHEMA = """
CREATE TABLE platform_run_locks (thread_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, owner TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE platform_threads (thread_id TEXT PRIMARY KEY, agent TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE platform_runs (run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, thread_id TEXT,
    status TEXT NOT NULL, result_json TEXT, error TEXT, callback TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
INSERT INTO platform_threads VALUES ('old-thread', 'plain', 0);
INSERT INTO platform_runs VALUES ('old-run', 'plain', 'old-thread', 'succeeded', NULL, NULL, NULL, 0, 0);
"""


async def unowned_thread_is_claimed_by_its_next_turn(store: PlatformStore) -> None:
    record = await store.thread_record("old-thread")
    assert record is not None
    assert record.owner is None
    assert ALICE.may_use(None), "an unowned thread is open until someone runs a turn on it"
    await run_turn(store, "old-thread", ALICE)
    record = await store.thread_record("old-thread")
    assert record is not None
    assert record.owner == "alice"
    with pytest.raises(ThreadHidden):
        await run_turn(store, "old-thread", BOB)


async def test_sqlite_from_before_owners_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SQLITE_SCHEMA)
    store = await SqliteStore.open(path)
    try:
        await store.setup()
        await store.setup()  # a second worker starting on the migrated file changes nothing
        await unowned_thread_is_claimed_by_its_next_turn(store)
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:  # webhook runs of before are left as they were
        assert conn.execute("SELECT run_id FROM platform_runs").fetchall() == [("old-run",)]


@pytest.mark.postgres
async def test_postgres_from_before_owners_is_migrated(postgres_url: str) -> None:
    schema = f"old_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(
            "CREATE TABLE platform_threads (thread_id TEXT PRIMARY KEY, agent TEXT NOT NULL, "
            "updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.execute(
            "CREATE TABLE platform_runs (run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, thread_id TEXT, "
            "status TEXT NOT NULL, result_json TEXT, error TEXT, callback TEXT, "
            "created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO platform_threads (thread_id, agent) VALUES ('old-thread', 'plain')")
        conn.execute(
            "INSERT INTO platform_runs (run_id, agent, status) VALUES ('old-run', 'plain', 'succeeded')"
        )
    separator = "&" if "?" in postgres_url else "?"
    backend = StateBackend(f"{postgres_url}{separator}options=-csearch_path%3D{schema}")
    await backend.start()
    try:
        assert backend.ok, backend.last_error
        _, store = await backend.require()
        await unowned_thread_is_claimed_by_its_next_turn(store)
        with psycopg.connect(postgres_url, autocommit=True) as conn:  # webhook runs of before are left
            assert conn.execute(f"SELECT run_id FROM {schema}.platform_runs").fetchall() == [("old-run",)]
    finally:
        await backend.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
