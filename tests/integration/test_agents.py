"""Agents over HTTP against the loopback LLM: what the client gets AND what the LLM was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, parse_sse, token
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, OPENAI_KEY, Launcher

MAX_HISTORY = 6
AGENTS = "/api/enterprise/agents"


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(MAX_HISTORY_MESSAGES=str(MAX_HISTORY))


@pytest.fixture
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=API_KEY) as c:
        yield c


def invoke(client: httpx.Client, agent: str, text: str, thread_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": text}
    if thread_id:
        body["thread_id"] = thread_id
    response = client.post(f"{AGENTS}/{agent}/invoke", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def roles(request: dict[str, Any]) -> list[str]:
    return [m["role"] for m in request["body"]["messages"]]


def content(message: dict[str, Any]) -> str:
    value = message.get("content")
    if isinstance(value, list):
        return " ".join(str(part.get("text", "")) for part in value if isinstance(part, dict))
    return str(value or "")


def test_list_agents(client: httpx.Client) -> None:
    response = client.get(AGENTS)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    agents = {a["name"]: a for a in body["agents"]}
    assert set(agents) == {"assistant", "plain", "fetcher"}
    for agent in agents.values():
        assert {"name", "description", "model", "tools", "state"} <= set(agent)
    assert agents["assistant"]["tools"] == ["calculator", "current_time"]
    assert agents["assistant"]["model"] == "gpt-4o-mini"
    assert agents["assistant"]["description"] == "Test assistant with the calculator and clock tools."
    assert agents["plain"]["tools"] == []
    assert agents["plain"]["model"] == "stub-model-plain"
    assert agents["fetcher"]["tools"] == ["http_get"]


def test_invoke_with_a_tool_call(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    tag = token()
    result = invoke(client, "assistant", f"{tag} please use tool calculator: (2+3)*4")

    # What the client got.
    assert set(result) >= {"output", "thread_id", "run_id", "usage"}
    assert "The calculator tool returned: 20" in result["output"]
    assert isinstance(result["thread_id"], str)
    assert result["thread_id"]
    assert isinstance(result["run_id"], str)
    assert result["run_id"]
    assert result["thread_id"] != result["run_id"]

    # What the LLM was sent: a tool-offering call, then the call with the tool's result.
    calls = stub_llm.requests_mentioning(tag)
    assert len(calls) == 2, [c["response"] for c in calls]
    first, second = calls
    for call in calls:
        assert call["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
        assert call["body"]["model"] == "gpt-4o-mini"
        messages = call["body"]["messages"]
        assert messages[0]["role"] == "system"
        assert "SYSPROMPT-ASSISTANT" in content(messages[0])
    tools = {t["function"]["name"]: t["function"] for t in first["body"]["tools"]}
    assert set(tools) == {"calculator", "current_time"}
    calculator = tools["calculator"]["parameters"]
    assert calculator["properties"]["expression"]["type"] == "string"
    assert calculator["required"] == ["expression"]
    assert tools["calculator"]["description"]
    assert roles(first) == ["system", "user"]
    assert content(first["body"]["messages"][1]) == f"{tag} please use tool calculator: (2+3)*4"
    assert first["response"]["tool_call"] == {
        "name": "calculator",
        "arguments": json.dumps({"expression": "(2+3)*4"}),
    }

    assert roles(second) == ["system", "user", "assistant", "tool"]
    assistant_msg, tool_msg = second["body"]["messages"][2:]
    assert assistant_msg["tool_calls"][0]["function"]["name"] == "calculator"
    assert tool_msg["tool_call_id"] == assistant_msg["tool_calls"][0]["id"]
    assert content(tool_msg).strip() in ("20", "20.0")

    # The usage the service reports is the sum of what the LLM reported for this run.
    expected = {
        "input_tokens": sum(c["response"]["usage"]["prompt_tokens"] for c in calls),
        "output_tokens": sum(c["response"]["usage"]["completion_tokens"] for c in calls),
    }
    expected["total_tokens"] = expected["input_tokens"] + expected["output_tokens"]
    assert result["usage"] == expected


def test_agent_model_overrides_reach_the_llm(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    tag = token()
    result = invoke(client, "plain", f"{tag} hello")
    assert result["output"] == f"Echo: {tag} hello"
    (call,) = stub_llm.requests_mentioning(tag)
    body = call["body"]
    assert body["model"] == "stub-model-plain"
    assert body["temperature"] == pytest.approx(0.1)
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 64
    assert not body.get("tools"), "the plain agent has no tools"
    assert "SYSPROMPT-PLAIN" in content(body["messages"][0])


def test_conversation_continues_on_a_thread(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    first_tag, second_tag = token(), token()
    first = invoke(client, "plain", f"{first_tag} my name is Ada")
    second = invoke(client, "plain", f"{second_tag} what is my name?", thread_id=first["thread_id"])
    assert second["thread_id"] == first["thread_id"]
    assert second["run_id"] != first["run_id"]
    (call,) = stub_llm.requests_mentioning(second_tag)
    texts = [content(m) for m in call["body"]["messages"]]
    assert roles(call) == ["system", "user", "assistant", "user"]
    assert texts[1:] == [
        f"{first_tag} my name is Ada",
        f"Echo: {first_tag} my name is Ada",
        f"{second_tag} what is my name?",
    ]


def test_a_new_thread_is_made_when_none_is_given(client: httpx.Client) -> None:
    one = invoke(client, "plain", "first")
    two = invoke(client, "plain", "second")
    assert one["thread_id"] != two["thread_id"]


def test_stream_sends_tokens_then_done(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    tag = token()
    text = f"{tag} stream these words please"
    with client.stream("POST", f"{AGENTS}/plain/stream", json={"input": text}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = parse_sse(raw)
    names = [e.event for e in events]
    assert names[-1] == "done", names
    tokens = [e for e in events if e.event == "token"]
    assert len(tokens) >= 3, f"expected several token events, got {names}"
    assert names.index("done") > max(i for i, n in enumerate(names) if n == "token")
    streamed = "".join(e.data["content"] if isinstance(e.data, dict) else str(e.data) for e in tokens)
    assert streamed == f"Echo: {text}"
    done = events[-1].data
    assert isinstance(done, dict)
    assert done["thread_id"]
    assert done["run_id"]
    # The LLM was asked to stream.
    (call,) = stub_llm.requests_mentioning(tag)
    assert call["body"]["stream"] is True


def test_stream_with_a_tool_call(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    tag = token()
    with client.stream(
        "POST", f"{AGENTS}/assistant/stream", json={"input": f"{tag} use tool calculator: 6*7"}
    ) as response:
        assert response.status_code == 200
        events = parse_sse(response.read().decode())
    assert events[-1].event == "done"
    streamed = "".join(
        e.data["content"] if isinstance(e.data, dict) else str(e.data) for e in events if e.event == "token"
    )
    assert "The calculator tool returned: 42" in streamed
    assert len(stub_llm.requests_mentioning(tag)) == 2
    # The tool call and its result are announced between the tokens.
    tools = [e.data for e in events if e.event == "tool"]
    assert [(t["type"], t["name"]) for t in tools] == [("call", "calculator"), ("result", "calculator")]
    assert tools[0]["args"] == {"expression": "6*7"}
    assert tools[1]["content"] == "42"
    assert tools[0]["id"] == tools[1]["id"]
    assert events[-1].data["output"] == streamed


def test_history_is_trimmed_before_each_model_call(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    thread_id = None
    tags = [token(f"turn{i}") for i in range(MAX_HISTORY)]
    for tag in tags:  # every turn adds a user and an assistant message
        thread_id = invoke(client, "plain", f"{tag} hello", thread_id=thread_id)["thread_id"]
    (last_call,) = stub_llm.requests_mentioning(tags[-1])
    messages = last_call["body"]["messages"]
    assert messages[0]["role"] == "system"
    assert len(messages) - 1 <= MAX_HISTORY, f"{len(messages) - 1} messages besides the system prompt"
    assert content(messages[-1]) == f"{tags[-1]} hello"
    assert messages[1]["role"] == "user", "the window must open at a user turn"
    sent = json.dumps(messages)
    assert tags[0] not in sent, "the oldest turn should have been trimmed"
    assert tags[-2] in sent, "the previous turn should still be there"
    # Trimming only shapes what the model sees: the stored thread still has every turn.
    thread = client.get(f"{AGENTS}/plain/threads/{thread_id}").json()
    assert len(thread["messages"]) == 2 * MAX_HISTORY


def test_read_a_thread(client: httpx.Client) -> None:
    tag = token()
    result = invoke(client, "assistant", f"{tag} use tool calculator: 1+1")
    response = client.get(f"{AGENTS}/assistant/threads/{result['thread_id']}")
    assert response.status_code == 200
    thread = response.json()
    assert thread["thread_id"] == result["thread_id"]
    assert thread["agent"] == "assistant"
    messages = thread["messages"]
    assert all(set(m) >= {"role", "content"} for m in messages)
    assert messages[0]["content"] == f"{tag} use tool calculator: 1+1"
    assert messages[-1]["content"] == result["output"]
    assert messages[0]["role"] in ("user", "human")
    assert messages[-1]["role"] in ("assistant", "ai")


def test_unknown_thread_is_404(client: httpx.Client) -> None:
    assert_problem(client.get(f"{AGENTS}/plain/threads/no-such-thread-{token()}"), 404)


def test_delete_a_thread_forgets_it(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    first = invoke(client, "plain", f"{token()} remember me")
    thread_id = first["thread_id"]
    response = client.delete(f"{AGENTS}/plain/threads/{thread_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(f"{AGENTS}/plain/threads/{thread_id}"), 404)
    # The same thread id now starts from nothing: the LLM sees no earlier turn.
    tag = token()
    invoke(client, "plain", f"{tag} fresh start", thread_id=thread_id)
    (call,) = stub_llm.requests_mentioning(tag)
    assert roles(call) == ["system", "user"]


def test_sessions_clear_by_thread_ids(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    kept = invoke(client, "plain", f"{token()} kept")["thread_id"]
    dropped = invoke(client, "plain", f"{token()} dropped")["thread_id"]
    response = client.post("/api/admin/sessions/clear", json={"thread_ids": [dropped]})
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts["cleared"] == 1, counts
    assert counts["thread_ids"] == [dropped]
    assert_problem(client.get(f"{AGENTS}/plain/threads/{dropped}"), 404)
    assert client.get(f"{AGENTS}/plain/threads/{kept}").status_code == 200


def test_sessions_clear_older_than(client: httpx.Client) -> None:
    thread_id = invoke(client, "plain", f"{token()} recent")["thread_id"]
    # Nothing is a day old: this clears nothing of ours.
    response = client.post("/api/admin/sessions/clear", json={"older_than_seconds": 86_400})
    assert response.status_code == 200, response.text
    assert client.get(f"{AGENTS}/plain/threads/{thread_id}").status_code == 200
    # Everything is older than 0 seconds.
    response = client.post("/api/admin/sessions/clear", json={"older_than_seconds": 0})
    assert response.status_code == 200, response.text
    assert_problem(client.get(f"{AGENTS}/plain/threads/{thread_id}"), 404)


def test_chains(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    listing = client.get("/api/chains")
    assert listing.status_code == 200
    assert "summarize" in json.dumps(listing.json())
    tag = token()
    response = client.post("/api/chains/summarize/invoke", json={"input": f"{tag} a long text"})
    assert response.status_code == 200, response.text
    assert f"Echo: {tag} a long text" in json.dumps(response.json())
    (call,) = stub_llm.requests_mentioning(tag)
    assert "SYSPROMPT-CHAIN" in content(call["body"]["messages"][0])
