"""``ThreadStore`` on PostgreSQL, in the database (and the psycopg pool) of the checkpoints.

The same table and joins as the SQLite store; times are Unix seconds like there, the thread index's
and the leases' ``TIMESTAMPTZ`` columns read through ``extract(epoch ...)``, and a lease counts as
held by the database clock (``now()``), as the platform store takes it. Imported only for a
``postgresql://`` state store, like the driver itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import DictRow

from langchain_platform.agent_server.thread_store import (
    RUN_LEASE,
    ThreadRow,
    metadata_from_json,
    metadata_to_json,
)
from langchain_platform.state.store_postgres import Pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_server_threads (
    thread_id TEXT PRIMARY KEY,
    owner TEXT,
    metadata_json TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    ttl_seconds DOUBLE PRECISION
)
"""
_SELECT = f"""
SELECT a.thread_id, coalesce(a.owner, i.owner) AS owner, a.metadata_json, a.outcome, a.created_at,
       greatest(a.updated_at, coalesce(extract(epoch FROM i.updated_at)::float8, 0)) AS updated_at,
       i.agent, l.thread_id IS NOT NULL AS busy, a.ttl_seconds
FROM agent_server_threads a
LEFT JOIN platform_threads i ON i.thread_id = a.thread_id
LEFT JOIN platform_run_locks l ON l.thread_id = a.thread_id AND l.expires_at > now() AND {RUN_LEASE}
UNION ALL
SELECT i.thread_id, i.owner, NULL, 'idle', extract(epoch FROM i.updated_at)::float8,
       extract(epoch FROM i.updated_at)::float8, i.agent, l.thread_id IS NOT NULL, NULL::float8
FROM platform_threads i
LEFT JOIN platform_run_locks l ON l.thread_id = i.thread_id AND l.expires_at > now() AND {RUN_LEASE}
WHERE NOT EXISTS (SELECT 1 FROM agent_server_threads a WHERE a.thread_id = i.thread_id)
"""  # noqa: S608  # a constant of thread_store, no input


def _row(values: DictRow) -> ThreadRow:
    return ThreadRow(
        thread_id=str(values["thread_id"]),
        owner=values["owner"],
        metadata=metadata_from_json(values["metadata_json"]),
        outcome=str(values["outcome"]),
        created_at=float(values["created_at"]),
        updated_at=float(values["updated_at"]),
        agent=values["agent"],
        busy=bool(values["busy"]),
        ttl_seconds=values["ttl_seconds"],
    )


class PostgresThreadStore:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def setup(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_SCHEMA)

    async def close(self) -> None:
        return None  # the pool belongs to the state backend

    async def _select(self, where: str, params: Sequence[Any]) -> list[ThreadRow]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT * FROM ({_SELECT}) t {where} ORDER BY updated_at DESC",  # noqa: S608
                params,
            )
            return [_row(values) for values in await cursor.fetchall()]

    async def insert(self, row: ThreadRow) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO agent_server_threads "
                "(thread_id, owner, metadata_json, outcome, created_at, updated_at, ttl_seconds) "
                "SELECT %s, %s, %s, %s, %s, %s, %s "
                "WHERE NOT EXISTS (SELECT 1 FROM platform_threads WHERE thread_id = %s) "
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

    async def get(self, thread_id: str) -> ThreadRow | None:
        rows = await self._select("WHERE thread_id = %s", (thread_id,))
        return rows[0] if rows else None

    async def rows(self, owner: str | None, ids: Sequence[str] | None = None) -> list[ThreadRow]:
        clauses: list[str] = []
        params: list[Any] = []
        if owner is not None:
            clauses.append("(owner IS NULL OR owner = %s)")
            params.append(owner)
        if ids is not None:
            clauses.append("thread_id = ANY(%s)")
            params.append(list(ids))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._select(where, params)

    async def save(self, row: ThreadRow) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO agent_server_threads "
                "(thread_id, owner, metadata_json, outcome, created_at, updated_at, ttl_seconds) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (thread_id) DO UPDATE SET "
                "owner = EXCLUDED.owner, metadata_json = EXCLUDED.metadata_json, "
                "outcome = EXCLUDED.outcome, updated_at = EXCLUDED.updated_at, "
                "ttl_seconds = EXCLUDED.ttl_seconds",
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

    async def delete(self, thread_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM agent_server_threads WHERE thread_id = %s", (thread_id,))
