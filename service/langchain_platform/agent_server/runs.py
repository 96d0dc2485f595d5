"""Runs of the Agent Server API on the platform's runtime: ``/threads/{id}/runs/wait|stream`` and the
stateless ``/runs/wait|stream``.

A threaded run takes the thread's run lease through ``AgentRuntime.prepare_run`` before the answer
starts, exactly like ``/api/enterprise/agents/{name}/invoke``: a busy thread is a 409 (the
``reject`` multitask strategy) on every worker and replica, and the run executes under the same
time limit, metrics, failure mapping and cancelled-turn record (``AgentRun.drive``). A stateless run
is compiled without a checkpointer and stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from langchain_platform.agent_server.assistants import agent_name
from langchain_platform.agent_server.errors import ThreadMissing, Unsupported
from langchain_platform.agent_server.message_events import MessageEvents
from langchain_platform.agent_server.run_webhooks import RunWebhooks, webhook_payload
from langchain_platform.agent_server.schemas import RunConfig, RunCreate
from langchain_platform.agent_server.serialization import to_builtins
from langchain_platform.agent_server.stream_modes import GraphMode, StreamModes, event_name, split_chunk
from langchain_platform.agent_server.thread_store import ThreadRow
from langchain_platform.agent_server.threads import Threads
from langchain_platform.agents.agent_run import AgentRun, Graph
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.domain_errors import DomainError
from langchain_platform.errors import failure_problem
from langchain_platform.principals import Principal

RunEvent = tuple[str, Any]
Emit = Callable[[str, Any], Awaitable[None]]

_log = structlog.get_logger("langchain_platform.agent_server")


@dataclass(frozen=True)
class PreparedRun:
    """A run whose lease is held (threaded) and whose answer has not started yet."""

    run: AgentRun
    body: RunCreate
    modes: StreamModes
    thread: ThreadRow | None

    @property
    def run_id(self) -> str:
        return str(self.run.run_id)

    @property
    def content_location(self) -> str:
        if self.thread is None:
            return f"/runs/{self.run_id}"
        return f"/threads/{self.thread.thread_id}/runs/{self.run_id}"


def refuse_unsupported(body: RunCreate, stateless: bool, background: bool = False) -> None:
    """Refuse what this server does not do; ``background``: the run goes through the run table, where
    the other multitask strategies, ``after_seconds`` and resumable streams are served. The controllers
    send such runs there and the stateless body type admits neither a checkpoint nor
    ``on_completion=keep``: this guards the services against any other caller."""
    if not background and body.multitask_strategy not in (None, "reject"):
        raise Unsupported(
            f"multitask_strategy {body.multitask_strategy!r} runs through the run table: "
            "it is not supported here"
        )
    refused = {
        "after_seconds": not background and bool(body.after_seconds),
        "stream_resumable": body.stream_resumable and not background,
        "on_completion=keep": stateless and body.on_completion == "keep",
        "checkpoint (stateless run)": stateless and (body.checkpoint_id or body.checkpoint) is not None,
    }
    named = [name for name, present in refused.items() if present]
    if named:
        raise Unsupported(f"not supported by this server: {', '.join(named)}")


def graph_input(body: RunCreate) -> Any:
    """The command when it asks for anything, else the input: a command takes the place of the input
    (the SDK calls the two exclusive but sends both if asked, and a 422 for it has no place in the
    OpenAPI document, where every field is optional)."""
    command = body.command
    given = (
        {} if command is None else {"resume": command.resume, "update": command.update, "goto": command.goto}
    )
    asked = {name: value for name, value in given.items() if value is not None}
    return Command(**asked) if asked else body.input


def run_config(base: RunnableConfig, body: RunCreate) -> RunnableConfig:
    """The run's own config (trace labels, thread id) with what the caller added; its thread id wins,
    and LangGraph's internal keys (``__pregel_*`` and the like) cannot be set from outside."""
    user = body.config or RunConfig()
    given = {key: value for key, value in user.configurable.items() if not key.startswith("__")}
    configurable = {**given, **base.get("configurable", {})}
    checkpoint_id = body.checkpoint_id or (body.checkpoint.checkpoint_id if body.checkpoint else None)
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    config: RunnableConfig = {
        **base,
        "configurable": configurable,
        "tags": [*base.get("tags", []), *user.tags],
        "metadata": {**(body.metadata or {}), **base.get("metadata", {})},
    }
    if user.recursion_limit is not None:
        config["recursion_limit"] = user.recursion_limit
    return config


