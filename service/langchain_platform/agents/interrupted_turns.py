"""Closing a turn that ended without an answer, so the thread stays well-formed for the next one.

A run stops mid-turn when its client disconnects from a stream, when it runs out of time, or when
the service stops under it. LangGraph has by then checkpointed the user's message, and maybe a tool
call with no result. Left so, the next turn would send the LLM an unanswered question or a tool call
without its result (which OpenAI-compatible APIs refuse). The turn is recorded as cancelled
instead, not rolled back: every pending tool call gets an error result and an assistant message
``CANCELLED_ANSWER`` closes the turn, so reading the thread shows what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

CANCELLED_ANSWER = "(no answer: this turn was cancelled before it finished)"
CANCELLED_TOOL_RESULT = "cancelled: the turn ended before this tool call finished"
# The node whose output the closing messages stand for; after it, a message without tool calls ends the run.
_MODEL_NODE = "model"


def closing_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages that close the last turn, or none if it was answered."""
    if not messages:
        return []
    last = messages[-1]
    if isinstance(last, AIMessage) and not last.tool_calls:
        return []
    answered: set[str] = set()
    pending: list[ToolMessage] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage) and message.tool_calls:
            pending = [
                ToolMessage(
                    CANCELLED_TOOL_RESULT, tool_call_id=str(call["id"]), name=call["name"], status="error"
                )
                for call in message.tool_calls
                if call["id"] not in answered
            ]
            break
    return [*pending, AIMessage(CANCELLED_ANSWER, response_metadata={"finish_reason": "cancelled"})]


async def close_interrupted_turn(
    graph: CompiledStateGraph[Any, Any, Any, Any], config: RunnableConfig
) -> bool:
    """Record the thread's last turn as cancelled if it has no answer; True if it had to."""
    snapshot = await graph.aget_state(config)
    closing = closing_messages(snapshot.values.get("messages", []) if snapshot.values else [])
    if closing:
        await graph.aupdate_state(config, {"messages": closing}, as_node=_MODEL_NODE)
    return bool(closing)
