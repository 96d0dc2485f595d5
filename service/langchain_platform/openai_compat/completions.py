"""A chat-completions request as an agent run: decode it, start the run, and shape its answer.

Two conversation modes. Stateless (the default): the request's messages are the whole conversation,
the run has no checkpointer and stores nothing. Thread mode (``X-Thread-Id`` header or
``metadata.thread_id``): the request continues a stored thread exactly as ``/invoke`` does (same
thread lease, so a busy thread is 409), and only its last user message is the new turn.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from langchain_platform.agents.agent_run import AgentRun, RunInput, StreamEvent
from langchain_platform.agents.errors import UnknownAgent
from langchain_platform.agents.middleware import ModelSettings
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.agents.schemas import THREAD_ID_PATTERN, InvokeResponse
from langchain_platform.agents.usage import Usage
from langchain_platform.openai_compat import schemas
from langchain_platform.openai_compat.errors import InvalidRequest, ModelNotFound, domain_error, invalid_body
from langchain_platform.openai_compat.messages import last_user_text, to_langchain
from langchain_platform.principals import Principal
from langchain_platform.request_bodies import MAX_JSON_NESTING, too_deeply_nested

THREAD_HEADER = "x-thread-id"
THREAD_METADATA_KEY = "thread_id"
# What the LLM may report as the final answer's finish_reason; anything else reads as "stop".
_FINISH_REASONS = frozenset({"stop", "length", "content_filter"})
_THREAD_ID = re.compile(THREAD_ID_PATTERN)
_DONE = b"data: [DONE]\n\n"


class CompletionCall(msgspec.Struct):
    """A decoded request and what it asks of the run."""

    request: schemas.ChatCompletionRequest
    thread_id: str | None

    @property
    def thread_id_field(self) -> schemas.ThreadIdField:
        return msgspec.UNSET if self.thread_id is None else self.thread_id

    @property
    def include_usage(self) -> bool:
        return self.request.stream_options is not None and self.request.stream_options.include_usage


def decode_call(body: bytes, thread_header: str | None) -> CompletionCall:
    if too_deeply_nested(body):
        raise InvalidRequest(f"JSON nested deeper than {MAX_JSON_NESTING} levels", None)
    try:
        request = msgspec.json.decode(body, type=schemas.ChatCompletionRequest, strict=True)
    except msgspec.MsgspecError as exc:
        raise invalid_body(exc) from exc
    return CompletionCall(request, _thread_id(request, thread_header))


def _thread_id(request: schemas.ChatCompletionRequest, header: str | None) -> str | None:
    from_metadata = (request.metadata or {}).get(THREAD_METADATA_KEY)
    if header is not None and from_metadata is not None and header != from_metadata:
        raise InvalidRequest(
            "the X-Thread-Id header and metadata.thread_id name different threads", "metadata"
        )
    thread_id = header if header is not None else from_metadata
    if thread_id is not None and not _THREAD_ID.match(thread_id):
        raise InvalidRequest(
            "a thread id is 1 to 128 letters, digits, '.', '_', ':' or '-'", "metadata.thread_id"
        )
    return thread_id


def _model_settings(runtime: AgentRuntime, call: CompletionCall) -> ModelSettings:
    """The request's temperature, and its token limit within the agent's own (which stays a cap)."""
    try:
        spec = runtime.agent(call.request.model)
    except UnknownAgent as exc:
        raise ModelNotFound(call.request.model) from exc
    asked = call.request.max_completion_tokens or call.request.max_tokens
    limit = spec.overrides.max_tokens or runtime.settings.llm_max_tokens
    return ModelSettings(
        temperature=call.request.temperature, max_tokens=min(asked, limit) if asked is not None else None
    )


async def start_run(
    runtime: AgentRuntime, call: CompletionCall, principal: Principal
) -> tuple[AgentRun, RunInput]:
    """Take the thread (thread mode) or prepare a stateless run; the input to run it with."""
    settings = _model_settings(runtime, call)
    if call.thread_id is not None:
        text = last_user_text(call.request.messages)
        run = await runtime.prepare_run(call.request.model, call.thread_id, settings, principal=principal)
        return run, text
    messages = to_langchain(call.request.messages)
    return await runtime.prepare_stateless_run(call.request.model, settings), messages


def _finish_reason(run: AgentRun) -> str:
    return run.finish_reason if run.finish_reason in _FINISH_REASONS else "stop"


def completion(call: CompletionCall, run: AgentRun, result: InvokeResponse) -> schemas.ChatCompletion:
    return schemas.ChatCompletion(
        id=f"chatcmpl-{run.run_id.hex}",
        created=int(time.time()),
        model=call.request.model,
        choices=[
            schemas.Choice(
                message=schemas.AnswerMessage(content=result.output), finish_reason=_finish_reason(run)
            )
        ],
        usage=schemas.CompletionUsage.of(result.usage),
        thread_id=call.thread_id_field,
    )


async def chunk_stream(
    call: CompletionCall, run: AgentRun, events: AsyncIterator[StreamEvent]
) -> AsyncIterator[bytes]:
    """The run's events as ``chat.completion.chunk`` server-sent events, then ``data: [DONE]``.

    Text streams as the LLM writes it (tool calls stay inside the agent). A run that fails after
    the 200 went out ends with ``data: {"error": ...}``, which OpenAI clients raise as an APIError.
    """
    created = int(time.time())
    # With stream_options.include_usage every chunk says "usage": null until the last one.
    no_usage: Any = None if call.include_usage else msgspec.UNSET

    def chunk(choices: list[schemas.ChunkChoice], usage: Any = no_usage) -> bytes:
        body = schemas.ChatCompletionChunk(
            id=f"chatcmpl-{run.run_id.hex}",
            created=created,
            model=call.request.model,
            choices=choices,
            thread_id=call.thread_id_field,
            usage=usage,
        )
        return b"data: " + msgspec.json.encode(body) + b"\n\n"

    yield chunk([schemas.ChunkChoice(schemas.Delta(role="assistant", content=""))])
    usage: Usage | None = None
    try:
        async for event, payload in events:
            if event == "token":
                yield chunk([schemas.ChunkChoice(schemas.Delta(content=payload["content"]))])
            elif event == "done":
                usage = msgspec.convert(payload["usage"], Usage)
    except Exception as exc:  # the run failed after the 200 went out: say so the OpenAI way
        yield b"data: " + msgspec.json.encode(domain_error(exc).body) + b"\n\n"
        return
    yield chunk([schemas.ChunkChoice(schemas.Delta(), finish_reason=_finish_reason(run))])
    if call.include_usage and usage is not None:
        yield chunk([], usage=schemas.CompletionUsage.of(usage))
    yield _DONE
