"""The Agent Server API as one Litestar plugin: its routes, its dependency and closing its store."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from langchain_platform.access import require_agents_scope
from langchain_platform.agent_server.controllers.assistants import AssistantsController
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
                # Not in /schema: its operations are the SDK's (langgraph_sdk documents them), and the
                # document's fuzzed contract (problem details everywhere) does not cover its streams.
                include_in_schema=False,
            )
        )

        def start_background_runs(app: Litestar) -> None:
            holder.start(platform_context(app.state).require_runtime())

        # After the lifespan that builds the runtime; closed before it ends.
        app_config.on_startup.append(start_background_runs)
        app_config.on_shutdown.append(holder.close)
        return app_config
