"""OpenAI chat messages to LangChain messages, and the new turn of a thread-mode request."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_platform.openai_compat import schemas
from langchain_platform.openai_compat.errors import InvalidRequest


def text_of(content: schemas.Content | None) -> str:
    """A message's text: a string, or its text parts joined (OpenAI joins them without a separator)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


def _tool_call(call: schemas.ToolCall, param: str) -> dict[str, Any]:
    try:
        args = json.loads(call.function.arguments or "{}")
    except ValueError as exc:
        raise InvalidRequest(
            f"tool call arguments are not JSON: {exc}", f"{param}.function.arguments"
        ) from exc
    if not isinstance(args, dict):
        raise InvalidRequest("tool call arguments must be a JSON object", f"{param}.function.arguments")
    return {"name": call.function.name, "args": args, "id": call.id}


def to_langchain(messages: list[schemas.Message]) -> list[BaseMessage]:
    """The whole conversation a stateless request carries, in order."""
    converted: list[BaseMessage] = []
    for index, message in enumerate(messages):
        if isinstance(message, schemas.SystemMessage | schemas.DeveloperMessage):
            converted.append(SystemMessage(text_of(message.content)))
        elif isinstance(message, schemas.UserMessage):
            converted.append(HumanMessage(text_of(message.content)))
        elif isinstance(message, schemas.AssistantMessage):
            calls = [
                _tool_call(call, f"messages[{index}].tool_calls[{n}]")
                for n, call in enumerate(message.tool_calls)
            ]
            converted.append(AIMessage(text_of(message.content), tool_calls=calls))
        else:
            converted.append(ToolMessage(text_of(message.content), tool_call_id=message.tool_call_id))
    return converted


def last_user_text(messages: list[schemas.Message]) -> str:
    """The new turn of a thread-mode request: its last message, a user's (the thread holds the rest)."""
    last = messages[-1]
    text = text_of(last.content) if isinstance(last, schemas.UserMessage) else ""
    if not text:
        raise InvalidRequest(
            "in thread mode the last message must be the user's new turn, with text", "messages"
        )
    return text
