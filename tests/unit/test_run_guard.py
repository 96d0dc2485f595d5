"""The per-thread run guard against real databases: two SQLite connections (and two processes) on
one file, and PostgreSQL when its binaries are installed."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_platform.agents.run_guard import RunGuard
from langchain_platform.agents.state import StateBackend
from langchain_platform.agents.store import MemoryStore, PlatformStore
from langchain_platform.agents.store_sqlite import SqliteStore
from langchain_platform.errors import Conflict


@pytest.fixture
async def two_sqlite_stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    """Two independent connections to one state file, as two worker processes would hold."""
    path = tmp_path / "state.sqlite"
    first, second = await SqliteStore.open(path), await SqliteStore.open(path)
    await first.setup()
    await second.setup()
    yield first, second
    await first.close()
    await second.close()


async def test_second_connection_sees_the_lease_and_gets_it_after_release(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    first, second = two_sqlite_stores
    guard_a, guard_b = RunGuard(first, run_timeout_seconds=60), RunGuard(second, run_timeout_seconds=60)

    await guard_a.acquire("thread-1", "run-a")
    with pytest.raises(Conflict) as busy:
        await guard_b.acquire("thread-1", "run-b")
    assert busy.value.detail == "thread thread-1 is busy with run run-a"

    await guard_b.acquire("thread-2", "run-c")  # other threads are independent

    await guard_b.release("thread-1", "run-b")  # not the holder: nothing happens
    with pytest.raises(Conflict):
        await guard_b.acquire("thread-1", "run-b")

    await guard_a.release("thread-1", "run-a")
    await guard_b.acquire("thread-1", "run-b")


async def test_expired_lease_is_taken_over_and_cleared(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    first, second = two_sqlite_stores

    assert await first.acquire_run_lock("t", "crashed-run", "host:1", lease_seconds=0.05) is None
    assert await second.acquire_run_lock("t", "new-run", "host:2", lease_seconds=60) == "crashed-run"
    await asyncio.sleep(0.1)
    assert await second.acquire_run_lock("t", "new-run", "host:2", lease_seconds=60) is None
    # The crashed holder's late release must not free the new holder's lease.
    await first.release_run_lock("t", "crashed-run")
    assert await first.acquire_run_lock("t", "third", "host:1", lease_seconds=60) == "new-run"

    assert await first.acquire_run_lock("u", "short", "host:1", lease_seconds=0.01) is None
    await asyncio.sleep(0.05)
    assert await second.clear_expired_run_locks() == 1


async def test_concurrent_acquires_on_two_connections_have_one_winner(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    first, second = two_sqlite_stores
    attempts = [
        (first if i % 2 else second).acquire_run_lock("hot", f"run-{i}", "host", lease_seconds=60)
        for i in range(20)
    ]

    holders = await asyncio.gather(*attempts)

    winners = [i for i, holder in enumerate(holders) if holder is None]
    assert len(winners) == 1
    assert set(holders) - {None} == {f"run-{winners[0]}"}


def _race_in_process(
    path: str, run_id: str, start: multiprocessing.synchronize.Event, results: object
) -> None:
    async def attempt() -> str | None:
        store = await SqliteStore.open(Path(path))
        try:
            start.wait()
            return await store.acquire_run_lock("shared", run_id, run_id, lease_seconds=60)
        finally:
            await store.close()

    results.put((run_id, asyncio.run(attempt())))  # type: ignore[attr-defined]


async def test_two_processes_race_for_one_thread_and_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    setup = await SqliteStore.open(path)
    await setup.setup()
    await setup.close()
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=_race_in_process, args=(str(path), f"proc-{i}", start, results))
        for i in range(2)
    ]
    for process in processes:
        process.start()
    start.set()
    outcomes = dict(await asyncio.to_thread(lambda: [results.get(timeout=60) for _ in processes]))
    for process in processes:
        process.join(timeout=30)

    winners = [run for run, holder in outcomes.items() if holder is None]
    assert len(winners) == 1
    loser = next(run for run in outcomes if run not in winners)
    assert outcomes[loser] == winners[0]


async def test_memory_store_has_the_same_semantics() -> None:
    store: PlatformStore = MemoryStore()
    guard = RunGuard(store, run_timeout_seconds=60)

    await guard.acquire("t", "r1")
    with pytest.raises(Conflict, match="thread t is busy with run r1"):
        await guard.acquire("t", "r2")
    await guard.release("t", "r1")
    await guard.acquire("t", "r2")


@pytest.mark.postgres
async def test_postgres_lease_is_shared_between_two_backends(postgres_url: str) -> None:
    first, second = StateBackend(postgres_url), StateBackend(postgres_url)
    await first.start()
    await second.start()
    try:
        assert first.ok, first.last_error
        assert second.ok, second.last_error
        _, store_a = await first.require()
        _, store_b = await second.require()
        guard_a, guard_b = (
            RunGuard(store_a, run_timeout_seconds=60),
            RunGuard(store_b, run_timeout_seconds=60),
        )

        await guard_a.acquire("pg-thread", "run-a")
        with pytest.raises(Conflict, match="thread pg-thread is busy with run run-a"):
            await guard_b.acquire("pg-thread", "run-b")
        await guard_a.release("pg-thread", "run-a")
        await guard_b.acquire("pg-thread", "run-b")
        await guard_b.release("pg-thread", "run-b")

        assert await store_a.acquire_run_lock("pg-expiring", "old", "h", lease_seconds=0.05) is None
        await asyncio.sleep(0.2)
        assert await store_b.acquire_run_lock("pg-expiring", "new", "h", lease_seconds=60) is None
        await store_b.release_run_lock("pg-expiring", "new")
    finally:
        await first.close()
        await second.close()
