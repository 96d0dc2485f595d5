"""The Agent Server's tables on the PostgreSQL pool of the checkpoints, behind ``sql.Sql``; imported
only for a ``postgresql://`` state store, like the driver itself.

Waking other processes: ``announce`` sends ``NOTIFY agent_server_runs`` through the pool; ``watch``
keeps one connection of its own (outside the pool, which would hand it to others) that ``LISTEN``s
and wakes the claim loop on each notification. It pings the connection when nothing came for
``CHECK_SECONDS``, so a connection that died without a word is noticed, and reconnects; after each
(re)connection it runs the probe, since notifications sent while nobody listened are gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import structlog

from langchain_platform.agent_server.sql import Dialect, psycopg_params
from langchain_platform.state.store_postgres import Pool

_log = structlog.get_logger("langchain_platform.agent_server")

CHANNEL = "agent_server_runs"
CHECK_SECONDS = 5.0
RECONNECT_SECONDS = 1.0

POSTGRESQL = Dialect(
    claim_lock="FOR UPDATE SKIP LOCKED",
    seconds="CAST(extract(epoch FROM {column}) AS DOUBLE PRECISION)",
    lease_now="now()",
    metadata_matches=(
        "NOT EXISTS (SELECT 1 FROM jsonb_each(CAST(:metadata AS jsonb)) AS w "
        "WHERE (CAST({column} AS jsonb) -> w.key) IS DISTINCT FROM w.value)"
    ),
)


class PostgresSql:
    dialect = POSTGRESQL

    def __init__(self, pool: Pool, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn  # of the pool, for the listening connection

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

    async def announce(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(f"NOTIFY {CHANNEL}")

    async def watch(self, wake: Callable[[], None], probe: str) -> None:
        while True:
            try:
                await self._listen(wake, probe)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                _log.warning("run notifications lost; listening again", error=repr(exc))
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self, wake: Callable[[], None], probe: str) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self._dsn, autocommit=True, connect_timeout=int(CHECK_SECONDS)
        )
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            if await (await conn.execute(probe)).fetchall():
                wake()
            while True:
                async for _ in conn.notifies(timeout=CHECK_SECONDS):
                    wake()
                await asyncio.wait_for(conn.execute("SELECT 1"), CHECK_SECONDS)

    async def close(self) -> None:
        return None  # the pool belongs to the state backend
