"""``PlatformStore`` on PostgreSQL, sharing the checkpointer's psycopg pool.

Times come from the database clock (``now()``) so replicas with drifting clocks agree on when a
lease expires; the lease itself is one atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``, taken
in the same transaction as the thread owner check and the thread row. Columns added after the first
release come with ``ADD COLUMN IF NOT EXISTS``, so ``setup`` migrates an existing database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, Rollback
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from langchain_platform.principals import Principal
from langchain_platform.state.store import LeaseRefused, ThreadRecord

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS platform_run_locks (
    thread_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS platform_threads (
    thread_id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
    "CREATE INDEX IF NOT EXISTS platform_threads_updated_at ON platform_threads (updated_at)",
    # Added after the first release: NULL in rows written before.
    "ALTER TABLE platform_threads ADD COLUMN IF NOT EXISTS owner TEXT",
    """CREATE TABLE IF NOT EXISTS platform_run_callbacks (
    run_id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
    "CREATE INDEX IF NOT EXISTS platform_run_callbacks_recorded_at ON platform_run_callbacks (recorded_at)",
    """CREATE TABLE IF NOT EXISTS platform_webhook_ids (
    webhook_id TEXT PRIMARY KEY,
    keep_until TIMESTAMPTZ NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS platform_webhook_ids_keep_until ON platform_webhook_ids (keep_until)",
)

_TAKE_LEASE = """
INSERT INTO platform_run_locks (thread_id, run_id, owner, expires_at)
VALUES (%(thread_id)s, %(run_id)s, %(owner)s, now() + make_interval(secs => %(lease)s))
ON CONFLICT (thread_id) DO UPDATE
    SET run_id = EXCLUDED.run_id, owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE platform_run_locks.expires_at < now()
RETURNING run_id
"""


class PostgresStore:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def _execute(self, sql: str, params: dict[str, Any] | Sequence[Any] | None = None) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def _fetchall(
        self, sql: str, params: dict[str, Any] | Sequence[Any] | None = None
    ) -> list[DictRow]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def setup(self) -> None:
        # The runtime runs this under the same advisory lock as the checkpointer's migrations.
        async with self._pool.connection() as conn:
            for statement in SCHEMA:
                await conn.execute(statement)

    async def ping(self) -> None:
        await self._fetchall("SELECT 1 AS ok")

    async def close(self) -> None:
        return None  # the pool belongs to the checkpointer side and is closed there

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
        params = {"thread_id": thread_id, "run_id": run_id, "owner": owner, "lease": lease_seconds}
        refused = LeaseRefused(agent="unknown")
        async with self._pool.connection() as conn, conn.transaction():
            if agent is not None and principal is not None:
                # Before the lease: whether the thread is busy must not show through to other owners.
                cursor = await conn.execute(
                    "SELECT owner FROM platform_threads WHERE thread_id = %s", (thread_id,)
                )
                row = await cursor.fetchone()
                if row is not None and not principal.may_use(row["owner"]):
                    return LeaseRefused(hidden=True)
            holder = await self._take_lease(conn, params)
            if holder is not None:
                return LeaseRefused(holder=holder)
            if agent is None:
                return None
            # The lease row stays locked until commit, so no other run can claim the thread meanwhile.
            # The owner is checked again here: the thread may have been created since the check above.
            cursor = await conn.execute(
                "INSERT INTO platform_threads (thread_id, agent, owner) VALUES (%s, %s, %s) "
                "ON CONFLICT (thread_id) DO UPDATE SET updated_at = now(), "
                "owner = coalesce(platform_threads.owner, EXCLUDED.owner) "
                "WHERE platform_threads.agent = EXCLUDED.agent AND (%s OR platform_threads.owner IS NULL "
                "OR platform_threads.owner = EXCLUDED.owner) RETURNING agent",
                (
                    thread_id,
                    agent,
                    principal.owner if principal else None,
                    principal is None or principal.sees_every_owner,
                ),
            )
            if await cursor.fetchone() is None:
                cursor = await conn.execute(
                    "SELECT agent, owner FROM platform_threads WHERE thread_id = %s", (thread_id,)
                )
                row = await cursor.fetchone()
                if row is not None and principal is not None and not principal.may_use(row["owner"]):
                    refused = LeaseRefused(hidden=True)
                elif row is not None:
                    refused = LeaseRefused(agent=str(row["agent"]))
                # Undoes the lease just taken; the transaction block swallows it and goes on below.
                raise Rollback()
            return None
        return refused

    async def _take_lease(self, conn: AsyncConnection[DictRow], params: dict[str, Any]) -> str | None:
        """None once the lease is ours, else the run id holding it."""
        # The holder may release between our failed upsert and the lookup: then try again.
        for _ in range(3):
            cursor = await conn.execute(_TAKE_LEASE, params)
            if await cursor.fetchone() is not None:
                return None
            cursor = await conn.execute(
                "SELECT run_id FROM platform_run_locks WHERE thread_id = %s AND expires_at >= now()",
                (params["thread_id"],),
            )
            row = await cursor.fetchone()
            if row is not None:
                return str(row["run_id"])
        return "unknown"

    async def renew_run_lock(self, thread_id: str, run_id: str, lease_seconds: float) -> bool:
        renewed = await self._execute(
            "UPDATE platform_run_locks SET expires_at = now() + make_interval(secs => %s) "
            "WHERE thread_id = %s AND run_id = %s",
            (lease_seconds, thread_id, run_id),
        )
        return renewed > 0

    async def release_run_lock(self, thread_id: str, run_id: str) -> None:
        await self._execute(
            "DELETE FROM platform_run_locks WHERE thread_id = %s AND run_id = %s", (thread_id, run_id)
        )

    async def release_leases_of_other_boots(self, host: str, boot_id: str) -> int:
        # Prefix comparisons, not LIKE: a hostname may contain LIKE's wildcard "_".
        return await self._execute(
            "DELETE FROM platform_run_locks WHERE starts_with(owner, %s) AND NOT starts_with(owner, %s)",
            (f"{host}:", f"{host}:{boot_id}:"),
        )

    async def clear_expired_run_locks(self) -> int:
        return await self._execute("DELETE FROM platform_run_locks WHERE expires_at < now()")

    async def thread_record(self, thread_id: str) -> ThreadRecord | None:
        rows = await self._fetchall(
            "SELECT agent, owner FROM platform_threads WHERE thread_id = %s", (thread_id,)
        )
        return ThreadRecord(agent=str(rows[0]["agent"]), owner=rows[0]["owner"]) if rows else None

    async def threads_older_than(self, seconds: float) -> list[str]:
        rows = await self._fetchall(
            "SELECT thread_id FROM platform_threads WHERE updated_at < now() - make_interval(secs => %s)",
            (seconds,),
        )
        return [str(row["thread_id"]) for row in rows]

    async def forget_threads(self, thread_ids: Sequence[str]) -> int:
        ids = list(thread_ids)
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM platform_run_locks WHERE thread_id = ANY(%s)", (ids,))
            cursor = await conn.execute("DELETE FROM platform_threads WHERE thread_id = ANY(%s)", (ids,))
            return cursor.rowcount

    async def record_callback(self, run_id: str, outcome: str, keep_seconds: float) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM platform_run_callbacks WHERE recorded_at < now() - make_interval(secs => %s)",
                (keep_seconds,),
            )
            await conn.execute(
                "INSERT INTO platform_run_callbacks (run_id, outcome) VALUES (%s, %s) ON CONFLICT (run_id) "
                "DO UPDATE SET outcome = EXCLUDED.outcome, recorded_at = EXCLUDED.recorded_at",
                (run_id, outcome),
            )

    async def callback_outcome(self, run_id: str) -> str | None:
        rows = await self._fetchall("SELECT outcome FROM platform_run_callbacks WHERE run_id = %s", (run_id,))
        return str(rows[0]["outcome"]) if rows else None

    async def claim_webhook_id(self, webhook_id: str, keep_until: float) -> bool:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM platform_webhook_ids WHERE keep_until < now()")
            cursor = await conn.execute(
                "INSERT INTO platform_webhook_ids (webhook_id, keep_until) VALUES (%s, to_timestamp(%s)) "
                "ON CONFLICT (webhook_id) DO NOTHING",
                (webhook_id, keep_until),
            )
            return cursor.rowcount == 1

    async def release_webhook_id(self, webhook_id: str) -> None:
        await self._execute("DELETE FROM platform_webhook_ids WHERE webhook_id = %s", (webhook_id,))
