"""The run table on the PostgreSQL pool of the checkpoints, behind ``run_store.Sql``; imported only
for a ``postgresql://`` state store, like the driver itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_platform.agent_server.run_store import psycopg_params
from langchain_platform.state.store_postgres import Pool


class PostgresSql:
    claim_lock = "FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def setup(self, statements: Sequence[str]) -> None:
        async with self._pool.connection() as conn:
            for statement in statements:
                await conn.execute(statement)

    async def fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(psycopg_params(sql), params)
            return [dict(row) for row in await cursor.fetchall()]

    async def execute(self, sql: str, params: dict[str, Any]) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(psycopg_params(sql), params)
            return cursor.rowcount

    async def close(self) -> None:
        return None  # the pool belongs to the state backend
