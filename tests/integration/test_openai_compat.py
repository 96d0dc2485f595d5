"""The OpenAI-compatible front, driven by the real `openai` client against a real server and the stub LLM.

Each test checks what the client got and, where it matters, what the LLM was sent (the stub's log).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.http_checks import token, wait_until
from harness.platform_server import PlatformServer
from harness.stub_langsmith import StubLangSmith
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

MAX_REQUEST_BYTES = 65536
RUN_TIMEOUT_SECONDS = 4
SLOW_LLM_MS = 1500
AGENTS = "/api/enterprise/agents"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openai-compat-data")


@pytest.fixture(scope="module")
def server(launch: Launcher, data_dir: Path) -> PlatformServer:
    # No LLM retries inside the service: a test can count the LLM calls one request caused.
    return launch(
        data_dir=data_dir,
        MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES),
        LLM_MAX_RETRIES="0",
        RUN_TIMEOUT_SECONDS=str(RUN_TIMEOUT_SECONDS),
    )


@pytest.fixture
def client(server: PlatformServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0, timeout=30) as c:
        yield c


def async_client(server: PlatformServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0, timeout=30)


def llm_texts(call: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of each message the LLM was sent."""
    result = []
    for message in call["body"]["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(str(part.get("text", "")) for part in content)
        result.append((message["role"], str(content or "")))
    return result


def table_counts(data_dir: Path) -> dict[str, int]:
    """Rows in every table of the service's SQLite state (checkpoints, thread index, leases, runs)."""
    with sqlite3.connect(f"file:{data_dir / 'state.sqlite'}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables}


def test_models_are_the_agents(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert {m.id for m in models.data} == {"assistant", "plain", "fetcher"}
    for model in models.data:
        assert model.object == "model"
        assert model.owned_by == "langchain-platform"
        assert model.created > 0
    assert client.models.retrieve("plain").id == "plain"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("nobody")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="nobody", messages=[{"role": "user", "content": "hi"}])
    assert unknown.value.body == {
        "message": "The model `nobody` does not exist: GET /v1/models lists the agents",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_a_tool_using_agent_answers_with_usage(
    client: openai.OpenAI, stub_llm: StubOpenAI, server: PlatformServer, data_dir: Path
) -> None:
    tag = token()
    before = table_counts(data_dir)
    answer = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": f"{tag} use tool calculator: (2+3)*4"}]
    )
    assert answer.object == "chat.completion"
    assert answer.model == "assistant"
    (choice,) = answer.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "The calculator tool returned: 20"
    assert choice.finish_reason == "stop"
    # The tool ran inside the agent: two LLM calls, the second with the tool's result.
    calls = stub_llm.requests_mentioning(tag)
    assert [role for role, _ in llm_texts(calls[-1])] == ["system", "user", "assistant", "tool"]
    assert len(calls) == 2
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == sum(c["response"]["usage"]["prompt_tokens"] for c in calls)
    assert answer.usage.completion_tokens == sum(c["response"]["usage"]["completion_tokens"] for c in calls)
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    # Stateless: no checkpoint, thread-index row, lease or run was written.
    assert table_counts(data_dir) == before


async def test_streamed_chunks_reassemble_to_the_non_streamed_answer(
    server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    text = f"{token()} stream these words please"
    messages: Any = [{"role": "user", "content": text}]
    async with async_client(server) as client:
        whole = await client.chat.completions.create(model="plain", messages=messages)
        stream = await client.chat.completions.create(
            model="plain", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    assert whole.choices[0].message.content == f"Echo: {text}"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 3, "text came in one piece"
    assert all(c.object == "chat.completion.chunk" and c.model == "plain" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishing == ["stop"]
    # include_usage: "usage": null on every chunk, the figures on a last chunk without choices.
    *before_last, last = chunks
    assert last.choices == []
    assert last.usage is not None
    assert whole.usage is not None
    assert last.usage.model_dump() == whole.usage.model_dump()
    assert all(c.usage is None for c in before_last)
    assert (stub_llm.requests_mentioning(text)[-1])["body"]["stream"] is True


def test_a_streamed_tool_run_sends_only_the_answer_text(client: openai.OpenAI, stub_llm: StubOpenAI) -> None:
    tag = token()
    stream = client.chat.completions.create(
        model="assistant",
        messages=[{"role": "user", "content": f"{tag} use tool calculator: 6*7"}],
        stream=True,
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "The calculator tool returned: 42"
    assert not any(c.choices[0].delta.tool_calls for c in chunks), "tool calls stay inside the agent"
    assert all(c.usage is None for c in chunks), "usage only when stream_options asks for it"
    assert len(stub_llm.requests_mentioning(tag)) == 2


async def test_a_three_turn_history_reaches_the_llm_in_order(
    server: PlatformServer, stub_llm: StubOpenAI, data_dir: Path
) -> None:
    tag = token()
    history: Any = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": f"{tag} one"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "text", "text": f"{tag} "}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "second answer"}]},
        {"role": "user", "content": f"{tag} three"},
    ]
    before = table_counts(data_dir)
    async with async_client(server) as client:
        answer = await client.chat.completions.create(model="plain", messages=history)
    assert answer.choices[0].message.content == f"Echo: {tag} three"
    (call,) = stub_llm.requests_mentioning(f"{tag} three")
    assert llm_texts(call)[0][0] == "system"
    assert "SYSPROMPT-PLAIN" in llm_texts(call)[0][1], "the agent's own prompt comes first"
    assert llm_texts(call)[1:] == [
        ("system", "Answer briefly."),
        ("user", f"{tag} one"),
        ("assistant", "first answer"),
        ("user", f"{tag} two"),
        ("assistant", "second answer"),
        ("user", f"{tag} three"),
    ]
    assert table_counts(data_dir) == before


def test_request_settings_reach_the_llm_within_the_agents_limit(
    client: openai.OpenAI, stub_llm: StubOpenAI
) -> None:
    tag = token()
    client.chat.completions.create(
        model="plain", messages=[{"role": "user", "content": f"{tag} a"}], temperature=0.3, max_tokens=10
    )
    client.chat.completions.create(
        model="plain", messages=[{"role": "user", "content": f"{tag} b"}], max_completion_tokens=1000
    )
    # Fields the service has no use for are ignored, as OpenAI's server does.
    client.chat.completions.create(
        model="plain",
        messages=[{"role": "user", "content": f"{tag} c"}],
        user="someone",
        extra_body={"not_a_field": {"x": 1}},
    )
    first, second, third = (stub_llm.requests_mentioning(f"{tag} {x}")[0]["body"] for x in "abc")
    assert first["temperature"] == pytest.approx(0.3)
    assert first["max_completion_tokens"] == 10
    # The plain agent's file sets max_tokens 64: a request may lower it, not raise it.
    assert second["max_completion_tokens"] == 64
    assert third["temperature"] == pytest.approx(0.1)
    assert "not_a_field" not in third


def test_thread_mode_continues_a_stored_thread(
    client: openai.OpenAI, server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    first_tag, second_tag, third_tag = token(), token(), token()
    with server.client(api_key=API_KEY) as http:
        started = http.post(f"{AGENTS}/plain/invoke", json={"input": f"{first_tag} my name is Ada"}).json()
    thread_id = started["thread_id"]

    # UIs resend the whole history; in thread mode only the last user message is the new turn.
    raw = client.chat.completions.with_raw_response.create(
        model="plain",
        messages=[
            {"role": "user", "content": "ignored: the thread holds the history"},
            {"role": "user", "content": f"{second_tag} what is my name?"},
        ],
        extra_headers={"X-Thread-Id": thread_id},
    )
    assert raw.headers["x-thread-id"] == thread_id
    answer = raw.parse()
    assert answer.model_extra == {"thread_id": thread_id}
    (call,) = stub_llm.requests_mentioning(second_tag)
    assert llm_texts(call)[1:] == [
        ("user", f"{first_tag} my name is Ada"),
        ("assistant", f"Echo: {first_tag} my name is Ada"),
        ("user", f"{second_tag} what is my name?"),
    ]

    # metadata.thread_id does the same, streamed; the thread then holds all three turns.
    stream = client.chat.completions.create(
        model="plain",
        messages=[{"role": "user", "content": f"{third_tag} again"}],
        metadata={"thread_id": thread_id},
        stream=True,
    )
    chunks = list(stream)
    assert {c.model_extra.get("thread_id") if c.model_extra else None for c in chunks} == {thread_id}
    with server.client(api_key=API_KEY) as http:
        stored = http.get(f"{AGENTS}/plain/threads/{thread_id}").json()["messages"]
    assert [m["content"] for m in stored if m["role"] == "user"] == [
        f"{first_tag} my name is Ada",
        f"{second_tag} what is my name?",
        f"{third_tag} again",
    ]


def test_thread_mode_refuses_a_busy_thread_and_a_bad_thread_id(
    client: openai.OpenAI, server: PlatformServer
) -> None:
    thread_id = f"busy-{token()}"

    def slow_turn() -> None:
        client.chat.completions.create(
            model="plain",
            messages=[{"role": "user", "content": f"[stub:slow={SLOW_LLM_MS}] {token()}"}],
            metadata={"thread_id": thread_id},
        )

    async def both() -> None:
        slow = asyncio.create_task(asyncio.to_thread(slow_turn))
        await asyncio.sleep(SLOW_LLM_MS / 3000)
        with pytest.raises(openai.ConflictError) as busy:
            await asyncio.to_thread(
                client.chat.completions.create,
                model="plain",
                messages=[{"role": "user", "content": "second"}],
                extra_headers={"X-Thread-Id": thread_id},
            )
        assert busy.value.code == "thread_busy"
        await slow

    asyncio.run(both())
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="plain", messages=[{"role": "user", "content": "x"}], metadata={"thread_id": "no spaces"}
        )
    assert bad.value.param == "metadata.thread_id"


def test_a_bad_key_is_401_in_openai_format(server: PlatformServer) -> None:
    with (
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong-key", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as refused,
    ):
        client.chat.completions.create(model="plain", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 401
    assert refused.value.body == {
        "message": "Invalid or missing API key: send it as `Authorization: Bearer <key>`",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }
    # Outside /v1 the service's own problem+json stays.
    anonymous = httpx.get(f"{server.url}{AGENTS}", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("messages", "extra", "param"),
    [
        ([{"role": "user", "content": 5}], {}, "messages[0].content"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], {}, None),
        ([{"role": "wizard", "content": "hi"}], {}, "messages[0].role"),
        ([], {}, "messages"),
        ([{"role": "user", "content": "hi"}], {"temperature": "hot"}, "temperature"),
        ([{"role": "user", "content": "hi"}], {"temperature": 3}, "temperature"),
        ([{"role": "user", "content": "hi"}], {"n": 2}, "n"),
        ([{"role": "user", "content": "hi"}], {"stream": "yes"}, "stream"),
    ],
)
def test_malformed_requests_are_400_naming_the_field(
    client: openai.OpenAI, messages: Any, extra: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="plain", messages=messages, extra_body=extra)
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    if param is not None:
        assert body["param"] == param, body
    assert body["message"]


def test_a_body_that_is_not_json_is_400_in_openai_format(server: PlatformServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=b'{"model": "plain", "messages": [',
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "JSON" in response.json()["error"]["message"]


def test_an_oversized_request_is_413(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(
            model="plain", messages=[{"role": "user", "content": "x" * MAX_REQUEST_BYTES}]
        )
    assert refused.value.status_code == 413
    assert refused.value.code == "request_too_large"
    assert f"{MAX_REQUEST_BYTES} bytes" in refused.value.message


def test_llm_failures_map_to_the_clients_errors_without_client_retries(
    server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    # The client's default retries (2) stay on: the service tells it not to repeat a failed run.
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, timeout=30) as client:
        tag = token()
        with pytest.raises(openai.InternalServerError) as failed:
            client.chat.completions.create(
                model="plain", messages=[{"role": "user", "content": f"{tag} [stub:500]"}]
            )
        assert failed.value.status_code == 502
        assert failed.value.response.headers["x-should-retry"] == "false"
        assert len(stub_llm.requests_mentioning(tag)) == 1

        tag = token()
        with pytest.raises(openai.InternalServerError) as timed_out:
            client.chat.completions.create(
                model="plain", messages=[{"role": "user", "content": f"{tag} [stub:slow=6000]"}]
            )
        assert timed_out.value.status_code == 504
        assert "RUN_TIMEOUT_SECONDS" in timed_out.value.message
        assert len(stub_llm.requests_mentioning(tag)) == 1

    with (
        openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0) as client,
        pytest.raises(openai.RateLimitError),
    ):
        client.chat.completions.create(model="plain", messages=[{"role": "user", "content": "[stub:429]"}])


def test_a_run_failing_mid_stream_raises_in_the_client(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="plain", messages=[{"role": "user", "content": f"{token()} [stub:500]"}], stream=True
    )
    with pytest.raises(openai.APIError, match="LLM upstream answered HTTP 500"):
        list(stream)


def test_a_client_leaving_mid_stream_stops_the_llm_calls(
    server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    tag = token()
    # Two LLM calls if the run went on: the tool call, then the answer after the tool ran.
    text = f"{tag} [stub:slow={SLOW_LLM_MS}] use tool calculator: 2+2"
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0) as client:
        stream = client.chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": text}], stream=True
        )
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
        wait_until(lambda: stub_llm.requests_mentioning(tag), what="the first LLM call")
        stream.close()
    # Long enough for the first call to answer and a second one to be made, were the run alive.
    time.sleep(SLOW_LLM_MS / 1000 * 2)
    assert len(stub_llm.requests_mentioning(tag)) == 1
    scraped = httpx.get(f"{server.url}/metrics", timeout=10).text
    cancelled = [
        s
        for family in text_string_to_metric_families(scraped)
        for s in family.samples
        if s.name == "agent_run_duration_seconds_count"
        and s.labels == {"agent": "assistant", "outcome": "cancelled"}
    ]
    assert cancelled, "the run was not cancelled"
    assert cancelled[0].value >= 1


def test_routes_are_counted_logged_and_traced_like_the_others(
    client: openai.OpenAI, server: PlatformServer
) -> None:
    client.models.list()
    client.chat.completions.create(model="plain", messages=[{"role": "user", "content": "count me"}])
    scraped = httpx.get(f"{server.url}/metrics", timeout=10).text
    samples = [s for family in text_string_to_metric_families(scraped) for s in family.samples]
    routes = {s.labels.get("route") for s in samples if s.name == "http_requests_total"}
    assert {"/v1/models", "/v1/chat/completions"} <= routes
    runs = [
        s for s in samples if s.name == "agent_run_duration_seconds_count" and s.labels["agent"] == "plain"
    ]
    assert runs, "the run is measured like an /invoke run"
    record = server.wait_for_log(lambda r: r.get("event") == "request" and r.get("route") == "/v1/models")
    assert record["status"] == 200
    assert record["request_id"]
    assert json.dumps(record).find(API_KEY) == -1


def test_runs_are_traced_to_langsmith(launch: Launcher) -> None:
    # Its own LangSmith stub: the session's one is checked for exactly its own key elsewhere.
    with StubLangSmith() as langsmith:
        traced = launch(
            LANGSMITH_TRACING="true",
            LANGSMITH_API_KEY="lsv2_pt_openai_compat_0a1b2c",
            LANGSMITH_ENDPOINT=langsmith.url,
            LANGSMITH_PROJECT="openai-compat-tests",
        )
        tag = token()
        with openai.OpenAI(base_url=f"{traced.url}/v1", api_key=API_KEY, max_retries=0) as client:
            client.chat.completions.create(
                model="plain", messages=[{"role": "user", "content": f"{tag} trace me"}]
            )
        top = wait_until(
            lambda: [
                r
                for r in langsmith.runs
                if r.get("name") == "agent:plain" and tag in json.dumps(r.get("inputs")) and r.get("end_time")
            ],
            timeout=15,
            what="the traced run",
        )
        assert {r.get("session_name") for r in top} == {"openai-compat-tests"}
        assert traced.stop() == 0
