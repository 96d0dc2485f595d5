"""``ThreadStore`` in the database of the checkpoints, SQLite or PostgreSQL, over ``sql.Sql``: one SQL
text for both, with the engine's ``Dialect`` for the three clauses they spell differently (Unix
seconds of the platform tables' time columns, the clock of their run leases, the metadata filter).

Reads join the thread index (``platform_threads``: agent and owner of threads that ran) and the run
leases (``platform_run_locks``: busy threads), which the platform store creates before this store
starts; threads that only the enterprise API ran come from the index alone. Searches filter, order
and page in SQL. The sweeper's query walks the expression index on ``updated_at + ttl_seconds``.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_platform.agent_server.sql import Dialect, Sql, in_list
from langchain_platform.agent_server.thread_store import (
    RUN_LEASE,
    SORT_FIELDS,
    ExpiryKey,
    ThreadFilter,
    ThreadOrder,
    ThreadRow,
    metadata_from_json,
    metadata_to_json,
)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS agent_server_threads (
    thread_id TEXT PRIMARY KEY,
    owner TEXT,
    metadata_json TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    ttl_seconds DOUBLE PRECISION
)""",
    # NULL (no ttl) for threads that are kept: only threads that can expire are in its range.
    "CREATE INDEX IF NOT EXISTS agent_server_threads_expiry "
    "ON agent_server_threads ((updated_at + ttl_seconds))",
)
_COLUMNS = "thread_id, owner, metadata_json, outcome, created_at, updated_at, ttl_seconds"
_EXPIRY = "a.updated_at + a.ttl_seconds"


def _threads(dialect: Dialect) -> str:
    """Threads of this table, and threads of the index that this table does not hold."""
    held = f"l.expires_at > {dialect.lease_now} AND {RUN_LEASE}"
    indexed = dialect.seconds.format(column="i.updated_at")
    return f"""
SELECT a.thread_id AS thread_id, coalesce(a.owner, i.owner) AS owner, a.metadata_json AS metadata_json,
       a.outcome AS outcome, a.created_at AS created_at,
       CASE WHEN {indexed} > a.updated_at THEN {indexed} ELSE a.updated_at END AS updated_at,
       i.agent AS agent, l.thread_id IS NOT NULL AS busy, a.ttl_seconds AS ttl_seconds
FROM agent_server_threads a
LEFT JOIN platform_threads i ON i.thread_id = a.thread_id
LEFT JOIN platform_run_locks l ON l.thread_id = a.thread_id AND {held}
UNION ALL
SELECT i.thread_id, i.owner, NULL, 'idle', {indexed}, {indexed}, i.agent, l.thread_id IS NOT NULL,
       CAST(NULL AS DOUBLE PRECISION)
FROM platform_threads i
LEFT JOIN platform_run_locks l ON l.thread_id = i.thread_id AND {held}
WHERE NOT EXISTS (SELECT 1 FROM agent_server_threads a WHERE a.thread_id = i.thread_id)
"""  # noqa: S608  # fixed clauses only


def _expired(dialect: Dialect) -> str:
    """Rows past their ttl by their own time and by the index's (a run touched them since), whose
    thread no run holds, after the previous batch's last (expiry, id)."""
    held = f"l.expires_at > {dialect.lease_now} AND {RUN_LEASE}"
    indexed = dialect.seconds.format(column="i.updated_at")
    return f"""
SELECT {_EXPIRY} AS expiry, a.thread_id AS thread_id
FROM agent_server_threads a
LEFT JOIN platform_threads i ON i.thread_id = a.thread_id
WHERE {_EXPIRY} <= :now AND ({_EXPIRY}, a.thread_id) > (:after_expiry, :after_id)
  AND (i.updated_at IS NULL OR {indexed} + a.ttl_seconds <= :now)
  AND NOT EXISTS (SELECT 1 FROM platform_run_locks l WHERE l.thread_id = a.thread_id AND {held})
ORDER BY {_EXPIRY}, a.thread_id
LIMIT :limit
"""  # noqa: S608  # fixed clauses only


def _row(values: dict[str, Any]) -> ThreadRow:
    ttl = values["ttl_seconds"]
    return ThreadRow(
        thread_id=str(values["thread_id"]),
        owner=values["owner"],
        metadata=metadata_from_json(values["metadata_json"]),
        outcome=str(values["outcome"]),
        created_at=float(values["created_at"]),
        updated_at=float(values["updated_at"]),
        agent=values["agent"],
        busy=bool(values["busy"]),
        ttl_seconds=float(ttl) if ttl is not None else None,
    )


