"""What the Agent Server API's HTTP layer shares: its request class, error answers and dependency."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException

from langchain_platform.agent_server.errors import AgentServerError, AssistantsReadOnly
from langchain_platform.agent_server.service import AgentServer, AgentServerHolder
from langchain_platform.context import platform_context
from langchain_platform.errors import problem_response
from langchain_platform.request_bodies import JsonBodyRequest

HOLDER_STATE_KEY = "agent_server"


class AgentServerRequest(JsonBodyRequest):
    """Bodies decoded like everywhere else, but a bad one is 422, the status the SDK names
    ``UnprocessableEntityError`` (as the Agent Server API answers validation errors)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except ClientException as exc:
            raise HTTPException(status_code=HTTPStatus.UNPROCESSABLE_ENTITY, detail=exc.detail) from exc


def agent_server_error(_: Request[Any, Any, Any], exc: AgentServerError) -> Response[Any]:
    headers = {"Allow": exc.allow} if isinstance(exc, AssistantsReadOnly) else None
    return problem_response(exc.status, exc.detail, headers=headers)


async def provide_agent_server(request: Request[Any, Any, Any]) -> AgentServer:
    """Dependency ``agent_server``."""
    holder: AgentServerHolder = request.app.state[HOLDER_STATE_KEY]
    return await holder.get(platform_context(request.app.state).require_runtime())
