"""HTTP endpoints of webhooks: the signed inbound event and the run status it points to.

Both reach the Agent Server's run table, so they take its services (``agent_server``) and answer its
refusals (a busy thread's 409, another owner's thread's 404) the way the Agent Server API does.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide

from langchain_platform.access import require_agents_scope
from langchain_platform.agent_server.errors import AgentServerError
from langchain_platform.agent_server.http import agent_server_error, provide_agent_server
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.errors import error_responses
from langchain_platform.guards import require_agents_available
from langchain_platform.principals import Principal
from langchain_platform.request_bodies import decode_body
from langchain_platform.webhooks.run_views import RunView
from langchain_platform.webhooks.runs import WebhookRuns
from langchain_platform.webhooks.schemas import WebhookAccepted, WebhookEvent

_AGENT_SERVER = {"agent_server": Provide(provide_agent_server)}


class WebhookController(Controller):
    path = "/api/webhooks"
    guards = [require_agents_available]
    tags = ["webhooks"]
    dependencies = _AGENT_SERVER
    exception_handlers = {AgentServerError: agent_server_error}

    @post(
        "/{agent:str}",
        status_code=202,
        summary="Accept a signed event and run the agent in the background",
        description=(
            "Signed with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature); "
            "the body names its agent. An id already received answers 409."
        ),
        responses=error_responses(400, 401, 404, 409, 413, 503),
    )
    async def receive(
        self,
        agent: str,
        request: Request[Any, Any, Any],
        webhook_runs: WebhookRuns,
        agent_server: AgentServer,
    ) -> WebhookAccepted:
        body = await request.body()
        message = webhook_runs.authenticate(request.headers, body)
        event: WebhookEvent = decode_body(body, WebhookEvent)
        return await webhook_runs.submit(agent_server, agent, event, message)


class RunsController(Controller):
    path = "/api/runs"
    guards = [require_agents_scope]
    tags = ["webhooks"]
    dependencies = _AGENT_SERVER

    @get(
        "/{run_id:str}",
        summary="Status and result of a webhook run (runs of webhook events: admin keys only)",
        responses=error_responses(400, 401, 403, 404, 503),
    )
    async def get_run(
        self, run_id: str, webhook_runs: WebhookRuns, agent_server: AgentServer, principal: Principal
    ) -> RunView:
        return await webhook_runs.status(agent_server, run_id, principal)
