"""``/health`` (the report operators read), ``/health/live`` and ``/health/ready`` (the probes)."""

from __future__ import annotations

import asyncio
import time

import structlog
from litestar import Controller, Response, get
from litestar.datastructures import State

from langchain_platform import __version__
from langchain_platform.context import PlatformContext, platform_context
from langchain_platform.errors import ServiceUnavailable
from langchain_platform.health.schemas import (
    CheckpointerHealth,
    HealthReport,
    HealthStatus,
    LlmHealth,
    ProbeStatus,
)

# A probe must answer fast even when the database hangs: a slow ping counts as a failed one.
PING_TIMEOUT_SECONDS = 2.0
NO_LLM_KEY_REASON = "no LLM key: set OPENAI_API_KEY (or ANTHROPIC_API_KEY)"

_log = structlog.get_logger("langchain_platform.health")


async def _checkpointer_ok(context: PlatformContext) -> bool:
    try:
        return await asyncio.wait_for(context.require_runtime().ping_checkpointer(), PING_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to ping means "not ok", and is worth a log line
        _log.warning("checkpointer ping failed", error=repr(exc))
        return False


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/")
    async def health(self, state: State) -> Response[HealthReport]:
        """Full report; 200 unless ``unhealthy`` (checkpointer down), then 503."""
        context = platform_context(state)
        settings = context.settings
        runtime = context.require_runtime().health()
        checkpointer_ok = await _checkpointer_ok(context)
        reasons = list(runtime.reasons)
        if not settings.llm_configured and not any("OPENAI_API_KEY" in r for r in reasons):
            reasons.insert(0, NO_LLM_KEY_REASON)
        if not checkpointer_ok:
            reasons.append(
                f"checkpointer ({runtime.checkpointer_backend}) does not answer: check CHECKPOINTER_URL"
            )
        maintenance = context.flags.current().maintenance
        if maintenance:
            reasons.append('maintenance mode is on: POST /api/admin/maintenance {"enabled": false} ends it')
        if context.draining:
            reasons.append("shutting down (SIGTERM received): new agent runs are refused")
        status: HealthStatus
        if not checkpointer_ok:
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

    @get("/ready")
    async def ready(self, state: State) -> ProbeStatus:
        """200 when this instance should get traffic; 503 while draining, in maintenance or DB down."""
        context = platform_context(state)
        if context.draining:
            raise ServiceUnavailable("not ready: shutting down (SIGTERM received)", retry_after=5)
        flags = context.flags.current()
        if flags.maintenance:
            raise ServiceUnavailable(
                "not ready: maintenance mode is on", retry_after=flags.retry_after_seconds
            )
        if not await _checkpointer_ok(context):
            raise ServiceUnavailable("not ready: the checkpointer does not answer", retry_after=5)
        return ProbeStatus(status="ready")
