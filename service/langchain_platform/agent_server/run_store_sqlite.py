"""The run table on SQLite behind ``run_store.Sql``: the checkpoints' file, or ``:memory:`` for the
``memory`` backend (one process). PostgreSQL's is ``run_store_postgres``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from langchain_platform.state.store_sqlite import open_sqlite

_T = TypeVar("_T")


class SqliteSql:
    """Its own autocommit connection, serialized by a lock; each statement is a transaction, so
    the claim's ``UPDATE`` takes the file's write lock for its sub-select and change together."""

    claim_lock = ""

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

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
