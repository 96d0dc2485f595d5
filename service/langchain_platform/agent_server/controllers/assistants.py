"""``/assistants``: the agents of the agents file, read-only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, MethodNotAllowedException

from langchain_platform.agent_server import assistants
from langchain_platform.agent_server.controllers.error_docs import BODY_ERRORS, LOOKUP_ERRORS
from langchain_platform.agent_server.errors import AssistantsReadOnly
from langchain_platform.agent_server.http import agent_server_error
from langchain_platform.agent_server.schemas import Assistant, AssistantCount, AssistantSearch, GraphSchema
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.errors import EXCEPTION_HANDLERS
from langchain_platform.http_methods import allow_header, methods_of

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _xray(value: str) -> int | bool:
    lowered = value.lower()
    if lowered.isdigit():
        return int(lowered)
    return lowered == "true"


class AssistantsController(Controller):
    path = "/assistants"
    tags = ["agent-server"]

    @post("/search", status_code=200, summary="Search assistants", responses=BODY_ERRORS)
    async def search(
        self, data: AssistantSearch, agent_server: AgentServer
    ) -> Response[list[dict[str, Any]]]:
        page, more = assistants.search(agent_server.runtime, data)
        headers = {"X-Pagination-Next": str(data.offset + data.limit)} if more else {}
        return Response(assistants.select_fields(page, data.select), headers=headers)

    @post("/count", status_code=200, summary="Count assistants", responses=BODY_ERRORS)
    async def count(self, data: AssistantCount, agent_server: AgentServer) -> int:
        query = AssistantSearch(metadata=data.metadata, graph_id=data.graph_id, name=data.name, limit=1000)
        return len(assistants.search(agent_server.runtime, query)[0])

    @get("/{assistant_id:str}", summary="Get an assistant", responses=LOOKUP_ERRORS)
    async def get_assistant(self, assistant_id: str, agent_server: AgentServer) -> Assistant:
        return assistants.assistant(agent_server.runtime, assistant_id)

    @get(
        "/{assistant_id:str}/graph", summary="An assistant's graph: nodes and edges", responses=LOOKUP_ERRORS
    )
    async def graph(
        self, assistant_id: str, agent_server: AgentServer, xray: str = "false"
    ) -> dict[str, Any]:
        graph = await assistants.graph_of(agent_server.runtime, assistant_id)
        return assistants.drawing(graph, _xray(xray))

    @get(
        "/{assistant_id:str}/schemas",
        summary="An assistant's input, output, state and context schemas",
        responses=LOOKUP_ERRORS,
    )
    async def schemas(self, assistant_id: str, agent_server: AgentServer) -> GraphSchema:
        graph = await assistants.graph_of(agent_server.runtime, assistant_id)
        return assistants.schemas(graph, assistant_id)

    @get(
        "/{assistant_id:str}/subgraphs",
        summary="An assistant's subgraphs (agents have none)",
        responses=LOOKUP_ERRORS,
    )
    async def subgraphs(self, assistant_id: str, agent_server: AgentServer) -> dict[str, Any]:
        await assistants.graph_of(agent_server.runtime, assistant_id)
        return {}

    @post(
        "/",
        status_code=200,
        # Only ever a 405: left out of the document, where an operation promises that some request to
        # it succeeds. (Writes to one assistant meet the router's own 405: ``assistant_write_refused``.)
        include_in_schema=False,
    )
    async def create(self) -> None:
        raise AssistantsReadOnly("")


def assistant_write_refused(request: Request[Any, Any, Any], exc: MethodNotAllowedException) -> Response[Any]:
    """The router's 405, with its ``Allow``; for a write to an assistant, saying where assistants come
    from (there is no handler to say it: a documented one would promise that some write succeeds)."""
    if request.method not in _WRITES or not request.url.path.startswith("/assistants/"):
        return EXCEPTION_HANDLERS[HTTPException](request, exc)
    allow = allow_header(methods_of((exc.headers or {}).get("allow", "")))
    return agent_server_error(request, AssistantsReadOnly(allow))
