"""Background runs of the Agent Server API as the state store keeps them: the run table and its events.

``agent_server_runs`` holds one row per run created through ``POST /threads/{id}/runs`` or ``POST
/runs`` (and per run a non-``reject`` multitask strategy queued): the request body, its status
(``pending``, ``running``, then ``success``, ``error``, ``timeout`` or ``interrupted``), the process
holding it (``holder``) until ``lease_expires``, how often it was taken (``attempt``) and a cancel
request (``cancel``: ``interrupt`` or ``rollback``) that the holder's heartbeat reads.
``agent_server_run_events`` keeps every event the run streamed, numbered from 0, so a join from any
worker or replica replays them and resumes after ``Last-Event-ID``; they go with the run.

The SQL is one text for SQLite and PostgreSQL (named parameters, converted for psycopg); taking a
run is one conditional ``UPDATE`` whose sub-select picks the oldest pending run whose thread has
nothing running and no older pending run, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so concurrent
workers skip each other's candidate. Times are Unix seconds from the caller's clock.

Every process's claim loop is woken when a run becomes pending anywhere (``announce`` after the
write, ``watch`` in each process: PostgreSQL ``LISTEN/NOTIFY``, SQLite's commit counter), and the
sweeper removes finished runs past their retention in bounded batches over ``(status, updated_at)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_platform.agent_server.sql import Sql, in_list

ACTIVE_STATUSES = ("pending", "running")
FINAL_STATUSES = ("success", "error", "timeout", "interrupted")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS agent_server_runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT,
    assistant_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    admin INTEGER NOT NULL,
    status TEXT NOT NULL,
    multitask_strategy TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    kwargs_json TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    not_before DOUBLE PRECISION NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    holder TEXT,
    lease_expires DOUBLE PRECISION,
    cancel TEXT,
    result_json TEXT
)""",
    "CREATE INDEX IF NOT EXISTS agent_server_runs_status ON agent_server_runs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS agent_server_runs_thread ON agent_server_runs (thread_id, created_at)",
    # The sweeper's: runs that ended before a time.
    "CREATE INDEX IF NOT EXISTS agent_server_runs_ended ON agent_server_runs (status, updated_at)",
    """CREATE TABLE IF NOT EXISTS agent_server_run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    data_json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
)""",
)

_COLUMNS = (
    "run_id, thread_id, assistant_id, owner, admin, status, multitask_strategy, metadata_json, "
    "kwargs_json, created_at, updated_at, attempt, holder, cancel, result_json"
)
# Runs one thread waits for are taken in creation order, one at a time.
_CLAIM = f"""
UPDATE agent_server_runs
SET status = 'running', holder = :holder, lease_expires = :expires, attempt = attempt + 1,
    updated_at = :now
WHERE status = 'pending' AND run_id = (
    SELECT r.run_id FROM agent_server_runs r
    WHERE r.status = 'pending' AND r.not_before <= :now AND (r.thread_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM agent_server_runs o
        WHERE o.thread_id = r.thread_id AND o.run_id <> r.run_id AND (o.status = 'running' OR (
            o.status = 'pending' AND (o.created_at < r.created_at
                OR (o.created_at = r.created_at AND o.run_id < r.run_id))))))
    ORDER BY r.created_at, r.run_id LIMIT 1 {{lock}})
RETURNING {_COLUMNS}
"""  # noqa: S608  # fixed clauses only

_ENDED_BEFORE = f"status IN ({', '.join(repr(status) for status in FINAL_STATUSES)}) AND updated_at < :before"
# Whether a claim loop woken by a change it cannot tell apart from others has anything to try.
_PENDING_PROBE = "SELECT 1 FROM agent_server_runs WHERE status = 'pending' LIMIT 1"
# How many ended runs one statement of the sweeper deletes.
DELETE_BATCH = 500


@dataclass(frozen=True)
class RunRow:
    run_id: str
    thread_id: str | None
    assistant_id: str
    owner: str
    # Whether the creating key saw every owner's threads (the run acts with the same reach).
    admin: bool
    status: str
    multitask_strategy: str
    created_at: float
    updated_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    holder: str | None = None
    cancel: str | None = None
    result: Any = None


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event: str
    data_json: str


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _row(values: dict[str, Any]) -> RunRow:
    return RunRow(
        run_id=str(values["run_id"]),
        thread_id=values["thread_id"],
        assistant_id=str(values["assistant_id"]),
        owner=str(values["owner"]),
        admin=bool(values["admin"]),
        status=str(values["status"]),
        multitask_strategy=str(values["multitask_strategy"]),
        metadata=json.loads(values["metadata_json"]),
        kwargs=json.loads(values["kwargs_json"]),
        created_at=float(values["created_at"]),
        updated_at=float(values["updated_at"]),
        attempt=int(values["attempt"]),
        holder=values["holder"],
        cancel=values["cancel"],
        result=json.loads(values["result_json"]) if values["result_json"] is not None else None,
    )


