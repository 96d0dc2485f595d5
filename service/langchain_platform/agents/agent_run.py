"""One agent run on one thread, from the moment its thread lease is held until it is released.

The lease is taken before the HTTP answer starts (so a busy thread is a plain 409, even for a
stream) and released when the run ends, whichever way it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar
from uuid import UUID

import msgspec
import structlog
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from langchain_platform.agents.errors import RunTimeout, ThreadAwaitsResume
from langchain_platform.agents.failures import outcome_label, run_failure
from langchain_platform.agents.interrupted_turns import close_interrupted_turn
from langchain_platform.agents.middleware import ModelSettings
from langchain_platform.agents.registry import AgentSpec
from langchain_platform.agents.run_deadlines import RunDeadlines
from langchain_platform.agents.schemas import InvokeResponse
from langchain_platform.agents.usage import UsageCallback
from langchain_platform.domain_errors import DomainError
from langchain_platform.observability.metrics import agent_run_duration_seconds, agent_runs_in_flight
from langchain_platform.settings import Durability
from langchain_platform.state.backend import StateBackend
from langchain_platform.state.errors import state_errors
from langchain_platform.state.run_guard import Lease
from langchain_platform.state.store import PlatformStore

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
Graph = CompiledStateGraph[Any, Any, Any, Any]
_T = TypeVar("_T")
# What a caller runs as this run (``AgentRun.drive``): the agent's graph, called with the run's config.
GraphWork = Callable[[Graph, RunnableConfig], Awaitable[_T]]
StreamEvent = tuple[str, dict[str, Any]]
# A new user turn, or (a stateless run) the whole conversation.
RunInput = str | list[BaseMessage]
TOOL_RESULT_PREVIEW_CHARS = 2000

_log = structlog.get_logger("langchain_platform.agents")


class InFlight:
    """Counts runs executing in this process (for graceful shutdown and the in-flight gauge)."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self.count += 1
        agent_runs_in_flight.inc()
        try:
            yield
        finally:
            self.count -= 1
            agent_runs_in_flight.dec()


