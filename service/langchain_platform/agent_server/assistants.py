"""Assistants: each agent of the agents file is one, its name both ``assistant_id`` and ``graph_id``.

They are read-only here: the agents file is the one place that defines them, so a deployment's
assistants are whatever its configuration says, on every replica alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from langchain_platform.agent_server.errors import AssistantNotFound
from langchain_platform.agent_server.schemas import Assistant, AssistantSearch, GraphSchema
from langchain_platform.agent_server.serialization import to_builtins
from langchain_platform.agents.errors import UnknownAgent
from langchain_platform.agents.runtime import AgentRuntime, Graph


def _defined_at(runtime: AgentRuntime) -> datetime:
    """When the agents file was last written: the assistants' creation and update time."""
    try:
        return datetime.fromtimestamp(runtime.settings.agents_config.stat().st_mtime, UTC)
    except OSError:
        return datetime.fromtimestamp(0, UTC)


def all_assistants(runtime: AgentRuntime) -> list[Assistant]:
    defined_at = _defined_at(runtime)
    return [
        Assistant(
            assistant_id=agent.name,
            graph_id=agent.name,
            config={},
            context={},
            metadata={"created_by": "system", "source": "agents file", "model": agent.model},
            version=1,
            name=agent.name,
            description=agent.description,
            created_at=defined_at,
            updated_at=defined_at,
        )
        for agent in runtime.list_agents().agents
    ]


def assistant(runtime: AgentRuntime, assistant_id: str) -> Assistant:
    for found in all_assistants(runtime):
        if found.assistant_id == assistant_id:
            return found
    raise AssistantNotFound(assistant_id)


def agent_name(runtime: AgentRuntime, assistant_id: str) -> str:
    """The agent an ``assistant_id`` names (``AssistantNotFound`` otherwise)."""
    try:
        return runtime.agent(assistant_id).name
    except UnknownAgent as exc:
        raise AssistantNotFound(assistant_id) from exc


def matches(metadata: dict[str, Any], wanted: dict[str, Any] | None) -> bool:
    """JSON containment, as the API filters by metadata: every wanted key holds the wanted value."""
    return all(key in metadata and metadata[key] == value for key, value in (wanted or {}).items())


def search(runtime: AgentRuntime, query: AssistantSearch) -> tuple[list[Assistant], bool]:
    """One page of the assistants ``query`` selects, and whether more follow."""
    found = [
        a
        for a in all_assistants(runtime)
        if matches(a.metadata, query.metadata)
        and (query.graph_id is None or a.graph_id == query.graph_id)
        and (query.name is None or query.name.lower() in a.name.lower())
    ]
    sort_by = query.sort_by or "created_at"
    found.sort(key=lambda a: (getattr(a, sort_by), a.assistant_id), reverse=query.sort_order != "asc")
    page = found[query.offset : query.offset + query.limit]
    return page, query.offset + query.limit < len(found)


def select_fields(items: list[Any], select: list[str] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = to_builtins(items)
    if not select:
        return rows
    return [{key: row[key] for key in select if key in row} for row in rows]


async def graph_of(runtime: AgentRuntime, assistant_id: str) -> Graph:
    return await runtime.compiled_graph(agent_name(runtime, assistant_id))


def drawing(graph: Graph, xray: int | bool) -> dict[str, Any]:
    drawn: dict[str, Any] = to_builtins(graph.get_graph(xray=xray).to_json())
    return drawn


def schemas(graph: Graph, assistant_id: str) -> GraphSchema:
    state_schema = graph.builder.state_schema
    return GraphSchema(
        graph_id=assistant_id,
        input_schema=graph.get_input_jsonschema(),
        output_schema=graph.get_output_jsonschema(),
        state_schema=TypeAdapter(state_schema).json_schema() if state_schema is not None else None,
        config_schema=None,
        context_schema=graph.get_context_jsonschema(),
    )