def _values(row: ThreadRow) -> dict[str, Any]:
    return {
        "thread_id": row.thread_id,
        "owner": row.owner,
        "metadata": metadata_to_json(row.metadata),
        "outcome": row.outcome,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "ttl": row.ttl_seconds,
    }


class SqlThreadStore:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql
        self._threads = _threads(sql.dialect)
        self._expired = _expired(sql.dialect)

    async def setup(self) -> None:
        await self._sql.setup(SCHEMA)

    async def close(self) -> None:
        await self._sql.close()

    def _where(self, selected: ThreadFilter) -> tuple[str, dict[str, Any]] | None:
        """The WHERE clause over ``_threads`` and its parameters; None if it can select nothing."""
        clauses = ["(t.ttl_seconds IS NULL OR t.updated_at + t.ttl_seconds > :now OR t.busy)"]
        params: dict[str, Any] = {"now": selected.now}
        if selected.owner is not None:
            clauses.append("(t.owner IS NULL OR t.owner = :owner)")
            params["owner"] = selected.owner
        if selected.ids is not None:
            if not selected.ids:
                return None
            listed, listed_params = in_list("id", selected.ids)
            clauses.append(f"t.thread_id IN {listed}")
            params.update(listed_params)
        if selected.metadata:
            clauses.append(self._sql.dialect.metadata_matches.format(column="t.metadata_json"))
            params["metadata"] = metadata_to_json(selected.metadata)
        if selected.status is not None:
            clauses.append("(CASE WHEN t.busy THEN 'busy' ELSE t.outcome END) = :status")
            params["status"] = selected.status
        return " AND ".join(clauses), params

    async def insert(self, row: ThreadRow) -> bool:
        changed = await self._sql.execute(
            f"INSERT INTO agent_server_threads ({_COLUMNS}) "  # noqa: S608  # fixed clauses only
            "SELECT :thread_id, :owner, :metadata, :outcome, :created_at, :updated_at, :ttl "
            "WHERE NOT EXISTS (SELECT 1 FROM platform_threads WHERE thread_id = :thread_id) "
            "ON CONFLICT (thread_id) DO NOTHING",
            _values(row),
        )
        return changed == 1

    async def get(self, thread_id: str) -> ThreadRow | None:
        rows = await self._sql.fetch(
            f"SELECT * FROM ({self._threads}) t WHERE t.thread_id = :id",  # noqa: S608  # fixed clauses
            {"id": thread_id, "now": time.time()},
        )
        return _row(rows[0]) if rows else None

    async def search(self, selected: ThreadFilter, order: ThreadOrder) -> list[ThreadRow]:
        where = self._where(selected)
        if where is None:
            return []
        clauses, params = where
        if order.field not in SORT_FIELDS.values():
            raise ValueError(f"no thread order by {order.field!r}")
        direction = "DESC" if order.descending else "ASC"
        rows = await self._sql.fetch(
            f"SELECT * FROM ({self._threads}) t WHERE {clauses} "  # noqa: S608  # fixed clauses only
            f"ORDER BY t.{order.field} {direction}, t.thread_id {direction} LIMIT :limit OFFSET :offset",
            {**params, "limit": order.limit, "offset": order.offset},
        )
        return [_row(values) for values in rows]

    async def count(self, selected: ThreadFilter) -> int:
        where = self._where(selected)
        if where is None:
            return 0
        clauses, params = where
        rows = await self._sql.fetch(
            f"SELECT count(*) AS n FROM ({self._threads}) t WHERE {clauses}",  # noqa: S608  # fixed clauses
            params,
        )
        return int(rows[0]["n"])

    async def expired(self, now: float, after: ExpiryKey | None, limit: int) -> list[ExpiryKey]:
        after_expiry, after_id = after if after is not None else (float("-inf"), "")
        rows = await self._sql.fetch(
            self._expired,
            {"now": now, "after_expiry": after_expiry, "after_id": after_id, "limit": limit},
        )
        return [(float(values["expiry"]), str(values["thread_id"])) for values in rows]

    async def save(self, row: ThreadRow) -> None:
        await self._sql.execute(
            f"INSERT INTO agent_server_threads ({_COLUMNS}) "  # noqa: S608  # fixed clauses only
            "VALUES (:thread_id, :owner, :metadata, :outcome, :created_at, :updated_at, :ttl) "
            "ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, "
            "metadata_json = excluded.metadata_json, outcome = excluded.outcome, "
            "updated_at = excluded.updated_at, ttl_seconds = excluded.ttl_seconds",
            _values(row),
        )

    async def delete(self, thread_id: str) -> None:
        await self._sql.execute(
            "DELETE FROM agent_server_threads WHERE thread_id = :thread_id", {"thread_id": thread_id}
        )