class AgentRun:
    def __init__(
        self,
        *,
        spec: AgentSpec,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        model: str,
        thread_id: str,
        run_id: UUID,
        lease: Lease | None,
        store: PlatformStore,
        state: StateBackend,
        in_flight: InFlight,
        deadlines: RunDeadlines,
        run_timeout_seconds: float,
        llm_timeout_seconds: float,
        model_settings: ModelSettings | None = None,
        durability: Durability | None = None,
    ) -> None:
        self.spec = spec
        self.thread_id = thread_id
        self.run_id = run_id
        self._graph = graph
        self._model = model
        self._lease = lease
        self.store = store
        self._state = state
        self._in_flight = in_flight
        self._deadlines = deadlines
        self._run_timeout = run_timeout_seconds
        self._llm_timeout = llm_timeout_seconds
        self._released = False
        self._model_settings = model_settings
        # When checkpoints are written (CHECKPOINT_DURABILITY); None for a run without a checkpointer.
        self.durability = durability
        # The final answer's finish_reason as the LLM gave it ("stop", "length", ...), once it ran.
        self.finish_reason: str | None = None

    async def release(self) -> None:
        if not self._released and self._lease is not None:  # a stateless run holds no lease
            self._released = True
            try:
                await asyncio.shield(self._lease.release())
            except state_errors() as exc:
                # The lease then expires on its own; the thread is only blocked until then.
                _log.warning("could not release thread lease", thread_id=self.thread_id, error=str(exc))

    def _config(self, usage: UsageCallback) -> RunnableConfig:
        # run_name, tags and metadata label the LangSmith trace; thread_id groups a conversation there.
        return {
            "run_id": self.run_id,
            "run_name": f"agent:{self.spec.name}",
            "tags": ["langchain-platform", f"agent:{self.spec.name}"],
            "metadata": {"agent": self.spec.name, "thread_id": self.thread_id, "model": self._model},
            "configurable": {"thread_id": self.thread_id},
            "callbacks": [usage],
        }

    async def invoke(self, text: RunInput) -> InvokeResponse:
        try:
            return await self._execute(text, emit=None)
        finally:
            await self.release()

    def stream(self, text: RunInput) -> AsyncIterator[StreamEvent]:
        """Start the run now and return its events: ``token``, ``tool``, then ``done``.

        A failed run ends the events by raising its error (a ``DomainError``, or any exception for a
        bug), which the endpoint sends as an ``error`` event. The run executes in its own task: the
        response writer only forwards events, so a slow or vanished client cannot break the run's
        time limit, and a disconnect cancels the run.
        """
        queue: asyncio.Queue[StreamEvent | Exception | None] = asyncio.Queue()

        async def emit(event: str, data: dict[str, Any]) -> None:
            await queue.put((event, data))

        async def produce() -> None:
            try:
                result = await self._execute(text, emit=emit)
                await queue.put(("done", msgspec.to_builtins(result)))
            except DomainError as exc:
                await queue.put(exc)
            except Exception as exc:
                _log.exception("agent stream failed", agent=self.spec.name, run_id=str(self.run_id))
                await queue.put(exc)
            finally:
                await self.release()
                await queue.put(None)

        task = asyncio.create_task(produce(), name=f"stream-{self.run_id}")

        async def events() -> AsyncIterator[StreamEvent]:
            failure: Exception | None = None
            try:
                while (item := await queue.get()) is not None:
                    if isinstance(item, Exception):
                        failure = item  # raised once the run has released its thread (None follows)
                    else:
                        yield item
                if failure is not None:
                    raise failure
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

        return events()

    async def _execute(self, text: RunInput, emit: Emit | None) -> InvokeResponse:
        usage = UsageCallback(self._model, self._llm_timeout)
        if "ask_human" in self.spec.tools and self._lease is not None:
            await self._refuse_pending_question()

        async def work(graph: Graph, config: RunnableConfig) -> str:
            if emit is None:
                final = await graph.ainvoke(
                    _graph_input(text), config, context=self._model_settings, durability=self.durability
                )
                return self._final_text(final.get("messages", []))
            return await self._stream_graph(text, config, emit)

        output = await self.drive(work, usage)
        return InvokeResponse(
            output=output, thread_id=self.thread_id, run_id=str(self.run_id), usage=usage.usage
        )

    async def _refuse_pending_question(self) -> None:
        """Only agents with ``ask_human`` can pause; checked under the lease, before any new input."""
        snapshot = await self._graph.aget_state({"configurable": {"thread_id": self.thread_id}})
        if snapshot.interrupts:
            raise ThreadAwaitsResume(self.thread_id)

    async def drive(self, work: GraphWork[_T], usage: UsageCallback | None = None) -> _T:
        """Run ``work(graph, config)`` as this run: under its time limit, counted in flight and in the
        run metrics, a failure named as a domain error, a turn cut short recorded as cancelled.

        ``config`` labels the trace and carries the thread id; the lease stays held (``release``).
        """
        config = self._config(usage or UsageCallback(self._model, self._llm_timeout))
        started = time.perf_counter()
        failure: BaseException | None = None
        deadline = self._deadlines.start(self._run_timeout)
        with self._in_flight.track():
            try:
                async with deadline:
                    return await work(self._graph, config)
            except BaseException as exc:
                failure = deadline.failure() or exc
                if isinstance(exc, asyncio.CancelledError) or failure is not exc:
                    await self._record_cancelled_turn(config)
                error = self._translate(failure, exc)
                if error is exc:
                    raise
                raise error from exc
            finally:
                agent_run_duration_seconds.labels(
                    agent=self.spec.name, outcome=outcome_label(failure)
                ).observe(time.perf_counter() - started)

    async def _record_cancelled_turn(self, config: RunnableConfig) -> None:
        """The run was cut short (client gone, time limit, service stopping): close its turn as cancelled
        while the lease is still held, so the next turn starts from a well-formed thread."""
        if self._lease is None:
            return  # a stateless run keeps no thread

        async def record() -> None:
            try:
                if await close_interrupted_turn(self._graph, config):
                    _log.info("turn recorded as cancelled", thread_id=self.thread_id, run_id=str(self.run_id))
            except Exception as exc:  # the run already failed; its own error is the one to report
                _log.warning("could not record the cancelled turn", thread_id=self.thread_id, error=repr(exc))

        # Shielded: the cancellation that got us here (or another one) must not cut the record short.
        await asyncio.shield(record())

    def _translate(self, failure: BaseException, original: BaseException) -> BaseException:
        """The exception to raise for a failed run: a domain error, or the original."""
        if isinstance(original, asyncio.CancelledError) and not isinstance(failure, RunTimeout):
            return original  # the client left or the service stops: cancellation must propagate
        if isinstance(original, state_errors()):
            self._state.record_failure(original)
        error = run_failure(failure)
        if error is None:
            _log.error("agent run failed", agent=self.spec.name, run_id=str(self.run_id), exc_info=original)
            return original
        _log.warning(
            "agent run failed",
            agent=self.spec.name,
            thread_id=self.thread_id,
            run_id=str(self.run_id),
            error=type(error).__name__,
            detail=error.detail,
        )
        return error

    async def _stream_graph(self, text: RunInput, config: RunnableConfig, emit: Emit) -> str:
        output = ""
        # With a list of modes, v1 streaming yields (mode, chunk) pairs.
        stream: AsyncIterator[Any] = self._graph.astream(
            _graph_input(text),
            config,
            stream_mode=["messages", "updates"],
            context=self._model_settings,
            durability=self.durability,
        )
        async for mode, chunk in stream:
            if mode == "messages":
                message, metadata = chunk
                if (
                    isinstance(message, AIMessageChunk)
                    and metadata.get("langgraph_node") == "model"
                    and message.text
                ):
                    await emit("token", {"content": str(message.text)})
                continue
            for update in chunk.values():
                for message in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                    if isinstance(message, AIMessage):
                        for call in message.tool_calls:
                            await emit(
                                "tool",
                                {
                                    "type": "call",
                                    "id": call["id"],
                                    "name": call["name"],
                                    "args": call["args"],
                                },
                            )
                        if not message.tool_calls:
                            output = self._final_text([message])
                    elif isinstance(message, ToolMessage):
                        await emit(
                            "tool",
                            {
                                "type": "result",
                                "id": message.tool_call_id,
                                "name": message.name,
                                "status": message.status,
                                "content": str(message.text)[:TOOL_RESULT_PREVIEW_CHARS],
                            },
                        )
        return output

    def _final_text(self, messages: list[Any]) -> str:
        for message in reversed(messages):
            if isinstance(message, AIMessage):
                self.finish_reason = message.response_metadata.get("finish_reason")
                return str(message.text)
        return ""


def _graph_input(text: RunInput) -> dict[str, list[BaseMessage]]:
    return {"messages": [HumanMessage(text)] if isinstance(text, str) else text}
