"""``PlatformStore`` on the SQLite file that also holds the checkpoints.

Several worker processes (and containers sharing the volume) open the same file: the run lease is
taken inside ``BEGIN IMMEDIATE`` so exactly one of them wins, and WAL mode plus a busy timeout let
readers and the checkpointer's writers proceed meanwhile. Starting a run (lease, thread owner check,
thread row) is one transaction, so one commit, and one trip to the store's thread; ending it is one
statement. Columns added after the first release are added to an existing file by ``setup``
(``_MIGRATIONS``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from langchain_platform.principals import Principal
from langchain_platform.state.store import LeaseRefused, ThreadRecord

BUSY_TIMEOUT_MS = 5000
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS platform_run_locks (
    thread_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS platform_threads (
    thread_id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    updated_at REAL NOT NULL,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS platform_threads_updated_at ON platform_threads (updated_at);
CREATE TABLE IF NOT EXISTS platform_run_callbacks (
    run_id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS platform_run_callbacks_recorded_at ON platform_run_callbacks (recorded_at);
CREATE TABLE IF NOT EXISTS platform_webhook_ids (
    webhook_id TEXT PRIMARY KEY,
    keep_until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS platform_webhook_ids_keep_until ON platform_webhook_ids (keep_until);
"""
# (table, column, type) added since the first release; NULL in rows written before.
_MIGRATIONS = (("platform_threads", "owner", "TEXT"),)


async def open_sqlite(path: Path, *, autocommit: bool = False) -> aiosqlite.Connection:
    """Open (creating the parent directory) a WAL-mode connection that waits on locks, not fails.

    ``autocommit`` commits each statement alone unless inside an explicit BEGIN.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    isolation = None if autocommit else "DEFERRED"
    conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=isolation)
    await conn.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs only at checkpoints, not at every commit. It cannot corrupt the
    # database; a power loss (not a process crash) may only lose the last commits before it.
    # FULL would cost an fdatasync per commit, several per agent run.
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _connect(path: Path) -> sqlite3.Connection:
    """A plain autocommit connection with ``open_sqlite``'s settings, for the store's own thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as in open_sqlite
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        value = work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return value


