"""Which LangGraph stream modes a run's ``stream_mode`` asks for, and the SSE event each chunk becomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_platform.agent_server.errors import Unsupported

GraphMode = Literal["values", "updates", "checkpoints", "tasks", "debug", "messages", "custom"]
# API mode -> LangGraph mode; the SSE event keeps the LangGraph name ("messages-tuple" -> "messages").
_GRAPH_MODES: dict[str, GraphMode] = {
    "values": "values",
    "updates": "updates",
    "messages-tuple": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}


@dataclass(frozen=True)
class StreamModes:
    graph_modes: list[GraphMode]
    # "events": LangChain's astream_events v2, each event sent whole.
    events: bool

    @classmethod
    def parse(cls, requested: str | Sequence[str]) -> StreamModes:
        names = [requested] if isinstance(requested, str) else list(requested)
        if "messages" in names:
            raise Unsupported('stream_mode "messages" is not supported: use "messages-tuple"')
        graph_modes = list(dict.fromkeys(_GRAPH_MODES[name] for name in names if name != "events"))
        return cls(graph_modes=graph_modes, events="events" in names)


def event_name(mode: str, namespace: Sequence[str] = ()) -> str:
    """``mode``, with a subgraph's namespace appended as ``mode|ns1|ns2``."""
    return "|".join([mode, *namespace])


def split_chunk(item: Any, subgraphs: bool) -> tuple[tuple[str, ...], str, Any]:
    """(namespace, mode, data) of one item of ``astream(stream_mode=[...], subgraphs=...)``."""
    if subgraphs:
        namespace, mode, data = item
        return tuple(namespace), mode, data
    mode, data = item
    return (), mode, data
