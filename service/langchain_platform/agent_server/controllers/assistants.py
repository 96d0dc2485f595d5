"""``/assistants``: the agents of the agents file, read-only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, patch, post

from langchain_platform.agent_server import assistants
from langchain_platform.agent_server.errors import AssistantsReadOnly
from langchain_platform.agent_server.schemas import Assistant, AssistantCount, AssistantSearch, GraphSchema
from langchain_platform.agent_server.service import AgentServer

_ITEM_METHODS = "GET, HEAD"


def _xray(value: str) -> int | bool:
    lowered = value.lower()
    if lowered.isdigit():
        return int(lowered)
    return lowered == "true"


class AssistantsController(Controller):
    path = "/assistants"
    tags = ["agent server"]

    @post("/search", status_code=200, summary="Search assistants")
    async def search(
        self, data: AssistantSearch, agent_server: AgentServer
    ) -> Response[list[dict[str, Any]]]:
        page, more = assistants.search(agent_server.runtime, data)
        headers = {"X-Pagination-Next": str(data.offset + data.limit)} if more else {}
        return Response(assistants.select_fields(page, data.select), headers=headers)

    @post("/count", status_code=200, summary="Count assistants")
    async def count(self, data: AssistantCount, agent_server: AgentServer) -> int:
        query = AssistantSearch(metadata=data.metadata, graph_id=data.graph_id, name=data.name, limit=1000)
        return len(assistants.search(agent_server.runtime, query)[0])

    @get("/{assistant_id:str}", summary="Get an assistant")
    async def get_assistant(self, assistant_id: str, agent_server: AgentServer) -> Assistant:
        return assistants.assistant(agent_server.runtime, assistant_id)

    @get("/{assistant_id:str}/graph", summary="An assistant's graph: nodes and edges")
    async def graph(
        self, assistant_id: str, agent_server: AgentServer, xray: str = "false"
    ) -> dict[str, Any]:
        graph = await assistants.graph_of(agent_server.runtime, assistant_id)
        return assistants.drawing(graph, _xray(xray))

    @get("/{assistant_id:str}/schemas", summary="An assistant's input, output, state and context schemas")
    async def schemas(self, assistant_id: str, agent_server: AgentServer) -> GraphSchema:
        graph = await assistants.graph_of(agent_server.runtime, assistant_id)
        return assistants.schemas(graph, assistant_id)

    @get("/{assistant_id:str}/subgraphs", summary="An assistant's subgraphs (agents have none)")
    async def subgraphs(self, assistant_id: str, agent_server: AgentServer) -> dict[str, Any]:
        await assistants.graph_of(agent_server.runtime, assistant_id)
        return {}

    @post("/", status_code=200, summary="Refused: assistants come from the agents file")
    async def create(self) -> None:
        raise AssistantsReadOnly("")

    @patch("/{assistant_id:str}", summary="Refused: assistants come from the agents file")
    async def update(self, assistant_id: str) -> None:
        raise AssistantsReadOnly(_ITEM_METHODS)

    @delete("/{assistant_id:str}", status_code=204, summary="Refused: assistants come from the agents file")
    async def delete_assistant(self, assistant_id: str) -> None:
        raise AssistantsReadOnly(_ITEM_METHODS)