class SqliteStore:
    """Every call is one trip to the store's own thread, a whole transaction included.

    aiosqlite would make each statement a trip (a queue put, a thread wake-up and a loop callback),
    six for a run start; here a run start and a run end are one each. One thread, so calls never
    interleave on the connection, and a cancelled request cannot leave a transaction open: the
    thread finishes what it started.
    """

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        """Use ``open``: ``conn`` belongs to ``thread``, the executor's one worker."""
        self._conn = conn
        self._thread = thread

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="platform-store")
        try:
            conn = await asyncio.get_running_loop().run_in_executor(thread, _connect, path)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(conn, thread)

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, self._conn)

    async def _transaction(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._run(lambda conn: _in_transaction(conn, work))

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._run(lambda conn: conn.execute(sql, params).rowcount)

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    async def setup(self) -> None:
        def migrate(conn: sqlite3.Connection) -> None:
            for table, column, kind in _MIGRATIONS:
                columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
                if column not in columns:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

        await self._run(lambda conn: conn.executescript(_SCHEMA))
        # One transaction: workers starting together on one file add each column once.
        await self._transaction(migrate)

    async def ping(self) -> None:
        await self._fetchall("SELECT 1")

    async def close(self) -> None:
        try:
            await self._run(lambda conn: conn.close())
        finally:
            self._thread.shutdown(wait=False)

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
        def take(conn: sqlite3.Connection) -> LeaseRefused | None:
            now = time.time()
            thread: tuple[str, str | None] | None = None
            if agent is not None:
                thread = conn.execute(
                    "SELECT agent, owner FROM platform_threads WHERE thread_id = ?", (thread_id,)
                ).fetchone()
                if thread is not None and principal is not None and not principal.may_use(thread[1]):
                    return LeaseRefused(hidden=True)
            row = conn.execute(
                "SELECT run_id FROM platform_run_locks WHERE thread_id = ? AND expires_at > ?",
                (thread_id, now),
            ).fetchone()
            if row is not None:
                return LeaseRefused(holder=str(row[0]))
            if agent is not None:
                if thread is not None and thread[0] != agent:
                    return LeaseRefused(agent=str(thread[0]))
                conn.execute(
                    "INSERT INTO platform_threads (thread_id, agent, updated_at, owner) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (thread_id) DO UPDATE SET updated_at = excluded.updated_at, "
                    "owner = coalesce(platform_threads.owner, excluded.owner)",
                    (thread_id, agent, now, principal.owner if principal else None),
                )
            conn.execute(
                "INSERT OR REPLACE INTO platform_run_locks (thread_id, run_id, owner, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (thread_id, run_id, owner, now + lease_seconds),
            )
            return None

        return await self._transaction(take)

    async def renew_run_lock(self, thread_id: str, run_id: str, lease_seconds: float) -> bool:
        renewed = await self._execute(
            "UPDATE platform_run_locks SET expires_at = ? WHERE thread_id = ? AND run_id = ?",
            (time.time() + lease_seconds, thread_id, run_id),
        )
        return renewed > 0

    async def release_run_lock(self, thread_id: str, run_id: str) -> None:
        await self._execute(
            "DELETE FROM platform_run_locks WHERE thread_id = ? AND run_id = ?", (thread_id, run_id)
        )

    async def release_leases_of_other_boots(self, host: str, boot_id: str) -> int:
        # Prefix comparisons, not LIKE: a hostname may contain LIKE's wildcard "_".
        host_prefix, boot_prefix = f"{host}:", f"{host}:{boot_id}:"
        return await self._execute(
            "DELETE FROM platform_run_locks WHERE substr(owner, 1, ?) = ? AND substr(owner, 1, ?) != ?",
            (len(host_prefix), host_prefix, len(boot_prefix), boot_prefix),
        )

    async def clear_expired_run_locks(self) -> int:
        return await self._execute("DELETE FROM platform_run_locks WHERE expires_at <= ?", (time.time(),))

    async def thread_record(self, thread_id: str) -> ThreadRecord | None:
        rows = await self._fetchall(
            "SELECT agent, owner FROM platform_threads WHERE thread_id = ?", (thread_id,)
        )
        return ThreadRecord(agent=str(rows[0][0]), owner=rows[0][1]) if rows else None

    async def threads_older_than(self, seconds: float) -> list[str]:
        rows = await self._fetchall(
            "SELECT thread_id FROM platform_threads WHERE updated_at < ?", (time.time() - seconds,)
        )
        return [str(row[0]) for row in rows]

    async def forget_threads(self, thread_ids: Sequence[str]) -> int:
        def forget(conn: sqlite3.Connection) -> int:
            count = 0
            for thread_id in thread_ids:
                conn.execute("DELETE FROM platform_run_locks WHERE thread_id = ?", (thread_id,))
                cursor = conn.execute("DELETE FROM platform_threads WHERE thread_id = ?", (thread_id,))
                count += cursor.rowcount
            return count

        return await self._transaction(forget)

    async def record_callback(self, run_id: str, outcome: str, keep_seconds: float) -> None:
        def record(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute("DELETE FROM platform_run_callbacks WHERE recorded_at < ?", (now - keep_seconds,))
            conn.execute(
                "INSERT OR REPLACE INTO platform_run_callbacks (run_id, outcome, recorded_at) "
                "VALUES (?, ?, ?)",
                (run_id, outcome, now),
            )

        await self._transaction(record)

    async def callback_outcome(self, run_id: str) -> str | None:
        rows = await self._fetchall("SELECT outcome FROM platform_run_callbacks WHERE run_id = ?", (run_id,))
        return str(rows[0][0]) if rows else None

    async def claim_webhook_id(self, webhook_id: str, keep_until: float) -> bool:
        def claim(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM platform_webhook_ids WHERE keep_until < ?", (time.time(),))
            cursor = conn.execute(
                "INSERT INTO platform_webhook_ids (webhook_id, keep_until) VALUES (?, ?) "
                "ON CONFLICT (webhook_id) DO NOTHING",
                (webhook_id, keep_until),
            )
            return cursor.rowcount == 1

        return await self._transaction(claim)

    async def release_webhook_id(self, webhook_id: str) -> None:
        await self._execute("DELETE FROM platform_webhook_ids WHERE webhook_id = ?", (webhook_id,))
