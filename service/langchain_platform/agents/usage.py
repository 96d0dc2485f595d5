"""Token usage and LLM call metrics, gathered by a LangChain callback handler attached to each run."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import msgspec
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from langchain_platform.agents.failures import classify_llm_error
from langchain_platform.observability.metrics import (
    llm_call_duration_seconds,
    llm_errors_total,
    llm_tokens_total,
)


class Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class UsageCallback(BaseCallbackHandler):
    """Sums the tokens of every LLM call of one run and feeds the llm_* Prometheus metrics."""

    # Called on the event loop thread: the work is a few counter updates, not worth an executor hop.
    run_inline = True

    def __init__(self, model: str, llm_timeout_seconds: float) -> None:
        self.model = model
        self.usage = Usage()
        self._timeout = llm_timeout_seconds
        self._started: dict[UUID, float] = {}

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._started[run_id] = time.perf_counter()

    def _observe_duration(self, run_id: UUID) -> None:
        started = self._started.pop(run_id, None)
        if started is not None:
            llm_call_duration_seconds.labels(model=self.model).observe(time.perf_counter() - started)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self._observe_duration(run_id)
        input_tokens = output_tokens = 0
        for generations in response.generations:
            for generation in generations:
                usage = (
                    getattr(generation.message, "usage_metadata", None)
                    if isinstance(generation, ChatGeneration)
                    else None
                )
                if usage:
                    input_tokens += usage.get("input_tokens", 0)
                    output_tokens += usage.get("output_tokens", 0)
        self.usage.input_tokens += input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.total_tokens += input_tokens + output_tokens
        if input_tokens:
            llm_tokens_total.labels(model=self.model, direction="input").inc(input_tokens)
        if output_tokens:
            llm_tokens_total.labels(model=self.model, direction="output").inc(output_tokens)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._observe_duration(run_id)
        kind = classify_llm_error(error, self._timeout).kind
        llm_errors_total.labels(model=self.model, kind=kind).inc()
