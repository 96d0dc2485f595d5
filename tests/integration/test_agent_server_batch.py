"""``POST /runs/batch`` through the real `langgraph_sdk` client (``runs.create_batch``): stateless
background runs created in one call, each joined to its own answer; a batch with one bad run, or more
runs than the bound, is refused whole (422 naming the run) and creates nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_platform.agent_server.schemas import MAX_BATCH_RUNS
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.schema import RunCreate

from harness.agent_server_calls import last_text, user
from harness.http_checks import token
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import Launcher


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(LLM_MAX_RETRIES="0", **state_store)


def run(text: str, **fields: Any) -> RunCreate:
    return {"assistant_id": "plain", "input": user(text), **fields}  # type: ignore[typeddict-item]


def test_a_batch_creates_every_run(sdk: SyncLangGraphClient) -> None:
    tag = token()
    created = sdk.runs.create_batch(
        [run(f"{tag} one", metadata={"n": 1}), run(f"{tag} two", thread_id=None), run(f"{tag} three")]
    )
    assert len(created) == 3
    assert len({r["run_id"] for r in created}) == 3
    assert (created[0]["metadata"] or {})["n"] == 1
    for item, word in zip(created, ["one", "two", "three"], strict=True):
        assert item["assistant_id"] == "plain"
        assert item["status"] in ("pending", "running", "success")
        # A stateless run answers to its own id as thread id.
        assert last_text(sdk.runs.join(item["thread_id"], item["run_id"])) == f"Echo: {tag} {word}"
        assert sdk.runs.get(item["thread_id"], item["run_id"])["status"] == "success"
    assert sdk.runs.create_batch([]) == []


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"assistant_id": "nobody"}, "nobody"),
        ({"webhook": "http://example.com/hook"}, "webhook"),
        ({"multitask_strategy": "sometimes"}, "multitask_strategy"),
        ({"thread_id": "a-thread"}, "thread_id"),
        ({"surprise": True}, "surprise"),
        ({"after_seconds": -1}, "after_seconds"),
    ],
    ids=["assistant", "webhook", "strategy", "thread", "unknown-field", "negative-delay"],
)
def test_one_bad_run_refuses_the_whole_batch(
    sdk: SyncLangGraphClient, stub_llm: StubOpenAI, bad: dict[str, Any], named: str
) -> None:
    tag = token()
    batch = [run(f"{tag} fine"), run(f"{tag} fine too"), {**run(f"{tag} bad"), **bad}]
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sdk.runs.create_batch(batch)  # type: ignore[arg-type]
    response = refused.value.response
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert named in detail
    assert "2" in detail  # the bad run's index
    # Nothing of the batch ran: the good runs never reached the model.
    assert stub_llm.requests_mentioning(tag) == []


def test_a_batch_over_the_bound_is_refused(sdk: SyncLangGraphClient, stub_llm: StubOpenAI) -> None:
    tag = token()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sdk.runs.create_batch([run(f"{tag} {i}") for i in range(MAX_BATCH_RUNS + 1)])
    assert refused.value.response.status_code == 422
    assert str(MAX_BATCH_RUNS) in refused.value.response.json()["detail"]
    assert stub_llm.requests_mentioning(tag) == []


def test_a_batch_must_be_a_list(client: httpx.Client) -> None:
    for body in ({"assistant_id": "plain"}, "runs", [1]):
        response = client.post("/runs/batch", json=body)
        assert response.status_code == 422, (body, response.text)
