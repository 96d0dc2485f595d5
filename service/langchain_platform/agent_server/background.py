"""Background runs: created into the run table, taken and executed by a worker loop in every server
process, joined and cancelled from any of them.

Each process claims pending runs (``RunStore.claim``) while it has room, holds each under a lease
that one heartbeat renews for all of them, and executes them through ``Runs.execute`` exactly like a
streamed run, storing every event (``RunStore.add_event``) so joins anywhere replay them. A run
created in this process wakes the loop at once; one created or put back elsewhere wakes it through
``RunStore.watch`` (PostgreSQL ``LISTEN/NOTIFY``, SQLite's commit counter); a run created with
``after_seconds`` wakes it when due; and the loop looks anyway every ``BACKGROUND_RUN_POLL_SECONDS``
(the safety net). The heartbeat also reads the cancel flags of the held runs: a cancel made in
another process reaches the holder within one beat, one made here cancels the task at once, and
cancelling the task aborts the LLM call in flight. A run whose lease expired (its holder died) is
pending again, retried from its thread's last checkpoint, or marked ``error`` when
``BACKGROUND_RUN_RETRY_LOST`` is off; ``attempt`` counts the claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from typing import Any
from uuid import uuid4

import msgspec
import structlog
from langchain_core.runnables import RunnableConfig

from langchain_platform.agent_server.assistants import agent_name
from langchain_platform.agent_server.errors import RunConflict, RunMissing
from langchain_platform.agent_server.run_store import ACTIVE_STATUSES, FINAL_STATUSES, RunRow, RunStore
from langchain_platform.agent_server.run_webhooks import webhook_payload
from langchain_platform.agent_server.runs import PreparedRun, Runs, error_event, refuse_unsupported
from langchain_platform.agent_server.schemas import RunCreate
from langchain_platform.agent_server.serialization import to_builtins, to_json
from langchain_platform.agent_server.stream_modes import StreamModes
from langchain_platform.agent_server.threads import Threads
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.domain_errors import DomainError
from langchain_platform.principals import ADMIN, Principal
from langchain_platform.state.errors import ThreadBusy
from langchain_platform.state.run_guard import RunGuard, owner_id

_log = structlog.get_logger("langchain_platform.agent_server")

# A join reading another process's run looks for new events this often.
JOIN_POLL_SECONDS = 0.1
# How long a run whose thread another run holds waits before it is tried again.
THREAD_BUSY_RETRY_SECONDS = 0.2


def principal_of(row: RunRow) -> Principal:
    scopes = {"agents", ADMIN} if row.admin else {"agents"}
    return Principal(row.owner, frozenset(scopes))


class BackgroundRuns:
    def __init__(
        self,
        runtime: AgentRuntime,
        threads: Threads,
        runs: Runs,
        store: RunStore,
        *,
        lease_seconds: float,
        retry_lost: bool,
        poll_seconds: float,
        per_process: int,
    ) -> None:
        self._runtime = runtime
        self._threads = threads
        self._runs = runs
        self.store = store
        self._lease_seconds = lease_seconds
        self._retry_lost = retry_lost
        self._poll_seconds = poll_seconds
        self._per_process = per_process
        self._holder = f"{owner_id()}:{uuid4().hex[:8]}"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancel_actions: dict[str, str] = {}
        self._wake = asyncio.Event()
        # Set (and replaced) whenever a run of this process adds an event or ends: local joins wake.
        self._changed = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- the worker loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="agent-server-claims"),
            asyncio.create_task(self._heartbeat_loop(), name="agent-server-heartbeat"),
        ]
        if self._per_process:
            watch = self.store.watch(self._wake.set)
            self._loops.append(asyncio.create_task(watch, name="agent-server-watch"))

    async def stop(self, grace_seconds: float) -> None:
        """Claim nothing more; give the held runs the grace period, then cancel them and put them back."""
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        held = list(self._tasks.values())
        if held:
            await asyncio.wait(held, timeout=grace_seconds)
        for task in held:
            task.cancel()
        for task in held:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _claim_loop(self) -> None:
        next_expiry = 0.0
        while True:
            # Cleared before looking, so a wake during the claims below is not lost.
            self._wake.clear()
            now = time.time()
            timeout = self._poll_seconds
            try:
                if now >= next_expiry:
                    next_expiry = now + self._lease_seconds / 3
                    lost = await self.store.expire(now, retry=self._retry_lost)
                    if lost:
                        _log.warning("background runs lost their holder", runs=lost, retried=self._retry_lost)
                while len(self._tasks) < self._per_process:
                    row = await self.store.claim(self._holder, time.time(), self._lease_seconds)
                    if row is None:
                        if (due := await self.store.next_due(now)) is not None:
                            timeout = min(timeout, due - now)
                        break
                    task = asyncio.create_task(self._execute(row), name=f"agent-server-bg-{row.run_id}")
                    self._tasks[row.run_id] = task
                    task.add_done_callback(partial(self._forget, row.run_id))
            except Exception as exc:  # the store may be down for a while: keep the loop alive
                _log.warning("could not take background runs", error=repr(exc))
            timeout = max(0.0, min(timeout, next_expiry - now))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _forget(self, run_id: str, _: asyncio.Task[None]) -> None:
        self._tasks.pop(run_id, None)
        self._cancel_actions.pop(run_id, None)
        self._wake.set()  # room for another run

    async def _heartbeat_loop(self) -> None:
        every = min(0.5, self._lease_seconds / 4)
        while True:
            await asyncio.sleep(every)
            if not self._tasks:
                continue
            try:
                held = await self.store.renew(self._holder, time.time(), self._lease_seconds)
            except Exception as exc:  # keep beating: the lease outlives a short outage
                _log.warning("could not renew background run leases", error=repr(exc))
                continue
            for run_id, task in list(self._tasks.items()):
                if run_id not in held:
                    # Taken over after our lease expired: never two holders, so this one stops.
                    self._cancel_local(run_id, task, "lost")
                elif (action := held[run_id]) is not None:
                    self._cancel_local(run_id, task, action)

    def _cancel_local(self, run_id: str, task: asyncio.Task[None], action: str) -> None:
        if run_id not in self._cancel_actions:
            self._cancel_actions[run_id] = action
            task.cancel()

    # -- executing one run -------------------------------------------------------------------------

    async def _execute(self, row: RunRow) -> None:
        body = msgspec.convert(row.kwargs, RunCreate)
        requested = StreamModes.parse(body.stream_mode)
        # "values" is always streamed, so the run's final values are known for join.
        modes = requested.with_values()
        if row.attempt > 1:
            await self.store.clear_events(row.run_id)
        try:
            prepared = await self._runs.prepare(row.thread_id, body, principal_of(row), background=True)
        except ThreadBusy:
            await self.store.give_back(
                row.run_id, self._holder, time.time(), retry_after=THREAD_BUSY_RETRY_SECONDS
            )
            return
        except DomainError as exc:
            await self._end(row, "error", {"__error__": error_event(exc)})
            return
        prepared = replace(prepared, modes=modes)
        before = await self._checkpoint_id(prepared)
        if row.attempt > 1 and await self._resume_point(prepared, row):
            # A retried run continues from its thread's last checkpoint instead of sending its input again.
            prepared = replace(prepared, body=msgspec.structs.replace(body, input=None, command=None))
        seq = 0
        final: Any = None
        failure: Any = {"error": "RunFailed"}

        async def emit(event: str, data: Any) -> None:
            nonlocal seq, final, failure
            if event == "values":
                final = data
            elif event == "error":
                failure = data
            if not requested.sends(event):
                return
            await self._runtime.state.call(
                self.store.add_event(row.run_id, seq, event, to_json(data).decode())
            )
            seq += 1
            self._notify()

        try:
            succeeded = await self._runs.execute(prepared, emit, run_id=row.run_id, attempt=row.attempt)
        except asyncio.CancelledError:
            action = self._cancel_actions.get(row.run_id)
            if action is None or action == "lost":
                if action is None:  # this process stops: another one takes the run
                    await asyncio.shield(self.store.give_back(row.run_id, self._holder, time.time()))
                self._notify()
                return
            await asyncio.shield(self._cancelled(row, prepared, action, before))
            return
        if succeeded:
            await self._end(row, "success", to_builtins(final))
        elif self._runtime.runs_stopped:
            # The process drains (SIGTERM) and stopped its runs: whatever error that surfaced as, it is not
            # the run's failure; another process takes it again from the thread's last checkpoint. This one
            # claims nothing more.
            self._stopping = True
            await self.store.give_back(row.run_id, self._holder, time.time())
        else:
            await self._end(row, "error", {"__error__": failure})

    async def _end(self, row: RunRow, status: str, result: Any) -> None:
        ended = await self.store.finish(row.run_id, self._holder, status, result, time.time())
        self._notify()
        webhook = row.kwargs.get("webhook")
        if ended and isinstance(webhook, str):  # only the holder that ended the run sends it: once
            payload = webhook_payload(
                run_id=row.run_id,
                thread_id=row.thread_id,
                assistant_id=row.assistant_id,
                status=status,
                metadata=row.metadata,
                result=result,
                owner=row.owner,
            )
            self._runs.webhooks.send(webhook, payload)

    async def _cancelled(self, row: RunRow, prepared: PreparedRun, action: str, before: str | None) -> None:
        if action == "rollback" and row.thread_id is not None:
            await self._roll_back(prepared, row.thread_id, before)
            await self.store.delete(row.run_id)
            self._notify()
            return
        await self._end(row, "interrupted", None)

    async def _checkpoint_id(self, prepared: PreparedRun) -> str | None:
        if prepared.thread is None:
            return None
        graph = await self._runtime.compiled_graph(prepared.run.spec.name)
        snapshot = await graph.aget_state({"configurable": {"thread_id": prepared.thread.thread_id}})
        checkpoint_id = snapshot.config.get("configurable", {}).get("checkpoint_id")
        return str(checkpoint_id) if checkpoint_id else None

    async def _resume_point(self, prepared: PreparedRun, row: RunRow) -> bool:
        """Whether the thread's last checkpoint was written by an earlier attempt of this run."""
        if prepared.thread is None:
            return False
        graph = await self._runtime.compiled_graph(prepared.run.spec.name)
        snapshot = await graph.aget_state({"configurable": {"thread_id": prepared.thread.thread_id}})
        return bool((snapshot.metadata or {}).get("run_id") == row.run_id and snapshot.next)

    async def _roll_back(self, prepared: PreparedRun, thread_id: str, before: str | None) -> None:
        """The thread back to where the run found it: the checkpoint before it becomes the head again
        (copied forward, so the history keeps what happened), or no state if it had none."""
        saver, platform = await self._runtime.state.require()
        lease = await self._runtime.state.call(RunGuard(platform).acquire(thread_id, f"rollback-{uuid4()}"))
        try:
            if before is None:
                await self._runtime.state.call(saver.adelete_thread(thread_id))
                return
            graph = await self._runtime.compiled_graph(prepared.run.spec.name)
            config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_id": before}}
            await self._runtime.state.call(graph.aupdate_state(config, None, as_node="__copy__"))
        finally:
            await self._runtime.state.call(lease.release())

    # -- the API -----------------------------------------------------------------------------------

    async def create(self, thread_id: str | None, body: RunCreate, principal: Principal) -> RunRow:
        refuse_unsupported(body, stateless=thread_id is None, background=True)
        StreamModes.parse(body.stream_mode)
        agent_name(self._runtime, body.assistant_id)
        await self._runs.webhooks.check(body.webhook)
        strategy = body.multitask_strategy or "reject"
        if thread_id is not None:
            try:
                thread = await self._threads.row(thread_id, principal)
            except DomainError:
                if body.if_not_exists != "create":
                    raise
                thread = await self._threads.ensure(thread_id, principal)
            active = await self._runtime.state.call(self.store.of_thread(thread_id, statuses=ACTIVE_STATUSES))
            if strategy == "reject" and (active or thread.busy):
                raise RunConflict(f"thread {thread_id} has a run going (multitask_strategy reject)")
            if strategy in ("interrupt", "rollback"):
                for other in active:
                    await self.cancel(other, strategy)
        now = time.time()
        run_id = str(uuid4())
        # The run id in the metadata reaches the checkpoints it writes: a retry finds where it stopped.
        metadata = {**(body.metadata or {}), "run_id": run_id}
        kwargs = msgspec.to_builtins(msgspec.structs.replace(body, metadata=metadata))
        row = RunRow(
            run_id=run_id,
            thread_id=thread_id,
            assistant_id=body.assistant_id,
            owner=principal.owner,
            admin=principal.sees_every_owner,
            status="pending",
            multitask_strategy=strategy,
            created_at=now,
            updated_at=now,
            metadata=metadata,
            kwargs=kwargs,
        )
        await self._runtime.state.call(self.store.insert(row, not_before=now + (body.after_seconds or 0)))
        self._wake.set()
        return row

    async def get(self, thread_id: str | None, run_id: str, principal: Principal) -> RunRow:
        """The run, if ``principal`` may see it and it is on ``thread_id`` (a stateless run answers to
        its own id as thread id)."""
        row = await self._runtime.state.call(self.store.get(run_id))
        if (
            row is None
            or not principal.may_use(row.owner)
            or (thread_id or run_id) != (row.thread_id or run_id)
        ):
            raise RunMissing(run_id)
        return row

    async def list(
        self, thread_id: str, principal: Principal, limit: int, offset: int, status: str | None
    ) -> list[RunRow]:
        await self._threads.row(thread_id, principal)
        statuses = [status] if status else None
        rows = await self._runtime.state.call(
            self.store.of_thread(thread_id, statuses=statuses, limit=limit, offset=offset)
        )
        return [row for row in rows if principal.may_use(row.owner)]

    async def delete(self, row: RunRow) -> None:
        if row.status in ACTIVE_STATUSES:
            raise RunConflict(f"run {row.run_id} is {row.status}: cancel it first")
        await self._runtime.state.call(self.store.delete(row.run_id))

    async def cancel(self, row: RunRow, action: str) -> None:
        await self._runtime.state.call(self.store.request_cancel(row.run_id, action, time.time()))
        task = self._tasks.get(row.run_id)
        if task is not None:
            self._cancel_local(row.run_id, task, action)
        self._notify()

    async def wait_final(self, run_id: str) -> RunRow | None:
        """The run once it ended (None if it was deleted, as a rolled-back run is)."""
        while True:
            changed = self._changed
            row = await self._runtime.state.call(self.store.get(run_id))
            if row is None or row.status in FINAL_STATUSES:
                return row
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), JOIN_POLL_SECONDS if run_id not in self._tasks else 5)

    async def events(self, run_id: str, after: int) -> AsyncIterator[tuple[int, str, bytes]]:
        """The run's stored events after ``after``, then new ones as they come, until it ended."""
        while True:
            changed = self._changed
            row = await self._runtime.state.call(self.store.get(run_id))
            for event in await self._runtime.state.call(self.store.events_after(run_id, after)):
                after = event.seq
                yield event.seq, event.event, event.data_json.encode()
            if row is None or row.status in FINAL_STATUSES:
                # Events written between the two reads above.
                for event in await self._runtime.state.call(self.store.events_after(run_id, after)):
                    yield event.seq, event.event, event.data_json.encode()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), JOIN_POLL_SECONDS if run_id not in self._tasks else 5)
