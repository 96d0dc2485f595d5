"""HTTP endpoints of agents (runs, streams, threads) and chains.

Handlers stay thin: the ``runtime`` dependency (the process's ``AgentRuntime``) does the work and
raises domain errors, which ``errors.py`` answers as problem details.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from langchain_platform.access import require_agents_scope
from langchain_platform.agents.agent_run import StreamEvent
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.agents.schemas import (
    THREAD_ID_PATTERN,
    AgentList,
    ChainList,
    ChainRequest,
    ChainResponse,
    InvokeRequest,
    InvokeResponse,
    ThreadView,
)
from langchain_platform.errors import error_responses, failure_problem
from langchain_platform.guards import require_agents_available
from langchain_platform.principals import Principal

# Error answers per kind of operation (every one may be 401 without a key, 503 in maintenance).
_LISTING = error_responses(401, 403, 503)
_LOOKUP = error_responses(400, 401, 403, 404, 503)
_AGENT_RUN = error_responses(400, 401, 403, 404, 409, 413, 502, 503, 504)
# A thread id in the path obeys the same pattern as in a body: 400, not a lookup of a bad id.
ThreadIdPath = Annotated[str, Parameter(pattern=THREAD_ID_PATTERN, description="letters, digits, . _ : -")]


async def _sse(events: AsyncIterator[StreamEvent]) -> AsyncIterator[ServerSentEventMessage]:
    try:
        async for event, payload in events:
            yield ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode())
    except Exception as exc:  # the run failed after the 200 went out: the last event says how
        problem = failure_problem(exc)
        yield ServerSentEventMessage(event="error", data=msgspec.json.encode(problem).decode())


class AgentController(Controller):
    path = "/api/enterprise/agents"
    guards = [require_agents_scope, require_agents_available]
    tags = ["agents"]

    @get("/", summary="List agents", responses=_LISTING)
    async def list_agents(self, runtime: AgentRuntime) -> AgentList:
        return runtime.list_agents()

    @post(
        "/{name:str}/invoke",
        status_code=200,
        summary="Run an agent and wait for its answer",
        responses=_AGENT_RUN,
    )
    async def invoke(
        self, name: str, data: InvokeRequest, runtime: AgentRuntime, principal: Principal
    ) -> InvokeResponse:
        run = await runtime.prepare_run(name, data.thread_id, principal=principal)
        return await run.invoke(data.input)

    @post(
        "/{name:str}/stream",
        status_code=200,
        summary="Run an agent, streaming server-sent events",
        media_type="text/event-stream",
        response_description="Events: token, tool, then done (the invoke answer) or error (a problem)",
        responses=_AGENT_RUN,
    )
    async def stream(
        self, name: str, data: InvokeRequest, runtime: AgentRuntime, principal: Principal
    ) -> ServerSentEvent:
        run = await runtime.prepare_run(name, data.thread_id, principal=principal)
        # Proxies must not buffer the stream, or tokens arrive all at once at the end.
        return ServerSentEvent(_sse(run.stream(data.input)), headers={"X-Accel-Buffering": "no"})

    @get("/{name:str}/threads/{thread_id:str}", summary="Read a conversation", responses=_LOOKUP)
    async def get_thread(
        self, name: str, thread_id: ThreadIdPath, runtime: AgentRuntime, principal: Principal
    ) -> ThreadView:
        return await runtime.thread(name, thread_id, principal)

    @delete(
        "/{name:str}/threads/{thread_id:str}",
        status_code=204,
        summary="Delete a conversation",
        responses=error_responses(400, 401, 403, 404, 409, 503),
    )
    async def delete_thread(
        self, name: str, thread_id: ThreadIdPath, runtime: AgentRuntime, principal: Principal
    ) -> None:
        await runtime.delete_thread(name, thread_id, principal)


class ChainController(Controller):
    path = "/api/chains"
    guards = [require_agents_scope, require_agents_available]
    tags = ["chains"]

    @get("/", summary="List chains", responses=_LISTING)
    async def list_chains(self, runtime: AgentRuntime) -> ChainList:
        return runtime.list_chains()

    @post(
        "/{name:str}/invoke",
        status_code=200,
        summary="Run a chain",
        responses=error_responses(400, 401, 403, 404, 413, 502, 503, 504),
    )
    async def invoke(self, name: str, data: ChainRequest, runtime: AgentRuntime) -> ChainResponse:
        return await runtime.invoke_chain(name, data.input)
