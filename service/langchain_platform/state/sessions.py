"""Clearing sessions (RB-003): stuck or idle conversations and expired thread leases, no restart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import uuid4

import structlog

from langchain_platform.state.backend import StateBackend
from langchain_platform.state.errors import ThreadBusy
from langchain_platform.state.run_guard import RunGuard

_log = structlog.get_logger("langchain_platform.agents")


@dataclass(frozen=True)
class ClearedSessions:
    # Threads that existed (in the thread index or the checkpointer) and are now deleted.
    thread_ids: list[str]
    stale_locks_released: int
    # Threads a run held: left alone, or the run would write its turn into a deleted thread.
    busy_thread_ids: list[str]


async def clear_sessions(
    state: StateBackend, older_than_seconds: int | None, thread_ids: Sequence[str] | None
) -> ClearedSessions:
    """Delete the named and/or idle threads that no run holds; always drop expired leases.

    Each thread is deleted under its own lease, as ``DELETE .../threads/{id}`` does, so a run cannot
    start on it halfway through.
    """
    saver, store = await state.require()
    stale = await state.call(store.clear_expired_run_locks())
    targets = set(thread_ids or [])
    if older_than_seconds is not None:
        targets.update(await state.call(store.threads_older_than(older_than_seconds)))
    guard = RunGuard(store)
    cleared: list[str] = []
    busy: list[str] = []
    for thread_id in sorted(targets):
        try:
            lease = await state.call(guard.acquire(thread_id, f"clear-{uuid4()}"))
        except ThreadBusy:
            busy.append(thread_id)
            continue
        try:
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            had_checkpoints = await state.call(saver.aget_tuple(config)) is not None  # type: ignore[arg-type]
            await state.call(saver.adelete_thread(thread_id))
            indexed = await state.call(store.forget_threads([thread_id])) > 0
        finally:
            await state.call(lease.release())
        if had_checkpoints or indexed:
            cleared.append(thread_id)
    _log.info("sessions cleared", threads=len(cleared), busy_threads=len(busy), stale_locks=stale)
    return ClearedSessions(thread_ids=cleared, stale_locks_released=stale, busy_thread_ids=busy)
