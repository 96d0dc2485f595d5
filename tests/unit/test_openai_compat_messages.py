"""The OpenAI front's pure parts: body decoding and its 400s, message conversion, error mapping."""

from __future__ import annotations

import json

import msgspec
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_platform.agents.errors import LLMFailure, RunTimeout
from langchain_platform.openai_compat import schemas
from langchain_platform.openai_compat.completions import decode_call
from langchain_platform.openai_compat.errors import InvalidRequest, domain_error
from langchain_platform.openai_compat.messages import last_user_text, to_langchain
from langchain_platform.request_bodies import MAX_JSON_NESTING


def body(**fields: object) -> bytes:
    return json.dumps({"model": "plain", "messages": [{"role": "user", "content": "hi"}], **fields}).encode()


def refusal(raw: bytes, header: str | None = None) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as refused:
        decode_call(raw, header)
    return refused.value


def test_unknown_fields_are_ignored_and_known_ones_decoded() -> None:
    call = decode_call(body(user="u", tools=[], stream=True, stream_options={"include_usage": True}), None)
    assert call.request.model == "plain"
    assert call.request.stream
    assert call.include_usage
    assert call.thread_id is None


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (body(temperature="hot"), "temperature"),
        (body(max_tokens=0), "max_tokens"),
        (body(metadata={"thread_id": 5}), "metadata"),
        (body(messages=[{"role": "tool", "content": "x"}]), "messages[0]"),
        (b"[1, 2]", None),
        (b"{", None),
        (b"", None),
    ],
)
def test_bad_bodies_name_the_field(raw: bytes, param: str | None) -> None:
    assert refusal(raw).param == param


def test_deep_nesting_is_refused_before_decoding() -> None:
    deep = (
        b'{"model": "plain", "messages": '
        + b"[" * (MAX_JSON_NESTING + 1)
        + b"]" * (MAX_JSON_NESTING + 1)
        + b"}"
    )
    assert "nested deeper" in refusal(deep).detail


def test_thread_id_comes_from_the_header_or_metadata_and_must_agree() -> None:
    assert decode_call(body(), "t-1").thread_id == "t-1"
    assert decode_call(body(metadata={"thread_id": "t-2"}), None).thread_id == "t-2"
    assert decode_call(body(metadata={"thread_id": "t-3"}), "t-3").thread_id == "t-3"
    assert refusal(body(metadata={"thread_id": "a"}), "b").param == "metadata"
    assert refusal(body(), "not valid!").param == "metadata.thread_id"


def test_messages_convert_in_order_with_text_parts_and_tool_calls() -> None:
    request = msgspec.json.decode(
        json.dumps(
            {
                "model": "m",
                "messages": [
                    {"role": "developer", "content": "be brief"},
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    },
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "calc", "arguments": '{"x": 1}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "1"},
                    {"role": "assistant", "content": "done"},
                ],
            }
        ),
        type=schemas.ChatCompletionRequest,
    )
    converted = to_langchain(request.messages)
    assert [type(m) for m in converted] == [SystemMessage, HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert converted[1].content == "ab"
    call = converted[2]
    assert isinstance(call, AIMessage)
    assert call.tool_calls[0]["name"] == "calc"
    assert call.tool_calls[0]["args"] == {"x": 1}
    tool = converted[3]
    assert isinstance(tool, ToolMessage)
    assert tool.tool_call_id == "c1"


def test_bad_tool_call_arguments_are_a_400() -> None:
    message = schemas.AssistantMessage(
        tool_calls=[schemas.ToolCall(id="c", function=schemas.FunctionCall(name="f", arguments="{nope"))]
    )
    with pytest.raises(InvalidRequest) as refused:
        to_langchain([message])
    assert refused.value.param == "messages[0].tool_calls[0].function.arguments"


def test_thread_mode_takes_the_last_user_message() -> None:
    messages: list[schemas.Message] = [
        schemas.UserMessage("old"),
        schemas.AssistantMessage("answer"),
        schemas.UserMessage("new"),
    ]
    assert last_user_text(messages) == "new"
    with pytest.raises(InvalidRequest):
        last_user_text([schemas.UserMessage("x"), schemas.AssistantMessage("y")])


def test_failures_map_to_openai_statuses_and_types() -> None:
    rate_limited = domain_error(LLMFailure("http_429", "slow down"))
    assert (rate_limited.status, rate_limited.body.error.type) == (429, "rate_limit_error")
    upstream = domain_error(LLMFailure("http_500", "broken"))
    assert (upstream.status, upstream.body.error.type, upstream.body.error.code) == (
        502,
        "server_error",
        "llm_upstream_error",
    )
    assert domain_error(RunTimeout(3)).status == 504
    bug = domain_error(ValueError("secret internals"))
    assert bug.status == 500
    assert "secret" not in bug.body.error.message
