"""Agent middleware (langchain 1.x ``AgentMiddleware``) wrapped around every model and tool call.

- ``LLMFailureMiddleware`` classifies a failed model call while the upstream error type is known.
- ``HistoryTrimMiddleware`` sends the model only the last MAX_HISTORY_MESSAGES messages (the system
  prompt is kept apart by create_agent), never splitting a tool call from its results; the
  checkpointed history itself stays complete.
- ``ToolTimeoutMiddleware`` bounds each tool call by TOOL_TIMEOUT_SECONDS.
- ``RunModelSettingsMiddleware`` applies a run's own ``ModelSettings`` (temperature, max_tokens).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse, ToolCallRequest
from langchain_core.messages import AnyMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from langchain_platform.agents.errors import LLMFailure, ToolTimeout
from langchain_platform.agents.failures import classify_llm_error

ModelHandler = Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]]
ToolHandler = Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]]


def trim_history(messages: Sequence[AnyMessage], limit: int) -> list[AnyMessage]:
    """The last ``limit`` messages, starting at a user turn when the window holds one.

    A window must not open with tool results whose AI tool call was cut off (providers reject
    that), so it is moved forward to the first user message, or failing that past tool messages.
    """
    if len(messages) <= limit:
        return list(messages)
    window = list(messages[-limit:])
    for index, message in enumerate(window):
        if isinstance(message, HumanMessage):
            return window[index:]
    for index, message in enumerate(window):
        if not isinstance(message, ToolMessage):
            return window[index:]
    return window[-1:]


class LLMFailureMiddleware(AgentMiddleware[Any, Any, Any]):
    def __init__(self, timeout_seconds: float, max_retries: int) -> None:
        super().__init__()
        self._timeout = timeout_seconds
        self._retries = max_retries

    async def awrap_model_call(self, request: ModelRequest[Any], handler: ModelHandler) -> ModelResponse[Any]:
        try:
            return await handler(request)
        except (LLMFailure, ToolTimeout):
            raise
        except Exception as exc:
            raise classify_llm_error(exc, self._timeout, self._retries) from exc


class HistoryTrimMiddleware(AgentMiddleware[Any, Any, Any]):
    def __init__(self, max_messages: int) -> None:
        super().__init__()
        self._limit = max_messages

    async def awrap_model_call(self, request: ModelRequest[Any], handler: ModelHandler) -> ModelResponse[Any]:
        if len(request.messages) > self._limit:
            request = request.override(messages=trim_history(request.messages, self._limit))
        return await handler(request)


class ToolTimeoutMiddleware(AgentMiddleware[Any, Any, Any]):
    def __init__(self, timeout_seconds: float) -> None:
        super().__init__()
        self._timeout = timeout_seconds

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: ToolHandler
    ) -> ToolMessage | Command[Any]:
        try:
            async with asyncio.timeout(self._timeout):
                return await handler(request)
        except TimeoutError as exc:
            raise ToolTimeout(request.tool_call["name"], self._timeout) from exc


@dataclass(frozen=True)
class ModelSettings:
    """Per-run model settings a caller asked for (the OpenAI front's ``temperature``, ``max_tokens``)."""

    temperature: float | None = None
    max_tokens: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        # `max_tokens` is what both providers bind; ChatOpenAI sends it as max_completion_tokens.
        settings = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        return {name: value for name, value in settings.items() if value is not None}


class RunModelSettingsMiddleware(AgentMiddleware[Any, Any, Any]):
    """Applies the ``ModelSettings`` a run was started with (its LangGraph context) to each model call."""

    async def awrap_model_call(self, request: ModelRequest[Any], handler: ModelHandler) -> ModelResponse[Any]:
        settings = request.runtime.context
        if isinstance(settings, ModelSettings) and settings.as_kwargs():
            request = request.override(model_settings={**request.model_settings, **settings.as_kwargs()})
        return await handler(request)
