"""The per-thread run guard against real databases: two SQLite connections (and two processes) on
one file, and PostgreSQL when its binaries are installed."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_platform.state.backend import StateBackend
from langchain_platform.state.errors import ThreadBusy
from langchain_platform.state.run_guard import (
    BOOT_ID_ENV,
    RunGuard,
    owner_id,
    release_leases_of_previous_boots,
)
from langchain_platform.state.store import LeaseRefused, PlatformStore
from langchain_platform.state.store_memory import MemoryStore
from langchain_platform.state.store_sqlite import SqliteStore


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
    guard_a, guard_b = RunGuard(first), RunGuard(second)

    lease_a = await guard_a.acquire("thread-1", "run-a")
    with pytest.raises(ThreadBusy) as busy:
        await guard_b.acquire("thread-1", "run-b")
    assert busy.value.detail == "thread thread-1 is busy with run run-a"

    lease_c = await guard_b.acquire("thread-2", "run-c")  # other threads are independent

    await second.release_run_lock("thread-1", "run-b")  # not the holder: nothing happens
    with pytest.raises(ThreadBusy):
        await guard_b.acquire("thread-1", "run-b")

    await lease_a.release()
    lease_b = await guard_b.acquire("thread-1", "run-b")
    await lease_b.release()
    await lease_c.release()


async def test_expired_lease_is_taken_over_and_cleared(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    first, second = two_sqlite_stores

    assert await first.acquire_run_lock("t", "crashed-run", "host:1", lease_seconds=0.05) is None
    busy = await second.acquire_run_lock("t", "new-run", "host:2", lease_seconds=60)
    assert busy == LeaseRefused(holder="crashed-run")
    await asyncio.sleep(0.1)
    assert await second.acquire_run_lock("t", "new-run", "host:2", lease_seconds=60) is None
    # The crashed holder's late release and renewal must not touch the new holder's lease.
    await first.release_run_lock("t", "crashed-run")
    assert await first.renew_run_lock("t", "crashed-run", lease_seconds=60) is False
    assert await first.acquire_run_lock("t", "third", "host:1", lease_seconds=60) == LeaseRefused(
        holder="new-run"
    )

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
    assert set(holders) - {None} == {LeaseRefused(holder=f"run-{winners[0]}")}


def _race_in_process(
    path: str, run_id: str, start: multiprocessing.synchronize.Event, results: object
) -> None:
    async def attempt() -> str | None:
        store = await SqliteStore.open(Path(path))
        try:
            start.wait()
            refused = await store.acquire_run_lock("shared", run_id, run_id, lease_seconds=60)
            return None if refused is None else refused.holder
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
    await agent_ownership_and_heartbeat(store)


@pytest.mark.postgres
async def test_postgres_lease_is_shared_between_two_backends(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = StateBackend(postgres_url), StateBackend(postgres_url)
    await first.start()
    await second.start()
    try:
        assert first.ok, first.last_error
        assert second.ok, second.last_error
        _, store_a = await first.require()
        _, store_b = await second.require()
        guard_a, guard_b = RunGuard(store_a), RunGuard(store_b)

        lease = await guard_a.acquire("pg-thread", "run-a")
        with pytest.raises(ThreadBusy, match="thread pg-thread is busy with run run-a"):
            await guard_b.acquire("pg-thread", "run-b")
        await lease.release()
        lease = await guard_b.acquire("pg-thread", "run-b")
        await lease.release()

        assert await store_a.acquire_run_lock("pg-expiring", "old", "h", lease_seconds=0.05) is None
        await asyncio.sleep(0.2)
        assert await store_b.acquire_run_lock("pg-expiring", "new", "h", lease_seconds=60) is None
        await store_b.release_run_lock("pg-expiring", "new")

        await agent_ownership_and_heartbeat(store_a, thread="pg-owned")
        await previous_boot_leases_are_released(store_a, monkeypatch)
    finally:
        await first.close()
        await second.close()


async def agent_ownership_and_heartbeat(store: PlatformStore, thread: str = "owned") -> None:
    """The checks every store must pass: thread ownership with the lease, renewal while running."""
    guard = RunGuard(store, lease_seconds=0.3, heartbeat_seconds=0.1)
    lease = await guard.acquire(thread, "r1", agent="alpha")
    with pytest.raises(ThreadBusy, match=f"thread {thread} is busy with run r1"):
        await guard.acquire(thread, "r2", agent="alpha")
    # Renewed by the heartbeat: still held well after the 0.3 s lease would have run out.
    await asyncio.sleep(0.8)
    with pytest.raises(ThreadBusy, match="busy with run r1"):
        await guard.acquire(thread, "r2", agent="alpha")
    await lease.release()

    # The lease recorded the thread as alpha's: another agent is refused and takes no lease.
    with pytest.raises(ThreadBusy, match=f"{thread} belongs to agent alpha: use a new thread_id for beta"):
        await guard.acquire(thread, "r3", agent="beta")
    lease = await guard.acquire(thread, "r4", agent="alpha")
    await lease.release()

    # A holder that stops renewing (it died) frees the thread once its lease runs out.
    assert await store.acquire_run_lock(thread, "dead", "elsewhere:boot:1", lease_seconds=0.2) is None
    await asyncio.sleep(0.3)
    lease = await guard.acquire(thread, "r5", agent="alpha")
    await lease.release()


async def test_sqlite_store_ownership_and_heartbeat(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    await agent_ownership_and_heartbeat(two_sqlite_stores[0])


async def previous_boot_leases_are_released(store: PlatformStore, monkeypatch: pytest.MonkeyPatch) -> None:
    host = socket.gethostname()
    monkeypatch.setenv(BOOT_ID_ENV, "current")
    owners = {
        "old-boot": f"{host}:previous:111",
        "this-boot": f"{host}:current:222",
        "other-host": f"other-{host}:previous:333",
        "wildcard-host": f"{host[:-1]}_:previous:444",  # LIKE's "_" must not match any character
    }
    for thread, owner in owners.items():
        assert await store.acquire_run_lock(thread, f"run-{thread}", owner, lease_seconds=60) is None

    assert await release_leases_of_previous_boots(store) == 1

    assert await store.acquire_run_lock("old-boot", "new", owner_id(), lease_seconds=60) is None
    for thread in ("this-boot", "other-host", "wildcard-host"):
        held = await store.acquire_run_lock(thread, "new", owner_id(), lease_seconds=60)
        assert held == LeaseRefused(holder=f"run-{thread}")
    await store.forget_threads(list(owners))


async def test_sqlite_releases_leases_of_previous_boots_of_this_host(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    await previous_boot_leases_are_released(two_sqlite_stores[0], monkeypatch)


async def test_without_a_shared_boot_id_no_lease_is_released(
    two_sqlite_stores: tuple[SqliteStore, SqliteStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside `serve`, other processes of this host may be alive under boot ids of their own."""
    monkeypatch.delenv(BOOT_ID_ENV, raising=False)
    store = two_sqlite_stores[0]
    assert await store.acquire_run_lock("t", "r", f"{socket.gethostname()}:x:1", lease_seconds=60) is None
    assert await release_leases_of_previous_boots(store) == 0
    assert await store.acquire_run_lock("t", "r2", owner_id(), lease_seconds=60) == LeaseRefused(holder="r")


def test_owner_is_host_boot_and_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BOOT_ID_ENV, "b00t")
    assert owner_id() == f"{socket.gethostname()}:b00t:{os.getpid()}"