def _graph_options(body: RunCreate) -> dict[str, Any]:
    options: dict[str, Any] = {
        "interrupt_before": body.interrupt_before,
        "interrupt_after": body.interrupt_after,
    }
    durability = body.durability
    if durability is None and body.checkpoint_during is not None:
        durability = "async" if body.checkpoint_during else "exit"
    if durability is not None:
        options["durability"] = durability
    return options


def error_event(exc: BaseException) -> dict[str, Any]:
    """The ``error`` event's data: what failed (vetted text only, as in problem details)."""
    problem = failure_problem(exc if isinstance(exc, Exception) else RuntimeError())
    kind = type(exc).__name__ if isinstance(exc, DomainError) else "InternalServerError"
    return {"error": kind, "message": problem.detail, "status": problem.status}


class Runs:
    def __init__(self, runtime: AgentRuntime, threads: Threads) -> None:
        self._runtime = runtime
        self._threads = threads
        self.webhooks = RunWebhooks(runtime)
        # Streams whose client left with on_disconnect=continue: kept referenced until they end.
        self._detached: set[asyncio.Task[None]] = set()

    async def prepare(
        self, thread_id: str | None, body: RunCreate, principal: Principal, *, background: bool = False
    ) -> PreparedRun:
        """Check everything and take the thread's lease; every refusal happens here, before the answer."""
        refuse_unsupported(body, stateless=thread_id is None, background=background)
        modes = StreamModes.parse(body.stream_mode)
        agent = agent_name(self._runtime, body.assistant_id)
        if not background:  # a background run's webhook is checked at creation and sent by its worker
            await self.webhooks.check(body.webhook)
        if thread_id is None:
            run = await self._runtime.prepare_stateless_run(agent)
            return PreparedRun(run=run, body=body, modes=modes, thread=None)
        try:
            thread = await self._threads.row(thread_id, principal)
        except ThreadMissing:
            if body.if_not_exists != "create":
                raise
            thread = await self._threads.ensure(thread_id, principal)
        run = await self._runtime.prepare_run(agent, thread_id, principal=principal)
        return PreparedRun(run=run, body=body, modes=modes, thread=replace(thread, agent=agent))

    async def _finish(self, prepared: PreparedRun, failed: bool) -> None:
        """Record how the run left its thread (idle, interrupted, error), then free the thread."""
        try:
            thread = prepared.thread
            if thread is not None:
                outcome = "error"
                if not failed:
                    graph = await self._runtime.compiled_graph(prepared.run.spec.name)
                    snapshot = await graph.aget_state({"configurable": {"thread_id": thread.thread_id}})
                    outcome = "interrupted" if snapshot.interrupts else "idle"
                await self._threads.record_outcome(thread, outcome)
        except DomainError as exc:
            _log.warning("could not record the run's outcome", run_id=prepared.run_id, error=exc.detail)
        finally:
            await prepared.run.release()

    async def wait(self, prepared: PreparedRun) -> Any:
        """The run's final values; a failure is answered in the body (``__error__``), as the SDK expects."""
        body = prepared.body

        async def work(graph: Graph, config: RunnableConfig) -> Any:
            return await graph.ainvoke(graph_input(body), run_config(config, body), **_graph_options(body))

        failed = True
        result: Any = None
        try:
            result = to_builtins(await prepared.run.drive(work))
            failed = False
        except Exception as exc:
            result = {"__error__": error_event(exc)}
        finally:
            await asyncio.shield(self._finish(prepared, failed))
        self._notify(prepared, "error" if failed else "success", result)
        return result

    def _notify(self, prepared: PreparedRun, status: str, result: Any) -> None:
        """Send the run's webhook, if it asked for one."""
        body = prepared.body
        if body.webhook is None:
            return
        payload = webhook_payload(
            run_id=prepared.run_id,
            thread_id=prepared.thread.thread_id if prepared.thread is not None else None,
            assistant_id=body.assistant_id,
            status=status,
            metadata=body.metadata or {},
            result=result,
        )
        self.webhooks.send(body.webhook, payload)

    def stream(self, prepared: PreparedRun) -> AsyncIterator[RunEvent]:
        """The run's events, ``metadata`` first; it runs in its own task, so a slow client cannot stall
        it; a client that leaves cancels it unless ``on_disconnect`` is ``continue``."""
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()

        last: dict[str, Any] = {"values": None}

        async def emit(event: str, data: Any) -> None:
            if event in ("values", "error"):
                last["values" if event == "values" else "error"] = data
            await queue.put((event, data))

        async def produce() -> None:
            try:
                succeeded = await self.execute(prepared, emit)
                result = last["values"] if succeeded else {"__error__": last.get("error")}
                self._notify(prepared, "success" if succeeded else "error", to_builtins(result))
            finally:
                await queue.put(None)

        task = asyncio.create_task(produce(), name=f"agent-server-run-{prepared.run_id}")
        keep_running = prepared.body.on_disconnect == "continue"

        async def events() -> AsyncIterator[RunEvent]:
            try:
                while (item := await queue.get()) is not None:
                    yield item
            finally:
                if not task.done():
                    if keep_running:
                        self._detached.add(task)
                        task.add_done_callback(self._detached.discard)
                    else:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task

        return events()

    async def execute(
        self, prepared: PreparedRun, emit: Emit, *, run_id: str | None = None, attempt: int = 1
    ) -> bool:
        """Run the graph, emitting ``metadata`` first, its stream, and ``error`` if it fails; record
        the thread's outcome and free it. True when it succeeded; a cancellation propagates."""
        failed = True
        try:
            await emit("metadata", {"run_id": run_id or prepared.run_id, "attempt": attempt})
            await prepared.run.drive(lambda graph, config: self._stream_graph(prepared, graph, config, emit))
            failed = False
        except asyncio.CancelledError:
            failed = False  # cancelled, not failed: its turn is recorded as cancelled, the thread idle
            raise
        except Exception as exc:
            if not isinstance(exc, DomainError):
                _log.exception("agent server run failed", run_id=run_id or prepared.run_id)
            await emit("error", error_event(exc))
        finally:
            await asyncio.shield(self._finish(prepared, failed))
        return not failed

    async def _stream_graph(
        self, prepared: PreparedRun, graph: Graph, config: RunnableConfig, emit: Emit
    ) -> None:
        body, modes = prepared.body, prepared.modes
        stream_input = graph_input(body)
        config = run_config(config, body)
        subgraphs = body.stream_subgraphs
        options = _graph_options(body)
        messages = MessageEvents() if modes.messages else None

        async def send(item: Any) -> None:
            namespace, mode, data = split_chunk(item, subgraphs)
            for event, payload in messages.feed(mode, data) if messages is not None else ():
                await emit(event_name(event, namespace), payload)
            if mode in modes.graph_modes:
                await emit(event_name(mode, namespace), data)

        if not modes.events:
            chunks = graph.astream(
                stream_input, config, stream_mode=modes.streamed, subgraphs=subgraphs, **options
            )
            async for item in chunks:
                await send(item)
        else:
            # astream_events carries the graph's own stream as the root run's on_chain_stream events.
            wanted: list[GraphMode] = modes.streamed or ["values"]
            events = graph.astream_events(
                stream_input, config, version="v2", stream_mode=wanted, subgraphs=subgraphs, **options
            )
            root = str(prepared.run.run_id)
            async for event in events:
                if event["event"] == "on_chain_stream" and event["run_id"] == root:
                    await send(event["data"]["chunk"])
                else:
                    await emit("events", event)
        for name, payload in messages.finish() if messages is not None else ():
            await emit(name, payload)
