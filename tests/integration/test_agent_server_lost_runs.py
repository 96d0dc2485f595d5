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
