"""``ThreadStore`` in the SQLite file of the checkpoints, next to the platform's thread index.

Its own connection (like the platform store's), serialized by a lock; reads join the thread index
(``platform_threads``: agent and owner of threads that ran) and the run leases (``platform_run_locks``:
busy threads), which the platform store creates before this store starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from langchain_platform.agent_server.thread_store import (
    RUN_LEASE,
    ThreadRow,
    metadata_from_json,
    metadata_to_json,
)
from langchain_platform.state.store_sqlite import open_sqlite

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_server_threads (
    thread_id TEXT PRIMARY KEY,
    owner TEXT,
    metadata_json TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    ttl_seconds REAL
);
"""
# Threads of this table, and threads of the index that this table does not hold (enterprise-only).
_SELECT = f"""
SELECT a.thread_id, coalesce(a.owner, i.owner), a.metadata_json, a.outcome, a.created_at,
       max(a.updated_at, coalesce(i.updated_at, 0)), i.agent, l.thread_id IS NOT NULL, a.ttl_seconds
FROM agent_server_threads a
LEFT JOIN platform_threads i ON i.thread_id = a.thread_id
LEFT JOIN platform_run_locks l ON l.thread_id = a.thread_id AND l.expires_at > :now AND {RUN_LEASE}
UNION ALL
SELECT i.thread_id, i.owner, NULL, 'idle', i.updated_at, i.updated_at, i.agent, l.thread_id IS NOT NULL,
       NULL
FROM platform_threads i
LEFT JOIN platform_run_locks l ON l.thread_id = i.thread_id AND l.expires_at > :now AND {RUN_LEASE}
WHERE NOT EXISTS (SELECT 1 FROM agent_server_threads a WHERE a.thread_id = i.thread_id)
"""  # noqa: S608  # a constant of thread_store, no input


def _row(values: Sequence[Any]) -> ThreadRow:
    return ThreadRow(
        thread_id=str(values[0]),
        owner=values[1],
        metadata=metadata_from_json(values[2]),
        outcome=str(values[3]),
        created_at=float(values[4]),
        updated_at=float(values[5]),
        agent=values[6],
        busy=bool(values[7]),
        ttl_seconds=values[8],
    )


class SqliteThreadStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def _serial(self, work: Callable[[aiosqlite.Connection], Awaitable[_T]]) -> _T:
        # Shielded: a cancelled request must not leave the shared connection mid-statement.
        async def locked() -> _T:
            async with self._lock:
                if self._conn is None:
                    self._conn = await open_sqlite(self._path, autocommit=True)
                return await work(self._conn)

        return await asyncio.shield(locked())

    async def setup(self) -> None:
        async def create(conn: aiosqlite.Connection) -> None:
            await conn.executescript(_SCHEMA)

        await self._serial(create)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def _select(self, where: str, params: dict[str, Any]) -> list[ThreadRow]:
        async def run(conn: aiosqlite.Connection) -> list[Any]:
            cursor = await conn.execute(
                f"SELECT * FROM ({_SELECT}) {where} ORDER BY 6 DESC",  # noqa: S608  # fixed clauses only
                {"now": time.time(), **params},
            )
            return list(await cursor.fetchall())

        return [_row(values) for values in await self._serial(run)]

    async def insert(self, row: ThreadRow) -> bool:
        async def run(conn: aiosqlite.Connection) -> bool:
            cursor = await conn.execute(
                "INSERT INTO agent_server_threads "
                "(thread_id, owner, metadata_json, outcome, created_at, updated_at, ttl_seconds) "
                "SELECT ?, ?, ?, ?, ?, ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM platform_threads WHERE thread_id = ?) "
                "ON CONFLICT (thread_id) DO NOTHING",
                (
                    row.thread_id,
                    row.owner,
                    metadata_to_json(row.metadata),
                    row.outcome,
                    row.created_at,
                    row.updated_at,
                    row.ttl_seconds,
                    row.thread_id,
                ),
            )
            return cursor.rowcount == 1

        return await self._serial(run)

    async def get(self, thread_id: str) -> ThreadRow | None:
        rows = await self._select("WHERE thread_id = :id", {"id": thread_id})
        return rows[0] if rows else None

    async def rows(self, owner: str | None, ids: Sequence[str] | None = None) -> list[ThreadRow]:
        rows = await self._select("", {})
        wanted = set(ids) if ids is not None else None
        return [
            row
            for row in rows
            if (owner is None or row.owner in (None, owner)) and (wanted is None or row.thread_id in wanted)
        ]

    async def save(self, row: ThreadRow) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT OR REPLACE INTO agent_server_threads "
                "(thread_id, owner, metadata_json, outcome, created_at, updated_at, ttl_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    row.thread_id,
                    row.owner,
                    metadata_to_json(row.metadata),
                    row.outcome,
                    row.created_at,
                    row.updated_at,
                    row.ttl_seconds,
                ),
            )

        await self._serial(run)

    async def delete(self, thread_id: str) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM agent_server_threads WHERE thread_id = ?", (thread_id,))

        await self._serial(run)
