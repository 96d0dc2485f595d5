"""The Agent Server API as one Litestar plugin: its routes, its dependency and closing its store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.exceptions import MethodNotAllowedException
from litestar.plugins import InitPluginProtocol

from langchain_platform.access import require_agents_scope
from langchain_platform.agent_server.controllers.assistants import (
    AssistantsController,
    assistant_write_refused,
)
from langchain_platform.agent_server.controllers.background_runs import (
    BackgroundStatelessRunsController,
    BackgroundThreadRunsController,
)
from langchain_platform.agent_server.controllers.meta import MetaController
from langchain_platform.agent_server.controllers.runs import StatelessRunsController, ThreadRunsController
from langchain_platform.agent_server.controllers.threads import ThreadsController
from langchain_platform.agent_server.errors import AgentServerError
from langchain_platform.agent_server.http import (
    HOLDER_STATE_KEY,
    AgentServerRequest,
    agent_server_error,
    provide_agent_server,
)
from langchain_platform.agent_server.service import AgentServerHolder
from langchain_platform.context import platform_context
from langchain_platform.guards import require_agents_available


class AgentServerPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        holder = AgentServerHolder()
        app_config.state[HOLDER_STATE_KEY] = holder
        app_config.route_handlers.append(
            Router(
                "/",
                route_handlers=[
                    MetaController,
                    AssistantsController,
                    ThreadsController,
                    ThreadRunsController,
                    StatelessRunsController,
                    BackgroundThreadRunsController,
                    BackgroundStatelessRunsController,
                ],
                guards=[require_agents_scope, require_agents_available],
                dependencies={"agent_server": Provide(provide_agent_server)},
                exception_handlers={AgentServerError: agent_server_error},
                request_class=AgentServerRequest,
            )
        )
        # A 405 is the router's, before any route's handlers: registered on the app (a copy of its map).
        app_config.exception_handlers = {
            **app_config.exception_handlers,
            MethodNotAllowedException: assistant_write_refused,
        }

        @asynccontextmanager
        async def background_runs(app: Litestar) -> AsyncIterator[None]:
            holder.start(platform_context(app.state).require_runtime())
            try:
                yield
            finally:
                await holder.close()

        # A lifespan after the one that builds the runtime is left before it: held runs get their grace
        # period and are given back while the state store is still open (on_shutdown hooks would run
        # after the runtime closed, failing those runs instead).
        app_config.lifespan.append(background_runs)
        return app_config
