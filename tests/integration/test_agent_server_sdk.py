"""The Agent Server API driven by the real `langgraph_sdk` client against a real server and the stub LLM:
meta, assistants (the agents file) and threads (the platform's state store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import APIStatusError, ConflictError, NotFoundError, UnprocessableEntityError

from harness.http_checks import token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

TEAM_KEY = "team-b-key-8c1d2e3f"
AGENTS = "/api/enterprise/agents"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agent-server-data")


@pytest.fixture(scope="module")
def server(launch: Launcher, data_dir: Path, state_store: dict[str, str]) -> PlatformServer:
    return launch(data_dir=data_dir, API_KEYS=f"team-b:agents:{TEAM_KEY}", LLM_MAX_RETRIES="0", **state_store)


@pytest.fixture(scope="module")
def team(server: PlatformServer) -> Iterator[SyncLangGraphClient]:
    with get_sync_client(url=server.url, api_key=TEAM_KEY) as client:
        yield client


def test_meta_answers_with_the_sdk_key_header(sdk: SyncLangGraphClient, server: PlatformServer) -> None:
    assert sdk.http.get("/ok") == {"ok": True}
    info = sdk.http.get("/info")
    assert info["flags"]["assistants"] is True
    assert info["version"]
    # The SDK sends the key as lower-case x-api-key; without one the gate refuses.
    with get_sync_client(url=server.url, api_key=None) as anonymous, pytest.raises(APIStatusError) as refused:
        anonymous.assistants.search()
    assert refused.value.status_code == 401


def test_assistants_are_the_agents_of_the_agents_file(sdk: SyncLangGraphClient) -> None:
    found = sdk.assistants.search(sort_by="assistant_id", sort_order="asc")
    assert [a["assistant_id"] for a in found] == ["assistant", "fetcher", "plain"]
    assert all(a["graph_id"] == a["assistant_id"] == a["name"] for a in found)
    assert (sdk.assistants.search(graph_id="plain"))[0]["description"].startswith("Test agent")
    assert sdk.assistants.search(metadata={"created_by": "nobody"}) == []
    assert len(sdk.assistants.search(metadata={"created_by": "system"})) == 3
    page = sdk.assistants.search(
        limit=2, offset=0, sort_by="assistant_id", sort_order="asc", response_format="object"
    )
    assert [a["assistant_id"] for a in page["assistants"]] == ["assistant", "fetcher"]
    assert page["next"] == "2"
    last = sdk.assistants.search(limit=2, offset=2, sort_by="assistant_id", sort_order="asc")
    assert [a["assistant_id"] for a in last] == ["plain"]
    assert sdk.assistants.count() == 3
    one = sdk.assistants.get("assistant")
    assert one["graph_id"] == "assistant"
    assert one["version"] == 1
    graph = sdk.assistants.get_graph("assistant")
    assert {"__start__", "model", "tools", "__end__"} <= {node["id"] for node in graph["nodes"]}
    assert graph["edges"]
    schemas = sdk.assistants.get_schemas("plain")
    assert schemas["graph_id"] == "plain"
    assert "messages" in schemas["input_schema"]["properties"]
    assert "messages" in schemas["state_schema"]["properties"]


def test_assistants_are_read_only_and_unknown_ones_404(sdk: SyncLangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        sdk.assistants.get("nobody")
    with pytest.raises(NotFoundError):
        sdk.assistants.get_schemas("nobody")
    attempts: list[Callable[[], object]] = [
        lambda: sdk.assistants.create("plain"),
        lambda: sdk.assistants.update("plain", metadata={"a": 1}),
        lambda: sdk.assistants.delete("plain"),
    ]
    for attempt in attempts:
        with pytest.raises(APIStatusError) as refused:
            attempt()
        assert refused.value.status_code == 405
        assert "agents file" in refused.value.message
    with pytest.raises(UnprocessableEntityError):
        sdk.assistants.search(limit=0)
    with pytest.raises(UnprocessableEntityError):
        sdk.http.post("/assistants/search", json={"sort_by": "colour"})


def test_thread_lifecycle(sdk: SyncLangGraphClient) -> None:
    tag = token()
    created = sdk.threads.create(metadata={"tag": tag, "kind": "a"})
    assert created["status"] == "idle"
    assert created["metadata"] == {"tag": tag, "kind": "a"}
    assert created["values"] is None
    thread_id = created["thread_id"]
    assert (sdk.threads.get(thread_id))["metadata"] == {"tag": tag, "kind": "a"}
    mine = sdk.threads.create(thread_id=f"t-{tag}", metadata={"tag": tag, "kind": "b"})
    assert mine["thread_id"] == f"t-{tag}"
    with pytest.raises(ConflictError):
        sdk.threads.create(thread_id=f"t-{tag}")
    again = sdk.threads.create(thread_id=f"t-{tag}", if_exists="do_nothing")
    assert again["metadata"]["kind"] == "b"
    found = sdk.threads.search(metadata={"tag": tag})
    assert {t["thread_id"] for t in found} == {thread_id, f"t-{tag}"}
    assert [t["thread_id"] for t in sdk.threads.search(metadata={"tag": tag, "kind": "b"})] == [f"t-{tag}"]
    assert len(sdk.threads.search(metadata={"tag": tag}, limit=1)) == 1
    assert len(sdk.threads.search(metadata={"tag": tag}, limit=1, offset=1)) == 1
    assert sdk.threads.search(metadata={"tag": tag}, status="busy") == []
    assert sdk.threads.count(metadata={"tag": tag}) == 2
    updated = sdk.threads.update(thread_id, metadata={"kind": "c", "extra": 1})
    assert updated["metadata"] == {"tag": tag, "kind": "c", "extra": 1}
    sdk.threads.delete(thread_id)
    with pytest.raises(NotFoundError):
        sdk.threads.get(thread_id)
    with pytest.raises(NotFoundError):
        sdk.threads.delete(thread_id)
    with pytest.raises(UnprocessableEntityError):
        sdk.threads.create(if_exists="sometimes")  # type: ignore[arg-type]
    with pytest.raises(UnprocessableEntityError):
        sdk.threads.search(status="sleeping")  # type: ignore[arg-type]
    with pytest.raises(UnprocessableEntityError):
        sdk.http.patch(f"/threads/t-{tag}", json={"metadata": "not an object"})


def test_threads_belong_to_their_owner(sdk: SyncLangGraphClient, team: SyncLangGraphClient) -> None:
    tag = token()
    theirs = team.threads.create(metadata={"tag": tag})
    with pytest.raises(NotFoundError):
        team.threads.get((sdk.threads.create(metadata={"tag": tag}))["thread_id"])
    assert [t["thread_id"] for t in team.threads.search(metadata={"tag": tag})] == [theirs["thread_id"]]
    # The operator key holds the admin scope: it sees every owner's threads.
    assert len(sdk.threads.search(metadata={"tag": tag})) == 2
    # Its id is taken all the same, without telling whose it is.
    with pytest.raises(ConflictError):
        sdk.threads.create(thread_id=theirs["thread_id"])


def test_a_run_cannot_adopt_another_owners_invoke_thread(
    sdk: SyncLangGraphClient, team: SyncLangGraphClient, server: PlatformServer
) -> None:
    """A thread only `/invoke` knows (no Agent Server row yet) stays its owner's: `if_not_exists=create`
    from another key must neither run on it nor leave a row that lets that key read it afterwards."""
    secret = f"{token()} private note"
    with server.client(api_key=API_KEY) as ops:
        answer = ops.post(f"{AGENTS}/assistant/invoke", json={"input": secret})
        assert answer.status_code == 200, answer.text
        thread_id = answer.json()["thread_id"]
    # runs.wait reads its answer as a stream: the SDK raises httpx's error, not its typed one.
    with pytest.raises(httpx.HTTPStatusError) as refused:
        team.runs.wait(
            thread_id,
            "assistant",
            input={"messages": [{"role": "user", "content": "x"}]},
            if_not_exists="create",
        )
    assert refused.value.response.status_code == 404
    with pytest.raises(NotFoundError):
        team.threads.get_state(thread_id)
    with pytest.raises(NotFoundError):
        team.threads.get(thread_id)
    assert thread_id not in [t["thread_id"] for t in team.threads.search(limit=1000)]
    # The owner still reads it.
    assert secret in str(sdk.threads.get_state(thread_id)["values"])
