"""HTTP endpoints of agents, threads, sessions, chains, webhooks and webhook runs.

Handlers stay thin: the ``runtime`` dependency (the process's ``AgentRuntime``) does the work and
raises the problem-details errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from langchain_platform.agents.agent_run import StreamEvent
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.agents.schemas import (
    AgentList,
    ChainList,
    ChainRequest,
    ChainResponse,
    ClearSessionsRequest,
    ClearSessionsResponse,
    InvokeRequest,
    InvokeResponse,
    RunView,
    ThreadView,
    WebhookAccepted,
    WebhookEvent,
)
from langchain_platform.agents.webhooks import SIGNATURE_HEADER, signature_valid
from langchain_platform.errors import error_responses
from langchain_platform.guards import require_agents_available

# Error answers per kind of operation (every one may be 401 without a key, 503 in maintenance).
_LISTING = error_responses(401, 503)
_LOOKUP = error_responses(400, 401, 404, 503)
_AGENT_RUN = error_responses(400, 401, 404, 409, 413, 502, 503, 504)


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body or b"{}", type=kind)
    except msgspec.DecodeError as exc:
        raise ClientException(f"invalid request body: {exc}") from exc


async def _sse(events: AsyncIterator[StreamEvent]) -> AsyncIterator[ServerSentEventMessage]:
    async for event, payload in events:
        yield ServerSentEventMessage(event=event, data=msgspec.json.encode(payload).decode())


class AgentController(Controller):
    path = "/api/enterprise/agents"
    guards = [require_agents_available]
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
    async def invoke(self, name: str, data: InvokeRequest, runtime: AgentRuntime) -> InvokeResponse:
        run = await runtime.prepare_run(name, data.thread_id)
        return await run.invoke(data.input)

    @post(
        "/{name:str}/stream",
        status_code=200,
        summary="Run an agent, streaming server-sent events",
        media_type="text/event-stream",
        response_description="Events: token, tool, then done (the invoke answer) or error (a problem)",
        responses=_AGENT_RUN,
    )
    async def stream(self, name: str, data: InvokeRequest, runtime: AgentRuntime) -> ServerSentEvent:
        run = await runtime.prepare_run(name, data.thread_id)
        # Proxies must not buffer the stream, or tokens arrive all at once at the end.
        return ServerSentEvent(_sse(run.stream(data.input)), headers={"X-Accel-Buffering": "no"})

    @get("/{name:str}/threads/{thread_id:str}", summary="Read a conversation", responses=_LOOKUP)
    async def get_thread(self, name: str, thread_id: str, runtime: AgentRuntime) -> ThreadView:
        return await runtime.thread(name, thread_id)

    @delete(
        "/{name:str}/threads/{thread_id:str}",
        status_code=204,
        summary="Delete a conversation",
        responses=error_responses(400, 401, 404, 409, 503),
    )
    async def delete_thread(self, name: str, thread_id: str, runtime: AgentRuntime) -> None:
        await runtime.delete_thread(name, thread_id)


class ChainController(Controller):
    path = "/api/chains"
    guards = [require_agents_available]
    tags = ["chains"]

    @get("/", summary="List chains", responses=_LISTING)
    async def list_chains(self, runtime: AgentRuntime) -> ChainList:
        return runtime.list_chains()

    @post(
        "/{name:str}/invoke",
        status_code=200,
        summary="Run a chain",
        responses=error_responses(400, 401, 404, 413, 502, 503, 504),
    )
    async def invoke(self, name: str, data: ChainRequest, runtime: AgentRuntime) -> ChainResponse:
        return await runtime.invoke_chain(name, data.input)


class WebhookController(Controller):
    path = "/api/webhooks"
    guards = [require_agents_available]
    tags = ["webhooks"]

    @post(
        "/{agent:str}",
        status_code=202,
        summary="Accept a signed event and run the agent in the background",
        responses=error_responses(400, 401, 404, 409, 413, 503),
    )
    async def receive(
        self, agent: str, request: Request[Any, Any, Any], runtime: AgentRuntime
    ) -> WebhookAccepted:
        secret = runtime.webhook_secret()
        body = await request.body()
        if not signature_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise NotAuthorizedException(
                f"invalid or missing {SIGNATURE_HEADER}: send sha256=<hex HMAC-SHA256 of the raw body>"
            )
        event: WebhookEvent = _decode(body, WebhookEvent)
        run = await runtime.submit_webhook(agent, event.input, event.thread_id, event.callback_url)
        return WebhookAccepted(
            run_id=str(run.run_id),
            thread_id=run.thread_id,
            status="queued",
            status_url=f"/api/runs/{run.run_id}",
        )


class RunsController(Controller):
    path = "/api/runs"
    tags = ["webhooks"]

    @get("/{run_id:str}", summary="Status and result of a webhook run", responses=_LOOKUP)
    async def get_run(self, run_id: str, runtime: AgentRuntime) -> RunView:
        return await runtime.run_status(run_id)


class SessionsController(Controller):
    path = "/api/admin/sessions"
    tags = ["admin"]

    @post(
        "/clear",
        status_code=200,
        summary="Delete stuck or idle conversations and expired thread leases",
        responses=error_responses(400, 401, 413, 503),
    )
    async def clear(self, request: Request[Any, Any, Any], runtime: AgentRuntime) -> ClearSessionsResponse:
        # The body is optional (no body: expired leases only), so it is decoded by hand.
        body: ClearSessionsRequest = _decode(await request.body(), ClearSessionsRequest)
        return await runtime.clear_sessions(body.older_than_seconds, body.thread_ids)


ROUTE_HANDLERS = [AgentController, ChainController, WebhookController, RunsController, SessionsController]
