"""Runs of the Agent Server API through the real `langgraph_sdk` client: wait and stream on threads and
stateless, stream modes, errors, the run guard's 409, and one thread shared with /api/enterprise."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

from harness.agent_server_calls import contents, user
from harness.http_checks import token
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

AGENTS = "/api/enterprise/agents"


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(LLM_MAX_RETRIES="0", **state_store)


def test_wait_on_a_thread_is_the_enterprise_thread(sdk: SyncLangGraphClient, client: httpx.Client) -> None:
    tag = token()
    thread = sdk.threads.create(metadata={"tag": tag})
    thread_id = thread["thread_id"]
    values = sdk.runs.wait(thread_id, "assistant", input=user(f"{tag} use tool calculator: 6*7"))
    assert isinstance(values, dict)
    assert contents(values)[-1] == ("ai", "The calculator tool returned: 42")
    # The same thread through the enterprise API, and a turn there shows through the SDK.
    view = client.get(f"{AGENTS}/assistant/threads/{thread_id}").json()
    assert [m["content"] for m in view["messages"]] == [m["content"] for m in values["messages"]]
    turn = client.post(f"{AGENTS}/assistant/invoke", json={"input": f"{tag} again", "thread_id": thread_id})
    assert turn.status_code == 200
    state = sdk.threads.get_state(thread_id)
    assert contents(state["values"])[-1] == ("ai", f"Echo: {tag} again")
    assert state["checkpoint"]["thread_id"] == thread_id
    assert state["checkpoint"]["checkpoint_id"]
    got = sdk.threads.get(thread_id)
    assert got["status"] == "idle"
    assert got["metadata"] == {"tag": tag}
    assert len(got["values"]["messages"]) == 6
    history = sdk.threads.get_history(thread_id, limit=3)
    assert len(history) == 3
    assert history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]


def test_a_thread_the_enterprise_api_made_is_an_sdk_thread(
    sdk: SyncLangGraphClient, client: httpx.Client
) -> None:
    tag = token()
    answer = client.post(f"{AGENTS}/plain/invoke", json={"input": f"{tag} hello"}).json()
    thread = sdk.threads.get(answer["thread_id"])
    assert contents(thread["values"]) == [("human", f"{tag} hello"), ("ai", f"Echo: {tag} hello")]
    values = sdk.runs.wait(answer["thread_id"], "plain", input=user(f"{tag} second"))
    assert isinstance(values, dict)
    assert len(values["messages"]) == 4


def test_state_update_copy_and_delete(sdk: SyncLangGraphClient, client: httpx.Client) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    sdk.runs.wait(thread_id, "plain", input=user(f"{tag} one"))
    updated = sdk.threads.update_state(thread_id, {"messages": [{"role": "user", "content": f"{tag} added"}]})
    assert updated["checkpoint"]["checkpoint_id"]
    assert contents(sdk.threads.get_state(thread_id)["values"])[-1] == ("human", f"{tag} added")
    copy = sdk.threads.copy(thread_id)
    assert copy["thread_id"] != thread_id
    assert contents(copy["values"]) == contents(sdk.threads.get_state(thread_id)["values"])
    assert client.get(f"{AGENTS}/plain/threads/{copy['thread_id']}").status_code == 200
    sdk.threads.delete(thread_id)
    assert client.get(f"{AGENTS}/plain/threads/{thread_id}").status_code == 404
    assert sdk.threads.get(copy["thread_id"])["thread_id"] == copy["thread_id"]


def test_stateless_wait_stores_nothing(sdk: SyncLangGraphClient) -> None:
    tag = token()
    values = sdk.runs.wait(None, "plain", input=user(f"{tag} alone"))
    assert isinstance(values, dict)
    assert contents(values) == [("human", f"{tag} alone"), ("ai", f"Echo: {tag} alone")]


def stream(
    sdk: SyncLangGraphClient, thread_id: str | None, **kwargs: Any
) -> list[tuple[str, Any, str | None]]:
    return [(part.event, part.data, part.id) for part in sdk.runs.stream(thread_id, **kwargs)]


def test_stream_modes(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    parts = stream(
        sdk,
        thread_id,
        assistant_id="assistant",
        input=user(f"{tag} use tool calculator: 2+3"),
        stream_mode="values",
    )
    events = [event for event, _, _ in parts]
    assert events[0] == "metadata"
    assert parts[0][1]["attempt"] == 1
    assert parts[0][1]["run_id"]
    assert set(events[1:]) == {"values"}
    assert contents(parts[-1][1])[-1] == ("ai", "The calculator tool returned: 5")
    assert [int(str(event_id)) for _, _, event_id in parts] == list(range(len(parts)))

    updates = stream(sdk, thread_id, assistant_id="assistant", input=user(f"{tag} hi"), stream_mode="updates")
    assert [event for event, _, _ in updates] == ["metadata", "updates"]
    assert "model" in updates[1][1]

    tuples = stream(
        sdk, None, assistant_id="plain", input=user(f"{tag} stream these words"), stream_mode="messages-tuple"
    )
    messages = [data for event, data, _ in tuples if event == "messages"]
    assert len(messages) >= 3
    chunk, metadata = messages[0]
    assert chunk["type"] == "AIMessageChunk"
    assert metadata["langgraph_node"] == "model"
    assert "".join(m[0]["content"] for m in messages) == f"Echo: {tag} stream these words"

    mixed = stream(
        sdk,
        None,
        assistant_id="plain",
        input=user(f"{tag} mixed"),
        stream_mode=["values", "updates", "debug", "custom"],
    )
    assert {event for event, _, _ in mixed} == {"metadata", "values", "updates", "debug"}

    events_mode = stream(
        sdk, None, assistant_id="plain", input=user(f"{tag} events"), stream_mode=["events", "values"]
    )
    kinds = {data["event"] for event, data, _ in events_mode if event == "events"}
    assert {"on_chain_start", "on_chat_model_stream", "on_chain_end"} <= kinds
    assert contents([data for event, data, _ in events_mode if event == "values"][-1])[-1] == (
        "ai",
        f"Echo: {tag} events",
    )


def test_run_failures_are_error_events_and_error_bodies(
    sdk: SyncLangGraphClient, stub_llm: StubOpenAI
) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    parts = stream(sdk, thread_id, assistant_id="plain", input=user(f"{tag} [stub:500]"))
    assert parts[0][0] == "metadata"
    event, data, _ = parts[-1]
    assert event == "error"
    assert data["error"] == "LLMFailure"
    assert "500" in data["message"]
    assert sdk.threads.get(thread_id)["status"] == "error"
    with pytest.raises(Exception, match="LLMFailure"):
        sdk.runs.wait(thread_id, "plain", input=user(f"{tag} [stub:500]"))
    failed = sdk.runs.wait(thread_id, "plain", input=user(f"{tag} [stub:500]"), raise_error=False)
    assert isinstance(failed, dict)
    assert failed["__error__"]["error"] == "LLMFailure"


def test_a_busy_thread_is_409_and_bad_runs_are_refused(
    sdk: SyncLangGraphClient, server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    started = threading.Event()
    results: list[Any] = []

    def slow() -> None:
        started.set()
        results.append(sdk.runs.wait(thread_id, "plain", input=user(f"{tag} [stub:slow=1500]")))

    runner = threading.Thread(target=slow)
    runner.start()
    started.wait()
    with get_sync_client(url=server.url, api_key=API_KEY) as other:
        for _ in range(50):
            if other.threads.get(thread_id)["status"] == "busy":
                break
            time.sleep(0.05)
        with pytest.raises(httpx.HTTPStatusError) as busy:
            other.runs.wait(thread_id, "plain", input=user("second"), multitask_strategy="reject")
        assert busy.value.response.status_code == 409
        assert other.threads.get(thread_id)["status"] == "busy"
    runner.join()
    assert contents(results[0])[-1][0] == "ai"

    with pytest.raises(NotFoundError):
        list(sdk.runs.stream("no-such-thread", "plain", input=user("x")))
    created = stream(sdk, f"new-{tag}", assistant_id="plain", input=user("x"), if_not_exists="create")
    assert created[-1][0] == "values"
    with pytest.raises(NotFoundError):
        list(sdk.runs.stream(None, "nobody", input=user("x")))
    with pytest.raises(UnprocessableEntityError):
        list(sdk.runs.stream(None, "plain", input=user("x"), stream_mode="colours"))  # type: ignore[arg-type]
    # enqueue goes through the run table (test_agent_server_background.py): the stream is the queued run's.
    queued = stream(sdk, thread_id, assistant_id="plain", input=user("x"), multitask_strategy="enqueue")
    assert [event for event, _, _ in queued] == ["metadata", "values", "values"]
    with pytest.raises(UnprocessableEntityError):
        list(sdk.runs.stream(None, "plain", input=user("x"), webhook="http://example.com/hook"))
    with pytest.raises(UnprocessableEntityError):
        list(sdk.runs.stream(None, "plain", input=user("x"), stream_mode=["values", "tokens"]))  # type: ignore[list-item]


@pytest.mark.parametrize(
    "config",
    [
        {"configurable": "not an object"},
        {"tags": "one-string"},
        {"recursion_limit": "many"},
        {"recursion_limit": 0},
        {"recursion_limit": 10**6},
        {"callbacks": []},
    ],
    ids=["configurable", "tags", "recursion-type", "recursion-zero", "recursion-huge", "unknown-key"],
)
def test_a_run_config_of_the_wrong_shape_is_422(sdk: SyncLangGraphClient, config: dict[str, Any]) -> None:
    with pytest.raises(UnprocessableEntityError):
        list(sdk.runs.stream(None, "plain", input=user("x"), config=config))  # type: ignore[arg-type]
    # `wait` raises httpx's error, as the SDK's own code does for it.
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sdk.runs.wait(None, "plain", input=user("x"), config=config)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 422


def test_internal_configurable_keys_cannot_be_set_from_outside(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    # LangGraph reads `__pregel_*` keys as its own machinery; sent by a client they are dropped, and the
    # path's thread id wins over a `thread_id` in the body.
    config = {
        "configurable": {"__pregel_checkpointer": None, "thread_id": "someone-else"},
        "recursion_limit": 50,
    }
    values = sdk.runs.wait(thread_id, "plain", input=user(f"{tag} hello"), config=config)  # type: ignore[arg-type]
    assert isinstance(values, dict)
    assert contents(values)[-1] == ("ai", f"Echo: {tag} hello")
    assert contents(sdk.threads.get_state(thread_id)["values"])[-1] == ("ai", f"Echo: {tag} hello")
    with pytest.raises(NotFoundError):
        sdk.threads.get("someone-else")
