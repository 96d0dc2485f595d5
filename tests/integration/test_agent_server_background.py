"""Background runs of the Agent Server API through the real `langgraph_sdk` client: the run table in
SQLite and PostgreSQL, taken by the worker loop of any process, joined, streamed again after
Last-Event-ID, cancelled (the stub LLM gets no further call), and the multitask strategies."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from harness.agent_server_calls import last_text, user
from harness.http_checks import token
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import Launcher


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(workers=2, LLM_MAX_RETRIES="0", **state_store)


def wait_for_status(sdk: SyncLangGraphClient, thread_id: str, run_id: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run = sdk.runs.get(thread_id, run_id)
        if run["status"] == wanted or time.monotonic() > deadline:
            return dict(run)
        time.sleep(0.05)


def test_background_run_join_get_list_delete(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(thread_id, "plain", input=user(f"{tag} hello"), metadata={"tag": tag})
    assert run["status"] in ("pending", "running", "success")
    assert run["thread_id"] == thread_id
    assert run["metadata"]["tag"] == tag
    values = sdk.runs.join(thread_id, run["run_id"])
    assert last_text(values) == f"Echo: {tag} hello"
    got = sdk.runs.get(thread_id, run["run_id"])
    assert got["status"] == "success"
    assert [r["run_id"] for r in sdk.runs.list(thread_id)] == [run["run_id"]]
    assert sdk.runs.list(thread_id, status="error") == []
    assert last_text(sdk.threads.get_state(thread_id)["values"]) == f"Echo: {tag} hello"
    sdk.runs.delete(thread_id, run["run_id"])
    with pytest.raises(NotFoundError):
        sdk.runs.get(thread_id, run["run_id"])
    with pytest.raises(NotFoundError):
        sdk.runs.create("no-such-thread", "plain", input=user("x"))
    with pytest.raises(NotFoundError):
        sdk.runs.create(thread_id, "nobody", input=user("x"))
    with pytest.raises(UnprocessableEntityError):
        sdk.runs.create(thread_id, "plain", input=user("x"), webhook="http://example.com/hook")


def test_stateless_background_run(sdk: SyncLangGraphClient) -> None:
    tag = token()
    run = sdk.runs.create(None, "plain", input=user(f"{tag} alone"))
    values = sdk.runs.join(run["thread_id"], run["run_id"])
    assert last_text(values) == f"Echo: {tag} alone"


def test_join_stream_replays_and_resumes_after_last_event_id(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(
        thread_id,
        "assistant",
        input=user(f"{tag} use tool calculator: 6*7"),
        stream_mode=["values", "updates"],
    )
    parts = [(p.event, p.data, p.id) for p in sdk.runs.join_stream(thread_id, run["run_id"])]
    assert parts[0][0] == "metadata"
    assert parts[0][1] == {"run_id": run["run_id"], "attempt": 1}
    assert {event for event, _, _ in parts[1:]} == {"values", "updates"}
    assert [int(str(i)) for _, _, i in parts] == list(range(len(parts)))
    again = [
        (p.event, p.data, p.id) for p in sdk.runs.join_stream(thread_id, run["run_id"], last_event_id="2")
    ]
    assert again == parts[3:]


def test_many_background_runs_each_end_exactly_once(sdk: SyncLangGraphClient, stub_llm: StubOpenAI) -> None:
    tag = token()
    created = [
        (run["thread_id"], run["run_id"], n)
        for n in range(12)
        for run in [sdk.runs.create(None, "plain", input=user(f"{tag} run-{n:02d}"))]
    ]
    for thread_id, run_id, n in created:
        assert last_text(sdk.runs.join(thread_id, run_id)) == f"Echo: {tag} run-{n:02d}"
    for n in range(12):
        assert len(stub_llm.requests_mentioning(f"{tag} run-{n:02d}")) == 1, f"run {n} called the LLM twice"


def test_cancel_stops_the_llm_calls(sdk: SyncLangGraphClient, stub_llm: StubOpenAI) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(thread_id, "plain", input=user(f"{tag} [stub:slow=4000]"))
    wait_for_status(sdk, thread_id, run["run_id"], "running")
    deadline = time.monotonic() + 10
    while not stub_llm.requests_mentioning(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stub_llm.requests_mentioning(tag)) == 1
    started = time.monotonic()
    sdk.runs.cancel(thread_id, run["run_id"], wait=True)
    assert time.monotonic() - started < 3.5, "cancel waited for the LLM call instead of aborting it"
    assert sdk.runs.get(thread_id, run["run_id"])["status"] == "interrupted"
    time.sleep(1.0)
    assert len(stub_llm.requests_mentioning(tag)) == 1
    assert sdk.threads.get(thread_id)["status"] == "idle"


def test_multitask_strategies(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    first = sdk.runs.create(thread_id, "plain", input=user(f"{tag} first [stub:slow=1500]"))
    with pytest.raises(ConflictError):
        sdk.runs.create(thread_id, "plain", input=user(f"{tag} rejected"), multitask_strategy="reject")
    queued = sdk.runs.create(thread_id, "plain", input=user(f"{tag} queued"), multitask_strategy="enqueue")
    values = sdk.runs.join(thread_id, queued["run_id"])
    texts = [m["content"] for m in values["messages"]]
    assert texts == [
        f"{tag} first [stub:slow=1500]",
        f"Echo: {tag} first [stub:slow=1500]",
        f"{tag} queued",
        f"Echo: {tag} queued",
    ]
    assert sdk.runs.get(thread_id, first["run_id"])["status"] == "success"

    slow = sdk.runs.create(thread_id, "plain", input=user(f"{tag} slow [stub:slow=3000]"))
    wait_for_status(sdk, thread_id, slow["run_id"], "running")
    interrupting = sdk.runs.create(
        thread_id, "plain", input=user(f"{tag} interrupting"), multitask_strategy="interrupt"
    )
    assert last_text(sdk.runs.join(thread_id, interrupting["run_id"])) == f"Echo: {tag} interrupting"
    assert sdk.runs.get(thread_id, slow["run_id"])["status"] == "interrupted"

    before = sdk.threads.get_state(thread_id)["values"]
    doomed = sdk.runs.create(thread_id, "plain", input=user(f"{tag} doomed [stub:slow=3000]"))
    wait_for_status(sdk, thread_id, doomed["run_id"], "running")
    rolling = sdk.runs.wait(thread_id, "plain", input=user(f"{tag} after"), multitask_strategy="rollback")
    assert isinstance(rolling, dict)
    with pytest.raises(NotFoundError):
        sdk.runs.get(thread_id, doomed["run_id"])
    texts = [m["content"] for m in rolling["messages"]]
    assert texts == [m["content"] for m in before["messages"]] + [f"{tag} after", f"Echo: {tag} after"]
