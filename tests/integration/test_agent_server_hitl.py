"""Human in the loop through the real `langgraph_sdk` client: the catalog's `ask_human` tool pauses a run
with LangGraph's interrupt(), the thread shows it (status, interrupts, state, search) and a run with
command={"resume": ...} continues it, through runs.wait, runs.stream and background runs.create."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph_sdk.client import SyncLangGraphClient

from harness.agent_server_calls import last_text, user
from harness.http_checks import token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

AGENTS_FILE = Path(__file__).parent.parent / "support" / "agents_hitl.yaml"


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(AGENTS_CONFIG=str(AGENTS_FILE), LLM_MAX_RETRIES="0", **state_store)


def ask(sdk: SyncLangGraphClient, question: str) -> str:
    """A new thread whose run stopped at ``ask_human`` with ``question``; its id."""
    thread_id = sdk.threads.create()["thread_id"]
    sdk.runs.wait(thread_id, "approver", input=user(f"use tool ask_human: {question}"))
    return thread_id


def test_ask_human_interrupts_and_the_thread_shows_it(sdk: SyncLangGraphClient) -> None:
    question = f"Approve transfer {token()}?"
    thread_id = ask(sdk, question)
    thread = sdk.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    [pending] = thread["interrupts"].values()
    assert [interrupt["value"] for interrupt in pending] == [{"question": question}]
    state = sdk.threads.get_state(thread_id)
    assert state["next"] == ["tools"]
    assert [interrupt["value"] for interrupt in state["interrupts"]] == [{"question": question}]
    found = sdk.threads.search(status="interrupted", limit=100)
    assert thread_id in [t["thread_id"] for t in found]
    assert thread_id not in [t["thread_id"] for t in sdk.threads.search(status="idle", limit=100)]


def test_resume_through_wait_continues_the_tool_call(sdk: SyncLangGraphClient) -> None:
    thread_id = ask(sdk, f"Approve {token()}?")
    values = sdk.runs.wait(thread_id, "approver", command={"resume": "approved"})
    assert isinstance(values, dict)
    assert last_text(values) == "The ask_human tool returned: approved"
    thread = sdk.threads.get(thread_id)
    assert thread["status"] == "idle"
    assert thread["interrupts"] == {}


def test_resume_through_stream_and_background_run(sdk: SyncLangGraphClient) -> None:
    thread_id = ask(sdk, f"Approve {token()}?")
    parts = list(sdk.runs.stream(thread_id, "approver", command={"resume": "streamed"}, stream_mode="values"))
    assert parts[0].event == "metadata"
    assert last_text(parts[-1].data) == "The ask_human tool returned: streamed"

    thread_id = ask(sdk, f"Approve {token()}?")
    run = sdk.runs.create(thread_id, "approver", command={"resume": "later"})
    assert last_text(sdk.runs.join(thread_id, run["run_id"])) == "The ask_human tool returned: later"
    assert sdk.runs.get(thread_id, run["run_id"])["status"] == "success"
    assert sdk.threads.get(thread_id)["status"] == "idle"


def test_enterprise_invoke_of_an_interrupted_thread_is_409(
    sdk: SyncLangGraphClient, server: PlatformServer
) -> None:
    thread_id = ask(sdk, f"Approve {token()}?")
    with server.client(api_key=API_KEY) as client:
        answer = client.post(
            "/api/enterprise/agents/approver/invoke", json={"input": "hello again", "thread_id": thread_id}
        )
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "resume" in answer.json()["detail"]
    # Refused before anything was written: the question still waits, and a resume still answers it.
    assert sdk.threads.get(thread_id)["status"] == "interrupted"
    values = sdk.runs.wait(thread_id, "approver", command={"resume": "yes"})
    assert isinstance(values, dict)
    assert last_text(values) == "The ask_human tool returned: yes"
