"""Bodies of the OpenAI chat-completions protocol, as far as this service speaks it.

Unknown fields are ignored (OpenAI's own server does the same, and clients send many we have no use
for); a known field of the wrong type is a 400 naming it. Content parts other than text are refused.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from langchain_platform.agents.usage import Usage

OWNED_BY = "langchain-platform"


class TextPart(msgspec.Struct, tag_field="type", tag="text"):
    text: str


Content = str | list[TextPart]


class FunctionCall(msgspec.Struct):
    name: str
    arguments: str


class ToolCall(msgspec.Struct):
    id: str
    function: FunctionCall
    type: str = "function"


class SystemMessage(msgspec.Struct, tag_field="role", tag="system"):
    content: Content


class DeveloperMessage(msgspec.Struct, tag_field="role", tag="developer"):
    content: Content


class UserMessage(msgspec.Struct, tag_field="role", tag="user"):
    content: Content


class AssistantMessage(msgspec.Struct, tag_field="role", tag="assistant"):
    content: Content | None = None
    tool_calls: list[ToolCall] = msgspec.field(default_factory=list)


class ToolMessage(msgspec.Struct, tag_field="role", tag="tool"):
    content: Content
    tool_call_id: str


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ChatCompletionRequest(msgspec.Struct):
    model: str
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    # One answer per request: the agent's run is the answer.
    n: Annotated[int, msgspec.Meta(ge=1, le=1)] = 1
    metadata: dict[str, str] | None = None


class CompletionUsage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, usage: Usage) -> CompletionUsage:
        return cls(usage.input_tokens, usage.output_tokens, usage.total_tokens)


class AnswerMessage(msgspec.Struct):
    content: str
    role: str = "assistant"
    refusal: None = None


class Choice(msgspec.Struct):
    message: AnswerMessage
    finish_reason: str
    index: int = 0
    logprobs: None = None


# ``thread_id`` (thread mode only) is an extra field: OpenAI clients keep unknown fields.
ThreadIdField = str | msgspec.UnsetType


class ChatCompletion(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    object: str = "chat.completion"
    thread_id: ThreadIdField = msgspec.UNSET


class Delta(msgspec.Struct, omit_defaults=True):
    role: str | None = None
    content: str | None = None


class ChunkChoice(msgspec.Struct):
    delta: Delta
    finish_reason: str | None = None
    index: int = 0
    logprobs: None = None


class ChatCompletionChunk(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    object: str = "chat.completion.chunk"
    thread_id: ThreadIdField = msgspec.UNSET
    # With stream_options.include_usage every chunk carries "usage": null, the last one the figures.
    usage: CompletionUsage | msgspec.UnsetType | None = msgspec.UNSET


class Model(msgspec.Struct):
    id: str
    created: int
    owned_by: str = OWNED_BY
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[Model]
    object: str = "list"
