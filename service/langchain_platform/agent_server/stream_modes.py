"""Which LangGraph stream modes a run's ``stream_mode`` asks for, and the SSE event each chunk becomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

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
# Sent whatever the modes: the run's first event and its failure.
_ALWAYS = frozenset({"metadata", "error"})
MESSAGE_EVENTS = ("messages/metadata", "messages/partial", "messages/complete")


@dataclass(frozen=True)
class StreamModes:
    # LangGraph modes whose chunks are sent as they come.
    graph_modes: list[GraphMode]
    # "events": LangChain's astream_events v2, each event sent whole.
    events: bool
    # "messages": whole messages as they grow (message_events.py), made from LangGraph's "messages"
    # and "updates" streams, which are asked for without their chunks being sent unless requested.
    messages: bool = False

    @classmethod
    def parse(cls, requested: str | Sequence[str]) -> StreamModes:
        """The modes of a run; the names are the API's (the body's schema allows no others)."""
        names = [requested] if isinstance(requested, str) else list(requested)
        graph_modes = list(dict.fromkeys(_GRAPH_MODES[name] for name in names if name in _GRAPH_MODES))
        return cls(graph_modes=graph_modes, events="events" in names, messages="messages" in names)

    def with_values(self) -> StreamModes:
        """These modes with ``values`` streamed too (a background run keeps its last values)."""
        return replace(self, graph_modes=list(dict.fromkeys([*self.graph_modes, "values"])))

    @property
    def streamed(self) -> list[GraphMode]:
        """What LangGraph is asked to stream."""
        extra: list[GraphMode] = ["messages", "updates"] if self.messages else []
        return list(dict.fromkeys([*self.graph_modes, *extra]))

    def sends(self, event: str) -> bool:
        """Whether a client that asked for these modes gets ``event`` (its namespace aside)."""
        name = event.split("|", 1)[0]
        return (
            name in _ALWAYS
            or name in self.graph_modes
            or (self.events and name == "events")
            or (self.messages and name in MESSAGE_EVENTS)
        )


def join_modes(requested: Sequence[str]) -> StreamModes | None:
    """The modes a join of a run's stream asks for; None (every stored event) when it names none.
    Unknown names select nothing, as the SDK sends the names its own version knows."""
    names = [name for name in requested if name]
    return StreamModes.parse(names) if names else None


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
