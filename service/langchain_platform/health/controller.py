"""``/health`` (the report operators read), ``/health/live`` and ``/health/ready`` (the probes)."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec

from langchain_platform import __version__
from langchain_platform.agents.errors import STOPPING_RETRY_AFTER_SECONDS
from langchain_platform.context import platform_context
from langchain_platform.errors import ServiceUnavailable, error_responses
from langchain_platform.health.schemas import (
    CheckpointerHealth,
    HealthReport,
    HealthStatus,
    LlmHealth,
    ProbeStatus,
)
from langchain_platform.principals import Principal
from langchain_platform.state.errors import STATE_RETRY_AFTER_SECONDS

_UNHEALTHY = ResponseSpec(
    data_container=HealthReport,
    description="unhealthy: the checkpointer does not answer, or agents are required but none loaded",
    generate_examples=False,
)


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/", responses={503: _UNHEALTHY})
    async def health(self, request: Request[Any, Any, Any]) -> Response[HealthReport]:
        """Full report; 200 unless ``unhealthy`` (checkpointer down, required agents missing), then 503.

        Reasons name files and errors only for a caller with a valid key (the path needs none).
        """
        context = platform_context(request.app.state)
        settings = context.settings
        # The API-key gate has already checked any key presented, on this exempt path too.
        detailed = not settings.api_key_enabled or isinstance(request.scope.get("user"), Principal)
        runtime = context.require_runtime().health(detailed)
        checkpointer_ok = await context.require_checkpointer_probe().ok()
        # The runtime's reasons already name the missing LLM key, the agents file and the store.
        reasons = list(runtime.reasons)
        if not checkpointer_ok:
            reasons.append(
                f"checkpointer ({runtime.checkpointer_backend}) does not answer: check CHECKPOINTER_URL"
            )
        maintenance = context.flags.current().maintenance
        if maintenance:
            reasons.append('maintenance mode is on: POST /api/admin/maintenance {"enabled": false} ends it')
        if context.draining:
            reasons.append("shutting down (SIGTERM received): new agent runs are refused")
        if context.agents_missing:
            reasons.append(f"not ready: {context.agents_missing}")
        status: HealthStatus
        if not checkpointer_ok or context.agents_missing:
            status = "unhealthy"
        elif maintenance:
            status = "maintenance"
        elif not runtime.agents_loaded:
            status = "degraded"
        else:
            status = "healthy"
        report = HealthReport(
            status=status,
            version=__version__,
            uptime_seconds=round(time.monotonic() - context.started_at, 3),
            enterprise_agents_loaded=runtime.agents_loaded,
            chains_loaded=runtime.chains_loaded,
            agents_count=runtime.agents_count,
            chains_count=runtime.chains_count,
            checkpointer=CheckpointerHealth(backend=runtime.checkpointer_backend, ok=checkpointer_ok),
            llm=LlmHealth(provider=settings.llm_provider, configured=settings.llm_configured),
            reasons=reasons,
        )
        return Response(report, status_code=503 if status == "unhealthy" else 200)

    @get("/live", sync_to_thread=False)
    def live(self) -> ProbeStatus:
        return ProbeStatus(status="alive")

    @get("/ready", responses=error_responses(503))
    async def ready(self, request: Request[Any, Any, Any]) -> ProbeStatus:
        """200 when this instance should get traffic; 503 while draining, in maintenance, DB down or
        without the agents it must serve."""
        context = platform_context(request.app.state)
        if context.draining:
            raise ServiceUnavailable(
                "not ready: shutting down (SIGTERM received)", retry_after=STOPPING_RETRY_AFTER_SECONDS
            )
        flags = context.flags.current()
        if flags.maintenance:
            raise ServiceUnavailable(
                "not ready: maintenance mode is on", retry_after=flags.retry_after_seconds
            )
        if context.agents_missing:
            # Nothing but a new release or configuration brings agents: retrying soon is pointless.
            raise ServiceUnavailable(f"not ready: {context.agents_missing}")
        if not await context.require_checkpointer_probe().ok():
            raise ServiceUnavailable(
                "not ready: the checkpointer does not answer", retry_after=STATE_RETRY_AFTER_SECONDS
            )
        return ProbeStatus(status="ready")
