"""The Agent Server's tables on SQLite behind ``sql.Sql``: the checkpoints' file, or ``:memory:`` for
the ``memory`` backend (one process). PostgreSQL's is ``run_store_postgres``.

Waking other processes: SQLite has no notifications, and the processes share one host and one file.
Each process reads ``PRAGMA data_version`` (it changes whenever another connection committed to the
file) every ``WATCH_SECONDS`` on a connection of its own, and only when it changed runs the caller's
probe (is any run pending?). The pragma is a read of the WAL index, about 7 µs on the lab machine;
the loop's timer wake-ups cost more: 2 to 3 % of a core per process on the (busy, 2-core) lab
machine. In exchange, a run created by another process is seen within ``WATCH_SECONDS`` (pick-up
p50 across processes 5 ms, against 225 ms with the 0.5 s poll alone). A wake file watched by mtime
would cost the same timer, and coarse file times can hide a second change within one tick; a FIFO
wakes one reader, not all.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from langchain_platform.agent_server.sql import Dialect
from langchain_platform.state.store_sqlite import open_sqlite

_T = TypeVar("_T")

WATCH_SECONDS = 0.01

SQLITE = Dialect(
    claim_lock="",
    seconds="{column}",
    lease_now=":now",
    # Numbers compare by value (1 = 1.0), everything else by JSON type and value; nested objects and
    # arrays by their text (both sides are written with sorted keys).
    metadata_matches=(
        "NOT EXISTS (SELECT 1 FROM json_each(:metadata) AS w WHERE NOT EXISTS ("
        "SELECT 1 FROM json_each({column}) AS m WHERE m.key = w.key AND m.value IS w.value AND "
        "(m.type = w.type OR (m.type IN ('integer', 'real') AND w.type IN ('integer', 'real')))))"
    ),
)


class SqliteSql:
    """Its own autocommit connection, serialized by a lock; each statement is a transaction, so
    the claim's ``UPDATE`` takes the file's write lock for its sub-select and change together."""

    dialect = SQLITE

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> aiosqlite.Connection:
        if self._path is None:
            conn = await aiosqlite.connect(":memory:", isolation_level=None)
        else:
            conn = await open_sqlite(self._path, autocommit=True)
        conn.row_factory = aiosqlite.Row
        return conn

    async def _serial(self, work: Callable[[aiosqlite.Connection], Awaitable[_T]]) -> _T:
        # Shielded: a cancelled caller must not leave the shared connection mid-statement.
        async def locked() -> _T:
            async with self._lock:
                if self._conn is None:
                    self._conn = await self._open()
                return await work(self._conn)

        return await asyncio.shield(locked())

    async def setup(self, statements: Sequence[str]) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            for statement in statements:
                await conn.execute(statement)

        await self._serial(run)

    async def fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async def run(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
            cursor = await conn.execute(sql, params)
            return [dict(row) for row in await cursor.fetchall()]

        return await self._serial(run)

    async def execute(self, sql: str, params: dict[str, Any]) -> int:
        async def run(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

        return await self._serial(run)

    async def announce(self) -> None:
        return None  # every process's watch sees the commit itself

    async def watch(self, wake: Callable[[], None], probe: str) -> None:
        if self._path is None:
            return  # ``:memory:`` belongs to one process, which wakes itself
        # Read in the event loop: microseconds, and a timeout of 0 never waits for a lock (a busy
        # moment is simply looked at again next time).
        conn = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        try:
            seen = None
            while True:
                try:
                    version = conn.execute("PRAGMA data_version").fetchall()[0][0]
                    if version != seen:
                        if conn.execute(probe).fetchall():
                            wake()
                        seen = version
                except sqlite3.Error:
                    pass
                await asyncio.sleep(WATCH_SECONDS)
        finally:
            conn.close()

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
