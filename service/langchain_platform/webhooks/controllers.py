"""HTTP endpoints of webhooks: the signed inbound event and the run status it points to."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post

from langchain_platform.access import require_agents_scope
from langchain_platform.errors import error_responses
from langchain_platform.guards import require_agents_available
from langchain_platform.principals import Principal
from langchain_platform.request_bodies import decode_body
from langchain_platform.state.store import RunView
from langchain_platform.webhooks.runs import WebhookRuns
from langchain_platform.webhooks.schemas import WebhookAccepted, WebhookEvent


class WebhookController(Controller):
    path = "/api/webhooks"
    guards = [require_agents_available]
    tags = ["webhooks"]

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
        self, agent: str, request: Request[Any, Any, Any], webhook_runs: WebhookRuns
    ) -> WebhookAccepted:
        body = await request.body()
        message = webhook_runs.authenticate(request.headers, body)
        event: WebhookEvent = decode_body(body, WebhookEvent)
        run = await webhook_runs.submit(agent, event, message)
        return WebhookAccepted(
            run_id=str(run.run_id),
            thread_id=run.thread_id,
            status="queued",
            status_url=f"/api/runs/{run.run_id}",
        )


class RunsController(Controller):
    path = "/api/runs"
    guards = [require_agents_scope]
    tags = ["webhooks"]

    @get(
        "/{run_id:str}",
        summary="Status and result of a webhook run (runs of webhook events: admin keys only)",
        responses=error_responses(400, 401, 403, 404, 503),
    )
    async def get_run(self, run_id: str, webhook_runs: WebhookRuns, principal: Principal) -> RunView:
        return await webhook_runs.status(run_id, principal)
