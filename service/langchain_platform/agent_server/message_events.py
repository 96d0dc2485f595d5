"""Stream mode ``messages`` of the Agent Server API: whole messages as they grow, made from LangGraph's
``messages`` stream (tokens and finished messages) and its ``updates`` stream (what each node wrote).

Per message id: ``messages/metadata`` once, first (``{id: {"metadata": ...}}``, the LangGraph metadata of
the call that made it); ``messages/partial`` for each token, with the message accumulated so far; and
``messages/complete`` once, when the message is whole: at once for a message that was never streamed
(a tool's answer), else when a node's update holds it (the finished message, tool calls parsed), or
when the run ends for a streamed message no node kept. Each event's data is a list of one message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message

MessageEvent = tuple[str, Any]


def _messages_in(written: Any, depth: int = 4) -> Iterator[BaseMessage]:
    """The messages in what a node wrote: a channel's value, a list of values, a dict of channels
    (or a list of such dicts, a node writing more than once), a few levels deep."""
    if isinstance(written, BaseMessage):
        yield written
    elif depth > 0 and isinstance(written, Mapping):
        for value in written.values():
            yield from _messages_in(value, depth - 1)
    elif depth > 0 and isinstance(written, Sequence) and not isinstance(written, str | bytes):
        for value in written:
            yield from _messages_in(value, depth - 1)


class MessageEvents:
    """Turns one run's ``messages`` and ``updates`` chunks into the ``messages/*`` events."""

    def __init__(self) -> None:
        # Streamed messages not complete yet, accumulated from their chunks.
        self._partial: dict[str, BaseMessageChunk] = {}
        self._seen: set[str] = set()

    def _first(self, message_id: str, metadata: Any) -> Iterator[MessageEvent]:
        if message_id not in self._seen:
            self._seen.add(message_id)
            yield "messages/metadata", {message_id: {"metadata": metadata}}

    def feed(self, mode: str, data: Any) -> Iterator[MessageEvent]:
        """The events one chunk of LangGraph's stream makes (none for the other modes)."""
        if mode == "messages" and isinstance(data, tuple) and isinstance(data[0], BaseMessage):
            yield from self.on_message(data[0], data[1])
        elif mode == "updates":
            yield from self.on_update(data)

    def on_message(self, message: BaseMessage, metadata: Any) -> Iterator[MessageEvent]:
        """One item of LangGraph's ``messages`` stream: a token (chunk) or a whole message."""
        message_id = message.id or ""
        yield from self._first(message_id, metadata)
        if isinstance(message, BaseMessageChunk):
            so_far = self._partial.get(message_id)
            self._partial[message_id] = message if so_far is None else so_far + message
            yield "messages/partial", [message_chunk_to_message(self._partial[message_id])]
        elif message_id not in self._partial:
            yield "messages/complete", [message]

    def on_update(self, update: Any) -> Iterator[MessageEvent]:
        """One item of LangGraph's ``updates`` stream: ``{node: what it wrote}``."""
        for message in _messages_in(update):
            if message.id is not None and self._partial.pop(message.id, None) is not None:
                yield "messages/complete", [message]

    def finish(self) -> Iterator[MessageEvent]:
        """Streamed messages that no node wrote to the state are complete once the run ends."""
        partial, self._partial = self._partial, {}
        for message in partial.values():
            yield "messages/complete", [message_chunk_to_message(message)]
