"""LangGraph state snapshots as the API's ``ThreadState`` and ``Thread`` bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from langchain_platform.agent_server.schemas import Checkpoint, Thread, ThreadState
from langchain_platform.agent_server.serialization import to_builtins
from langchain_platform.agent_server.thread_store import ThreadRow


def checkpoint_of(config: RunnableConfig | None, thread_id: str) -> Checkpoint:
    configurable = (config or {}).get("configurable", {})
    return Checkpoint(
        thread_id=str(configurable.get("thread_id", thread_id)),
        checkpoint_ns=str(configurable.get("checkpoint_ns", "")),
        checkpoint_id=configurable.get("checkpoint_id"),
        checkpoint_map=configurable.get("checkpoint_map"),
    )


def interrupts_of(snapshot: StateSnapshot) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = to_builtins(list(snapshot.interrupts))
    return found


def thread_state(snapshot: StateSnapshot, thread_id: str) -> ThreadState:
    tasks = [
        {
            "id": task.id,
            "name": task.name,
            "error": repr(task.error) if task.error is not None else None,
            "interrupts": to_builtins(list(task.interrupts)),
            "checkpoint": None,
            "state": None,
            "result": to_builtins(task.result) if task.result is not None else None,
        }
        for task in snapshot.tasks
    ]
    parent = snapshot.parent_config
    return ThreadState(
        values=to_builtins(snapshot.values),
        next=list(snapshot.next),
        tasks=tasks,
        checkpoint=checkpoint_of(snapshot.config, thread_id),
        metadata=to_builtins(snapshot.metadata or {}),
        created_at=snapshot.created_at,
        parent_checkpoint=checkpoint_of(parent, thread_id) if parent else None,
        interrupts=interrupts_of(snapshot),
    )


def status_of(row: ThreadRow, snapshot: StateSnapshot | None) -> str:
    if row.busy:
        return "busy"
    if snapshot is not None:
        if snapshot.interrupts:
            return "interrupted"
        return "error" if row.outcome == "error" else "idle"
    return row.outcome


def thread_body(row: ThreadRow, snapshot: StateSnapshot | None) -> Thread:
    """The thread with its current values (None before its first checkpoint) and pending interrupts."""
    has_state = snapshot is not None and snapshot.created_at is not None
    interrupts: dict[str, list[Any]] = {}
    if snapshot is not None:
        for task in snapshot.tasks:
            if task.interrupts:
                interrupts[task.id] = to_builtins(list(task.interrupts))
    return Thread(
        thread_id=row.thread_id,
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        updated_at=datetime.fromtimestamp(row.updated_at, UTC),
        metadata=row.metadata,
        status=status_of(row, snapshot),
        config={},
        values=to_builtins(snapshot.values) if has_state and snapshot is not None else None,
        interrupts=interrupts,
    )
