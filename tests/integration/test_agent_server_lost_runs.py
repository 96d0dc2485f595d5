"""A background run whose server process is SIGKILLed mid-run: the next process takes it again once
its lease expired (``attempt`` 2, the thread holding the turn once), or marks it ``error`` when
``BACKGROUND_RUN_RETRY_LOST=false``; the stub LLM never answers its final call twice."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from harness.agent_server_calls import user
from harness.http_checks import token
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

LEASE_SECONDS = "2"


def kill(server: PlatformServer) -> None:
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)


@pytest.mark.parametrize(("backend", "retry"), [("sqlite", True), ("sqlite", False), ("postgresql", True)])
def test_a_killed_holders_run_is_retried_or_marked_error(
    request: pytest.FixtureRequest,
    launch: Launcher,
    stub_llm: StubOpenAI,
    tmp_path: Path,
    backend: str,
    retry: bool,
) -> None:
    env = {
        "LLM_MAX_RETRIES": "0",
        "BACKGROUND_RUN_LEASE_SECONDS": LEASE_SECONDS,
        "BACKGROUND_RUN_RETRY_LOST": str(retry).lower(),
    }
    if backend == "postgresql":
        env["CHECKPOINTER_URL"] = request.getfixturevalue("postgres_url")
    first = launch(data_dir=tmp_path, **env)
    tag = token()
    with get_sync_client(url=first.url, api_key=API_KEY) as sdk:
        thread_id = sdk.threads.create()["thread_id"]
        run = sdk.runs.create(thread_id, "plain", input=user(f"{tag} [stub:slow=3000]"))
    deadline = time.monotonic() + 10
    while not stub_llm.requests_mentioning(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stub_llm.requests_mentioning(tag)) == 1
    kill(first)

    second = launch(data_dir=tmp_path, **env)
    with get_sync_client(url=second.url, api_key=API_KEY) as sdk:
        values = sdk.runs.join(thread_id, run["run_id"])
        ended = sdk.runs.get(thread_id, run["run_id"])
        if not retry:
            assert ended["status"] == "error"
            assert values["__error__"]["error"] == "RunLost"
            assert len(stub_llm.requests_mentioning(tag)) == 1
            return
        assert ended["status"] == "success"
        texts = [m["content"] for m in values["messages"]]
        assert texts == [f"{tag} [stub:slow=3000]", f"Echo: {tag} [stub:slow=3000]"]
        # The killed attempt's call never got its answer; the retry's is the only one answered.
        assert len(stub_llm.requests_mentioning(tag)) == 2
        parts = list(sdk.runs.join_stream(thread_id, run["run_id"]))
        assert parts[0].data == {"run_id": run["run_id"], "attempt": 2}


def test_a_run_held_at_a_graceful_stop_is_given_back_not_failed(
    launch: Launcher, stub_llm: StubOpenAI, tmp_path: Path
) -> None:
    """SIGTERM with a run longer than the grace period: the run goes back to pending while the state store
    is still open (not `error` from a closed connection), and the next process ends it."""
    env = {
        "LLM_MAX_RETRIES": "0",
        "SHUTDOWN_GRACE_SECONDS": "1",
        "BACKGROUND_RUN_LEASE_SECONDS": LEASE_SECONDS,
    }
    first = launch(data_dir=tmp_path, **env)
    tag = token()
    text = f"{tag} [stub:slow=4000]"
    with get_sync_client(url=first.url, api_key=API_KEY) as sdk:
        thread_id = sdk.threads.create()["thread_id"]
        run = sdk.runs.create(thread_id, "plain", input=user(text))
    deadline = time.monotonic() + 10
    while not stub_llm.requests_mentioning(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stub_llm.requests_mentioning(tag)) == 1
    first.stop()
    assert "agent server run failed" not in first.log_text(), first.log_tail()

    second = launch(data_dir=tmp_path, **env)
    with get_sync_client(url=second.url, api_key=API_KEY) as sdk:
        values = sdk.runs.join(thread_id, run["run_id"])
        ended = sdk.runs.get(thread_id, run["run_id"])
        assert ended["status"] == "success", ended
        # The drained attempt's turn was closed as cancelled (its placeholder answer stays in the thread);
        # the retry asks again and answers.
        texts = [m["content"] for m in values["messages"]]
        assert (texts[0], texts[-2], texts[-1]) == (text, text, f"Echo: {text}"), texts
