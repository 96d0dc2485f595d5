"""Threads of the Agent Server API on the platform's own state: the same checkpoints, thread index,
owners and run leases as ``/api/enterprise/agents/{name}/threads/{id}``.

A thread belongs to the key owner that created it (others get 404, as if it did not exist). Its
agent is the one whose run first touched it (the thread index), or, before any run, the ``graph_id``
its metadata names. Changes to a thread's checkpoints (state updates, deletion) hold its run lease,
so they never interleave with a run, wherever that run executes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from typing import Any
from uuid import uuid4

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from langchain_platform.agent_server.errors import (
    ThreadExists,
    ThreadMissing,
    ThreadWithoutAssistant,
)
from langchain_platform.agent_server.schemas import (
    CheckpointRef,
    HistoryRequest,
    StateUpdate,
    StateUpdated,
    Thread,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadSearch,
    ThreadState,
    ThreadTtl,
)
from langchain_platform.agent_server.thread_store import (
    SORT_FIELDS,
    SWEEP_LEASE_PREFIX,
    ExpiryKey,
    ThreadFilter,
    ThreadOrder,
    ThreadRow,
    ThreadStore,
)
from langchain_platform.agent_server.thread_views import checkpoint_of, thread_body, thread_state
from langchain_platform.agents.errors import UnknownAgent
from langchain_platform.agents.runtime import AgentRuntime, Graph
from langchain_platform.principals import Principal
from langchain_platform.state.errors import ThreadBusy
from langchain_platform.state.run_guard import RunGuard


def _config(thread_id: str, checkpoint_id: str | None = None, checkpoint_ns: str = "") -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _owner_filter(principal: Principal) -> str | None:
    return None if principal.sees_every_owner else principal.owner


class Threads:
    def __init__(self, runtime: AgentRuntime, store: ThreadStore) -> None:
        self._runtime = runtime
        self._store = store

    # -- rows --------------------------------------------------------------------------------------

    async def row(self, thread_id: str, principal: Principal) -> ThreadRow:
        """The thread ``principal`` may see, or ``ThreadMissing`` (also for another owner's)."""
        state = self._runtime.state
        _, platform = await state.require()
        row = await state.call(self._store.get(thread_id))
        if row is None or row.agent is None:
            record = await state.call(platform.thread_record(thread_id))
            if record is not None:
                now = time.time()
                row = row or ThreadRow(
                    thread_id=thread_id, owner=record.owner, created_at=now, updated_at=now
                )
                # The turn's record names the thread's owner: a row another key made for this id cannot win.
                row = replace(row, agent=record.agent, owner=record.owner or row.owner)
        if row is None or not principal.may_use(row.owner) or row.expired(time.time()):
            raise ThreadMissing(thread_id)
        return row

    def _ttl_seconds(self, ttl: ThreadTtl | None) -> float | None:
        """The thread's time to live: the one asked for, else THREAD_TTL_MINUTES (0: none)."""
        minutes = ttl.ttl if ttl is not None else self._runtime.settings.thread_ttl_minutes
        return minutes * 60 if minutes else None

    async def create(self, body: ThreadCreate, principal: Principal) -> Thread:
        thread_id = body.thread_id or str(uuid4())
        now = time.time()
        row = ThreadRow(
            thread_id=thread_id,
            owner=principal.owner,
            created_at=now,
            updated_at=now,
            metadata=body.metadata or {},
            ttl_seconds=self._ttl_seconds(body.ttl),
        )
        if await self._runtime.state.call(self._store.insert(row)):
            return thread_body(row, None)
        if body.if_exists == "do_nothing":
            return await self.get(thread_id, principal)
        # Another owner's thread is not revealed: its id is taken all the same.
        raise ThreadExists(thread_id)

    async def ensure(
        self, thread_id: str, principal: Principal, metadata: dict[str, Any] | None = None
    ) -> ThreadRow:
        """The thread, created for ``principal`` if it does not exist (a run's ``if_not_exists=create``).

        A thread only ``/invoke`` knows has a turn record but no row here: it is not created over, so
        another key gets ``ThreadMissing`` and no row of its own for that id."""
        state = self._runtime.state
        _, platform = await state.require()
        if await state.call(platform.thread_record(thread_id)) is not None:
            return await self.row(thread_id, principal)
        now = time.time()
        row = ThreadRow(
            thread_id=thread_id,
            owner=principal.owner,
            created_at=now,
            updated_at=now,
            metadata=metadata or {},
            ttl_seconds=self._ttl_seconds(None),
        )
        await self._runtime.state.call(self._store.insert(row))
        return await self.row(thread_id, principal)

    async def record_outcome(self, row: ThreadRow, outcome: str) -> None:
        await self._runtime.state.call(
            self._store.save(replace(row, outcome=outcome, updated_at=time.time()))
        )

    # -- reading -----------------------------------------------------------------------------------

    def agent_of(self, row: ThreadRow) -> str:
        name = row.agent or row.metadata.get("graph_id")
        if not isinstance(name, str):
            raise ThreadWithoutAssistant(row.thread_id)
        try:
            return self._runtime.agent(name).name
        except UnknownAgent as exc:
            raise ThreadWithoutAssistant(row.thread_id) from exc

    async def _graph(self, row: ThreadRow) -> Graph:
        return await self._runtime.compiled_graph(self.agent_of(row))

    async def _snapshot(self, row: ThreadRow) -> StateSnapshot | None:
        if row.agent is None:
            return None  # no run yet: no checkpoint either
        try:
            graph = await self._graph(row)
        except ThreadWithoutAssistant:
            return None  # its agent left the agents file: listed without values rather than failing a search
        return await self._runtime.state.call(graph.aget_state(_config(row.thread_id)))

    async def get(self, thread_id: str, principal: Principal) -> Thread:
        row = await self.row(thread_id, principal)
        return thread_body(row, await self._snapshot(row))

    def _filter(self, query: ThreadSearch | ThreadCount, principal: Principal) -> ThreadFilter:
        return ThreadFilter(
            owner=_owner_filter(principal),
            now=time.time(),
            ids=query.ids if isinstance(query, ThreadSearch) else None,
            metadata=query.metadata,
            status=query.status,
        )

    async def search(self, query: ThreadSearch, principal: Principal) -> list[Thread]:
        order = ThreadOrder(
            field=SORT_FIELDS[query.sort_by or "created_at"],
            descending=query.sort_order != "asc",
            limit=query.limit,
            offset=query.offset,
        )
        page = await self._runtime.state.call(self._store.search(self._filter(query, principal), order))
        return [thread_body(row, await self._snapshot(row)) for row in page]

    async def count(self, query: ThreadCount, principal: Principal) -> int:
        return await self._runtime.state.call(self._store.count(self._filter(query, principal)))

    # -- changing ----------------------------------------------------------------------------------

    async def patch(self, thread_id: str, body: ThreadPatch, principal: Principal) -> Thread:
        row = await self.row(thread_id, principal)
        row = replace(row, metadata={**row.metadata, **body.metadata}, updated_at=time.time())
        if body.ttl is not None:
            row = replace(row, ttl_seconds=self._ttl_seconds(body.ttl))
        await self._runtime.state.call(self._store.save(row))
        return thread_body(row, await self._snapshot(row))

    async def delete(self, thread_id: str, principal: Principal) -> None:
        row = await self.row(thread_id, principal)
        state = self._runtime.state
        _, platform = await state.require()
        # Under the thread's lease, so a running conversation is not cut in half (409 while it runs).
        lease = await state.call(RunGuard(platform).acquire(row.thread_id, f"delete-{uuid4()}"))
        try:
            await self._remove(row.thread_id)
        finally:
            await state.call(lease.release())

    async def _remove(self, thread_id: str) -> None:
        """The thread's checkpoints, index entry and row; the caller holds its lease."""
        state = self._runtime.state
        saver, platform = await state.require()
        await state.call(saver.adelete_thread(thread_id))
        await state.call(platform.forget_threads([thread_id]))
        await state.call(self._store.delete(thread_id))

    async def expired(self, now: float, after: ExpiryKey | None, limit: int) -> list[ExpiryKey]:
        """A batch of every owner's threads past their time to live and not held by a run."""
        return await self._runtime.state.call(self._store.expired(now, after, limit))

    async def remove_expired(self, thread_id: str) -> bool:
        """Delete the thread if, once its lease is held, it is still expired; False if a run holds it
        or it changed since (a run or an update gave it a new lease of life)."""
        state = self._runtime.state
        _, platform = await state.require()
        try:
            lease = await state.call(RunGuard(platform).acquire(thread_id, f"{SWEEP_LEASE_PREFIX}{uuid4()}"))
        except ThreadBusy:
            return False
        try:
            row = await state.call(self._store.get(thread_id))
            expires_at = row.expires_at if row is not None else None
            if expires_at is None or expires_at > time.time():
                return False
            await self._remove(thread_id)
            return True
        finally:
            await state.call(lease.release())

    async def copy(self, thread_id: str, principal: Principal) -> Thread:
        """A new thread of ``principal`` with the same metadata and every checkpoint of the original."""
        row = await self.row(thread_id, principal)
        state = self._runtime.state
        saver, platform = await state.require()
        new_id = str(uuid4())
        now = time.time()
        copied = ThreadRow(
            thread_id=new_id,
            owner=principal.owner,
            created_at=now,
            updated_at=now,
            metadata=row.metadata,
            ttl_seconds=row.ttl_seconds,
        )
        await state.call(self._store.insert(copied))
        originals = [t async for t in saver.alist({"configurable": {"thread_id": row.thread_id}})]
        for original in reversed(originals):  # oldest first, so each parent exists before its child
            configurable = original.config["configurable"]
            parent = (original.parent_config or {}).get("configurable", {}).get("checkpoint_id")
            target = _config(new_id, parent, configurable.get("checkpoint_ns", ""))
            stored = await state.call(
                saver.aput(
                    target, original.checkpoint, original.metadata, original.checkpoint["channel_versions"]
                )
            )
            writes: dict[str, list[tuple[str, Any]]] = defaultdict(list)
            for task_id, channel, value in original.pending_writes or []:
                writes[task_id].append((channel, value))
            for task_id, task_writes in writes.items():
                await state.call(saver.aput_writes(stored, task_writes, task_id))
        if row.agent is not None:
            # Recorded in the thread index as the same agent's, so both APIs show the copy.
            lease = await state.call(
                RunGuard(platform).acquire(new_id, f"copy-{uuid4()}", agent=row.agent, principal=principal)
            )
            await state.call(lease.release())
        return await self.get(new_id, principal)

    async def state(
        self, thread_id: str, principal: Principal, checkpoint_id: str | None = None
    ) -> ThreadState:
        row = await self.row(thread_id, principal)
        if row.agent is None and checkpoint_id is None:
            return thread_state(
                StateSnapshot({}, (), _config(thread_id), None, None, None, (), ()), thread_id
            )
        graph = await self._graph(row)
        snapshot = await self._runtime.state.call(graph.aget_state(_config(thread_id, checkpoint_id)))
        return thread_state(snapshot, thread_id)

    async def update_state(self, thread_id: str, body: StateUpdate, principal: Principal) -> StateUpdated:
        row = await self.row(thread_id, principal)
        agent = self.agent_of(row)
        graph = await self._runtime.compiled_graph(agent)
        state = self._runtime.state
        _, platform = await state.require()
        checkpoint_id = body.checkpoint_id or (body.checkpoint.checkpoint_id if body.checkpoint else None)
        lease = await state.call(
            RunGuard(platform).acquire(thread_id, f"state-{uuid4()}", agent=agent, principal=principal)
        )
        try:
            config = await state.call(
                graph.aupdate_state(_config(thread_id, checkpoint_id), body.values, as_node=body.as_node)
            )
        finally:
            await state.call(lease.release())
        await self.record_outcome(replace(row, agent=agent), "idle")
        return StateUpdated(checkpoint=checkpoint_of(config, thread_id))

    async def history(self, thread_id: str, body: HistoryRequest, principal: Principal) -> list[ThreadState]:
        row = await self.row(thread_id, principal)
        if row.agent is None:
            return []
        graph = await self._graph(row)
        before = body.before
        before_config = _config(thread_id, before if isinstance(before, str) else _checkpoint_id(before))
        start = _config(thread_id, _checkpoint_id(body.checkpoint))
        states = graph.aget_state_history(
            start, filter=body.metadata, before=before_config if before else None, limit=body.limit
        )
        return [thread_state(snapshot, thread_id) async for snapshot in states]


def _checkpoint_id(ref: CheckpointRef | None) -> str | None:
    return ref.checkpoint_id if ref is not None else None
