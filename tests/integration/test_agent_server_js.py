"""The Agent Server API driven by the official JS client, `@langchain/langgraph-sdk` (pinned in
tests/support/js/package-lock.json, installed by lab/js-sdk.sh): a node script makes the calls the Python
SDK tests make against a real server and the stub LLM, and prints what each answered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.agent_server_calls import contents
from harness.http_checks import token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

JS_DIR = Path(__file__).resolve().parents[1] / "support" / "js"
SCRIPT = JS_DIR / "agent_server_calls.mjs"
SDK_VERSION = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["@langchain/langgraph-sdk"]
AGENTS = "/api/enterprise/agents"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS_DIR / "node_modules" / "@langchain" / "langgraph-sdk").is_dir(),
    reason="node (20 or later) or the JS SDK absent: lab/js-sdk.sh installs them (`make deps` runs it)",
)


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(LLM_MAX_RETRIES="0", **state_store)


@pytest.fixture(scope="module")
def tag() -> str:
    return token()


@pytest.fixture(scope="module")
def answers(server: PlatformServer, tag: str) -> dict[str, Any]:
    # A minimal environment: a LANGSMITH_API_KEY of the developer's must not reach the client.
    env = {"PATH": os.environ["PATH"], "PLATFORM_URL": server.url, "PLATFORM_API_KEY": API_KEY}
    done = subprocess.run(
        ["node", str(SCRIPT), tag],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_pinned_sdk_ran(answers: dict[str, Any]) -> None:
    assert answers["sdk_version"] == SDK_VERSION


def test_assistants_are_the_agents_of_the_agents_file(answers: dict[str, Any]) -> None:
    assert answers["assistants"] == [
        {"assistant_id": name, "graph_id": name} for name in ("assistant", "fetcher", "plain")
    ]
    assert answers["assistant"]["assistant_id"] == answers["assistant"]["graph_id"] == "assistant"
    assert answers["assistant"]["version"] == 1


def test_threads_create_get_and_search(answers: dict[str, Any], tag: str) -> None:
    created = answers["created"]
    assert created["status"] == "idle"
    assert created["metadata"] == {"tag": tag}
    assert answers["got"]["thread_id"] == created["thread_id"]
    assert answers["got"]["metadata"] == {"tag": tag}
    assert answers["found"] == [created["thread_id"]]


def test_wait_runs_the_agent_and_state_shows_it(
    answers: dict[str, Any], tag: str, client: httpx.Client
) -> None:
    thread_id = answers["created"]["thread_id"]
    assert contents(answers["waited"])[0] == ("human", f"{tag} use tool calculator: 6*7")
    assert contents(answers["waited"])[-1] == ("ai", "The calculator tool returned: 42")
    state = answers["state"]
    assert contents(state["values"]) == contents(answers["waited"])
    assert state["checkpoint"]["thread_id"] == thread_id
    assert state["checkpoint"]["checkpoint_id"]
    # The client read the run's id from Content-Location, for the wait and for the stream.
    assert [run["thread_id"] for run in answers["runs_created"]] == [thread_id, thread_id]
    assert all(run["run_id"] for run in answers["runs_created"])
    # The same thread through the enterprise API, after both runs.
    view = client.get(f"{AGENTS}/assistant/threads/{thread_id}").json()
    assert [m["content"] for m in view["messages"]][-1] == f"Echo: {tag} stream these words"


def test_stream_with_a_list_of_modes(answers: dict[str, Any], tag: str) -> None:
    parts = answers["stream"]
    events = [part["event"] for part in parts]
    assert events[0] == "metadata"
    assert parts[0]["data"]["run_id"] == answers["runs_created"][1]["run_id"]
    assert set(events[1:]) == {"values", "updates", "messages"}
    assert [int(part["id"]) for part in parts] == list(range(len(parts)))
    assert "model" in next(part["data"] for part in parts if part["event"] == "updates")
    chunks = [part["data"] for part in parts if part["event"] == "messages"]
    assert all(metadata["langgraph_node"] == "model" for _, metadata in chunks)
    assert "".join(chunk["content"] for chunk, _ in chunks) == f"Echo: {tag} stream these words"
    last_values = [part["data"] for part in parts if part["event"] == "values"][-1]
    assert contents(last_values)[-1] == ("ai", f"Echo: {tag} stream these words")
    assert len(last_values["messages"]) == 6


def test_an_unknown_thread_is_404_with_a_problem_body(answers: dict[str, Any], tag: str) -> None:
    missing = answers["not_found"]
    assert missing is not None, "getting an unknown thread did not fail"
    assert missing["kind"] == "HTTPError"
    assert missing["status"] == 404
    # The SDK's message is "HTTP 404: " and the body as it came.
    prefix, _, body = missing["message"].partition(": ")
    assert prefix == "HTTP 404"
    problem = json.loads(body)
    assert problem["status"] == 404
    assert f"missing-{tag}" in problem["detail"]
