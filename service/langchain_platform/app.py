"""The Litestar application factory (``uvicorn --factory langchain_platform.app:create_app``)."""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import ASGIApp

from langchain_platform import __version__
from langchain_platform.access import provide_principal
from langchain_platform.admin import AdminController, SessionsController
from langchain_platform.agent_server import AgentServerPlugin
from langchain_platform.agents.controllers import AgentController, ChainController
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.auth import ApiKeyGate, KeyStore, path_is_exempt
from langchain_platform.context import PlatformContext, platform_context
from langchain_platform.errors import EXCEPTION_HANDLERS
from langchain_platform.flags import FlagsStore
from langchain_platform.health import HealthController
from langchain_platform.health.agents_requirement import missing_agents
from langchain_platform.health.checkpointer_probe import CheckpointerProbe
from langchain_platform.health.probe_answers import LIVE_PATH, READY_PATH, ProbeAnswers
from langchain_platform.http_methods import HttpMethods
from langchain_platform.observability.logging import configure_logging, current_level, set_level
from langchain_platform.observability.metrics import mark_worker_dead, metrics_endpoint
from langchain_platform.observability.requests import RequestObserver
from langchain_platform.openai_compat.controllers import OpenAIController
from langchain_platform.openapi_document import declare_operations, openapi_config
from langchain_platform.openapi_schema import ChainInputSchemaPlugin, ClosedStructSchemaPlugin
from langchain_platform.request_bodies import JsonBodyRequest
from langchain_platform.settings import Settings
from langchain_platform.shutdown import install_signal_handlers, stop_runs
from langchain_platform.webhooks.controllers import RunsController, WebhookController
from langchain_platform.webhooks.runs import WebhookRuns

_log = structlog.get_logger("langchain_platform.app")

_TRACING_SWITCHES = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING", "LANGCHAIN_TRACING_V2")


def provide_runtime(request: Request[Any, Any, Any]) -> AgentRuntime:
    """Dependency ``runtime``: the process's agent runtime."""
    return platform_context(request.app.state).require_runtime()


def provide_webhook_runs(request: Request[Any, Any, Any]) -> WebhookRuns:
    """Dependency ``webhook_runs``: the process's webhook runs."""
    return platform_context(request.app.state).require_webhook_runs()


def configure_langsmith(settings: Settings) -> None:
    """Point langchain's tracer at LangSmith, or make sure it sends nothing.

    The langsmith SDK reads (and caches) these variables itself, so they are set before any run.
    """
    if settings.langsmith_tracing and settings.langsmith_api_key:
        for name in _TRACING_SWITCHES:
            os.environ.pop(name, None)
        os.environ["LANGSMITH_TRACING"] = "true"
        os.environ["LANGSMITH_API_KEY"] = settings.langsmith_api_key
        os.environ["LANGSMITH_PROJECT"] = settings.langsmith_project
        if settings.langsmith_endpoint:
            os.environ["LANGSMITH_ENDPOINT"] = settings.langsmith_endpoint
    else:
        for name in _TRACING_SWITCHES:
            os.environ[name] = "false"
    with contextlib.suppress(ImportError):
        from langsmith import utils as langsmith_utils

        cache_clear = getattr(langsmith_utils.get_env_var, "cache_clear", None)
        if cache_clear is not None:
            cache_clear()


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    context = platform_context(app.state)
    settings = context.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = await AgentRuntime.start(settings)
    context.runtime = runtime
    context.webhook_runs = WebhookRuns(runtime)
    context.checkpointer_probe = CheckpointerProbe(runtime.ping_checkpointer)
    context.agents_missing = missing_agents(settings, runtime)
    app.state.runtime = runtime
    restore_signals = install_signal_handlers(context, runtime)
    # Everything built so far (modules, compiled graphs, clients) lives as long as the process:
    # frozen, the collector stops re-scanning those hundreds of thousands of objects on every full
    # collection that request garbage triggers.
    gc.freeze()
    gc.enable()  # `serve` imports the app with the collector paused (serve_app.py)
    health = runtime.health()
    _log.info(
        "service started",
        version=__version__,
        agents=health.agents_count,
        chains=health.chains_count,
        checkpointer=health.checkpointer_backend,
        llm_provider=settings.llm_provider,
        auth=settings.api_key_enabled,
        langsmith_tracing=settings.langsmith_tracing,
    )
    try:
        yield
    finally:
        restore_signals()
        # Without a SIGTERM drain (SIGINT, test client) runs still get the grace period here.
        drained_for = time.monotonic() - context.draining_since if context.draining_since else 0.0
        context.start_draining()
        if not await runtime.wait_idle(max(0.0, settings.shutdown_grace_seconds - drained_for)):
            await stop_runs(runtime)
        await runtime.close()
        mark_worker_dead(os.getpid())
        _log.info("service stopped")


def _apply_shared_flags(context: PlatformContext) -> None:
    """Adopt the log level another worker set through ``POST /api/admin/log-level``."""
    wanted = context.flags.current().log_level or context.settings.log_level
    if wanted != current_level():
        set_level(wanted)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    configure_langsmith(settings)
    keys = KeyStore.from_settings(settings)
    context = PlatformContext(settings=settings, flags=FlagsStore(settings.data_dir), keys=keys)
    app = Litestar(
        # In this order, the OpenAPI document lists the paths as it always has.
        route_handlers=[
            HealthController,
            AdminController,
            metrics_endpoint,
            AgentController,
            ChainController,
            WebhookController,
            RunsController,
            SessionsController,
            OpenAIController,
        ],
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "webhook_runs": Provide(provide_webhook_runs, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[_lifespan],
        state=State({"platform": context}),
        request_max_body_size=settings.max_request_bytes,
        request_class=JsonBodyRequest,
        openapi_config=openapi_config(__version__),
        plugins=[
            ClosedStructSchemaPlugin(),
            ChainInputSchemaPlugin(lambda: context.require_runtime().chain_variable_sets()),
            AgentServerPlugin(),
        ],
        logging_config=None,
    )
    declare_operations(app, settings)
    handler: ASGIApp = HttpMethods(app.asgi_handler, app.asgi_router.handle_routing)
    if settings.api_key_enabled:
        handler = ApiKeyGate(handler, keys, settings.auth_exempt_paths)
    keyless_probes = tuple(
        path
        for path in (LIVE_PATH, READY_PATH)
        if not settings.api_key_enabled or path_is_exempt(path, settings.auth_exempt_paths)
    )
    if keyless_probes:
        handler = ProbeAnswers(handler, context, app.asgi_router.handle_routing, keyless_probes)
    # Outermost wrapper, so 401, 404, 405 and other pre-routing answers are logged and counted too.
    app.asgi_handler = RequestObserver(handler, before_request=lambda: _apply_shared_flags(context))
    return app