class RunStore:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def setup(self) -> None:
        await self._sql.setup(SCHEMA)

    async def close(self) -> None:
        await self._sql.close()

    async def insert(self, row: RunRow, not_before: float) -> None:
        await self._sql.execute(
            "INSERT INTO agent_server_runs (run_id, thread_id, assistant_id, owner, admin, status, "
            "multitask_strategy, metadata_json, kwargs_json, created_at, updated_at, not_before) VALUES "
            "(:run_id, :thread_id, :assistant_id, :owner, :admin, :status, :strategy, :metadata, :kwargs, "
            ":created_at, :created_at, :not_before)",
            {
                "run_id": row.run_id,
                "thread_id": row.thread_id,
                "assistant_id": row.assistant_id,
                "owner": row.owner,
                "admin": int(row.admin),
                "status": row.status,
                "strategy": row.multitask_strategy,
                "metadata": _dumps(row.metadata),
                "kwargs": _dumps(row.kwargs),
                "created_at": row.created_at,
                "not_before": not_before,
            },
        )
        await self._sql.announce()

    async def get(self, run_id: str) -> RunRow | None:
        rows = await self._sql.fetch(
            f"SELECT {_COLUMNS} FROM agent_server_runs WHERE run_id = :run_id",  # noqa: S608
            {"run_id": run_id},
        )
        return _row(rows[0]) if rows else None

    async def of_thread(
        self, thread_id: str, *, statuses: Sequence[str] | None = None, limit: int = 1000, offset: int = 0
    ) -> list[RunRow]:
        """The thread's runs, newest first."""
        if statuses is not None and not statuses:
            return []
        where = "thread_id = :thread_id"
        params: dict[str, Any] = {"thread_id": thread_id, "limit": limit, "offset": offset}
        if statuses is not None:
            listed, listed_params = in_list("status", statuses)
            where, params = f"{where} AND status IN {listed}", {**params, **listed_params}
        rows = await self._sql.fetch(
            f"SELECT {_COLUMNS} FROM agent_server_runs WHERE {where} "  # noqa: S608  # fixed clauses only
            "ORDER BY created_at DESC, run_id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        return [_row(values) for values in rows]

    async def delete(self, run_id: str) -> None:
        await self._sql.execute(
            "DELETE FROM agent_server_run_events WHERE run_id = :run_id", {"run_id": run_id}
        )
        await self._sql.execute("DELETE FROM agent_server_runs WHERE run_id = :run_id", {"run_id": run_id})

    async def delete_of_thread(self, thread_id: str) -> None:
        """Every run of a deleted thread, with its events (the thread's sweeper saw none going)."""
        await self._sql.execute(
            "DELETE FROM agent_server_run_events WHERE run_id IN "
            "(SELECT run_id FROM agent_server_runs WHERE thread_id = :thread_id)",
            {"thread_id": thread_id},
        )
        await self._sql.execute(
            "DELETE FROM agent_server_runs WHERE thread_id = :thread_id", {"thread_id": thread_id}
        )

    async def delete_finished(self, before: float, batch: int = DELETE_BATCH) -> int:
        """Runs that ended before ``before``, with their events, ``batch`` runs a statement (each
        batch found through the ``(status, updated_at)`` index); how many."""
        deleted = 0
        while True:
            rows = await self._sql.fetch(
                # No ORDER BY: the index is read only as far as the batch, not sorted whole.
                f"SELECT run_id FROM agent_server_runs WHERE {_ENDED_BEFORE} LIMIT :batch",  # noqa: S608
                {"before": before, "batch": batch},
            )
            if not rows:
                return deleted
            listed, params = in_list("run", [values["run_id"] for values in rows])
            await self._sql.execute(
                f"DELETE FROM agent_server_run_events WHERE run_id IN {listed}",  # noqa: S608
                params,
            )
            deleted += await self._sql.execute(
                f"DELETE FROM agent_server_runs WHERE run_id IN {listed}",  # noqa: S608
                params,
            )
            if len(rows) < batch:
                return deleted

    async def claim(self, holder: str, now: float, lease_seconds: float) -> RunRow | None:
        rows = await self._sql.fetch(
            _CLAIM.format(lock=self._sql.dialect.claim_lock),
            {"holder": holder, "now": now, "expires": now + lease_seconds},
        )
        return _row(rows[0]) if rows else None

    async def next_due(self, now: float) -> float | None:
        """When the first pending run that may not be taken before a later time becomes due."""
        rows = await self._sql.fetch(
            "SELECT min(not_before) AS due FROM agent_server_runs "
            "WHERE status = 'pending' AND not_before > :now",
            {"now": now},
        )
        due = rows[0]["due"] if rows else None
        return float(due) if due is not None else None

    async def watch(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever another process may have made a run pending, until cancelled."""
        await self._sql.watch(wake, _PENDING_PROBE)

    async def renew(self, holder: str, now: float, lease_seconds: float) -> dict[str, str | None]:
        """Extend every lease ``holder`` has; its running runs with their cancel requests."""
        await self._sql.execute(
            "UPDATE agent_server_runs SET lease_expires = :expires "
            "WHERE holder = :holder AND status = 'running'",
            {"holder": holder, "expires": now + lease_seconds},
        )
        rows = await self._sql.fetch(
            "SELECT run_id, cancel FROM agent_server_runs WHERE holder = :holder AND status = 'running'",
            {"holder": holder},
        )
        return {str(values["run_id"]): values["cancel"] for values in rows}

    async def finish(self, run_id: str, holder: str, status: str, result: Any, now: float) -> bool:
        """Record how the run ended; False if ``holder`` no longer holds it (its lease was taken over)."""
        changed = await self._sql.execute(
            "UPDATE agent_server_runs SET status = :status, result_json = :result, holder = NULL, "
            "lease_expires = NULL, updated_at = :now "
            "WHERE run_id = :run_id AND holder = :holder AND status = 'running'",
            {"run_id": run_id, "holder": holder, "status": status, "result": _dumps(result), "now": now},
        )
        return changed == 1

    async def give_back(self, run_id: str, holder: str, now: float, *, retry_after: float = 0.0) -> None:
        """Back to pending without counting the attempt (its thread was busy, or this process stops)."""
        await self._sql.execute(
            "UPDATE agent_server_runs SET status = 'pending', holder = NULL, lease_expires = NULL, "
            "attempt = attempt - 1, not_before = :not_before, updated_at = :now "
            "WHERE run_id = :run_id AND holder = :holder AND status = 'running'",
            {"run_id": run_id, "holder": holder, "now": now, "not_before": now + retry_after},
        )
        if not retry_after:
            await self._sql.announce()

    async def request_cancel(self, run_id: str, action: str, now: float) -> RunRow | None:
        """Flag the run for its holder; a pending run is interrupted at once (nobody holds it)."""
        await self._sql.execute(
            "UPDATE agent_server_runs SET status = 'interrupted', cancel = :action, updated_at = :now "
            "WHERE run_id = :run_id AND status = 'pending'",
            {"run_id": run_id, "action": action, "now": now},
        )
        await self._sql.execute(
            "UPDATE agent_server_runs SET cancel = :action, updated_at = :now "
            "WHERE run_id = :run_id AND status = 'running'",
            {"run_id": run_id, "action": action, "now": now},
        )
        return await self.get(run_id)

    async def expire(self, now: float, *, retry: bool) -> list[str]:
        """Runs whose holder stopped renewing: pending again (retried) or ``error``; their ids."""
        rows = await self._sql.fetch(
            "SELECT run_id FROM agent_server_runs WHERE status = 'running' AND lease_expires < :now",
            {"now": now},
        )
        lost = [str(values["run_id"]) for values in rows]
        for run_id in lost:
            if retry:
                sql = (
                    "UPDATE agent_server_runs SET status = 'pending', holder = NULL, lease_expires = NULL, "
                    "updated_at = :now WHERE run_id = :run_id AND status = 'running' AND lease_expires < :now"
                )
                params: dict[str, Any] = {"run_id": run_id, "now": now}
            else:
                sql = (
                    "UPDATE agent_server_runs SET status = 'error', holder = NULL, lease_expires = NULL, "
                    "result_json = :result, updated_at = :now "
                    "WHERE run_id = :run_id AND status = 'running' AND lease_expires < :now"
                )
                error = {"error": "RunLost", "message": "the process running it stopped", "status": 500}
                params = {"run_id": run_id, "now": now, "result": _dumps({"__error__": error})}
            await self._sql.execute(sql, params)
        if lost and retry:
            await self._sql.announce()
        return lost

    async def add_event(self, run_id: str, seq: int, event: str, data_json: str) -> None:
        await self._sql.execute(
            "INSERT INTO agent_server_run_events (run_id, seq, event, data_json) "
            "VALUES (:run_id, :seq, :event, :data) ON CONFLICT (run_id, seq) DO NOTHING",
            {"run_id": run_id, "seq": seq, "event": event, "data": data_json},
        )

    async def clear_events(self, run_id: str) -> None:
        """Forget a lost attempt's events: the retry streams the run again from event 0."""
        await self._sql.execute(
            "DELETE FROM agent_server_run_events WHERE run_id = :run_id", {"run_id": run_id}
        )

    async def events_after(self, run_id: str, after: int) -> list[StoredEvent]:
        rows = await self._sql.fetch(
            "SELECT seq, event, data_json FROM agent_server_run_events "
            "WHERE run_id = :run_id AND seq > :after ORDER BY seq",
            {"run_id": run_id, "after": after},
        )
        return [StoredEvent(int(v["seq"]), str(v["event"]), str(v["data_json"])) for v in rows]
