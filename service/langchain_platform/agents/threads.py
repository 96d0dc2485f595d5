"""Reading a conversation back from the checkpointer, as plain ``{role, content}`` messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from langchain_platform.agents.schemas import ThreadMessage

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def thread_config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


async def load_messages(saver: BaseCheckpointSaver[Any], thread_id: str) -> list[BaseMessage] | None:
    """The thread's messages from its latest checkpoint; None when the thread has none."""
    checkpoint = await saver.aget_tuple(thread_config(thread_id))  # type: ignore[arg-type]
    if checkpoint is None:
        return None
    messages = checkpoint.checkpoint.get("channel_values", {}).get("messages")
    return list(messages) if messages else None


def to_thread_messages(messages: Sequence[BaseMessage]) -> list[ThreadMessage]:
    result: list[ThreadMessage] = []
    for message in messages:
        role = _ROLES.get(message.type, message.type)
        if isinstance(message, AIMessage):
            calls = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in message.tool_calls]
            result.append(ThreadMessage(role=role, content=str(message.text), tool_calls=calls))
        elif isinstance(message, ToolMessage):
            result.append(ThreadMessage(role=role, content=str(message.text), name=message.name))
        else:
            result.append(ThreadMessage(role=role, content=str(message.text)))
    return result
