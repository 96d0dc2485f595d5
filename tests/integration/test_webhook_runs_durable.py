"""A webhook event's run is an Agent Server background run: the real `langgraph_sdk` client sees it (with
an admin key; another owner's key gets 404, as on `/api/runs/{id}`), and when the process running it is
SIGKILLed mid-run, the restarted server takes it again and it ends exactly once: one answer in the
thread, one signed callback, the stub LLM's final call answered once."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import NotFoundError

from harness.http_checks import assert_problem, token, wait_until
from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers, verified
from harness.stub_openai import StubOpenAI
from harness.webhook_receiver import ALLOWED_HOST, SECRET, Receiver
from tests.conftest import API_KEY, Launcher

ALICE_KEY = "alice-webhook-runs-key-7d2f"
SETTINGS = {
    "WEBHOOK_SECRET": SECRET,
    "WEBHOOK_CALLBACK_ALLOWLIST": ALLOWED_HOST,
    "API_KEYS": f"alice:agents:{ALICE_KEY}",
    "LLM_MAX_RETRIES": "0",
    "BACKGROUND_RUN_LEASE_SECONDS": "2",
}


def signed_event(text: str, **extra: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"input": text, "agent": "plain", **extra}).encode()
    return body, signed_headers(SECRET, body)


def post(server: PlatformServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/webhooks/plain", content=body, headers=headers, timeout=15)


def run_status(server: PlatformServer, run_id: str, key: str = API_KEY) -> httpx.Response:
    return httpx.get(f"{server.url}/api/runs/{run_id}", headers={"X-API-Key": key}, timeout=10)


def kill(server: PlatformServer) -> None:
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)


def test_a_webhook_run_is_an_agent_server_run_of_its_owner_only(launch: Launcher) -> None:
    server = launch(workers=2, **SETTINGS)
    tag = token()
    accepted = post(server, *signed_event(f"{tag} seen by the sdk"))
    assert accepted.status_code == 202, accepted.text
    run_id, thread_id = accepted.json()["run_id"], accepted.json()["thread_id"]
    with get_sync_client(url=server.url, api_key=API_KEY) as sdk:
        values = sdk.runs.join(thread_id, run_id)
        run = sdk.runs.get(thread_id, run_id)
        assert (run["run_id"], run["assistant_id"], run["status"]) == (run_id, "plain", "success")
        assert [r["run_id"] for r in sdk.runs.list(thread_id)] == [run_id]
    assert values["messages"][-1]["content"] == f"Echo: {tag} seen by the sdk"
    status = run_status(server, run_id).json()
    assert (status["status"], status["thread_id"]) == ("succeeded", thread_id)
    assert status["result"]["output"] == f"Echo: {tag} seen by the sdk"
    with get_sync_client(url=server.url, api_key=ALICE_KEY) as alice:
        with pytest.raises(NotFoundError):
            alice.runs.get(thread_id, run_id)
        with pytest.raises(NotFoundError):
            alice.threads.get(thread_id)
    assert_problem(run_status(server, run_id, ALICE_KEY), 404)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_webhook_run_whose_process_is_killed_ends_exactly_once(
    request: pytest.FixtureRequest, launch: Launcher, stub_llm: StubOpenAI, tmp_path: Path, backend: str
) -> None:
    env = dict(SETTINGS)
    if backend == "postgresql":
        env["CHECKPOINTER_URL"] = request.getfixturevalue("postgres_url")
    first = launch(data_dir=tmp_path, **env)
    tag = token()
    text = f"{tag} [stub:slow=3000]"
    with Receiver(ALLOWED_HOST) as receiver:
        body, headers = signed_event(text, callback_url=receiver.url)
        accepted = post(first, body, headers)
        assert accepted.status_code == 202, accepted.text
        run_id, thread_id = accepted.json()["run_id"], accepted.json()["thread_id"]
        wait_until(lambda: stub_llm.requests_mentioning(tag), timeout=10, what="the run's LLM call")
        kill(first)

        second = launch(data_dir=tmp_path, **env)
        # The event id outlives the process: a sender retrying after the crash does not start a second run.
        assert_problem(post(second, body, headers), 409, headers["webhook-id"])
        wait_until(lambda: receiver.received, timeout=30, what="the callback")
        time.sleep(1.0)  # a second delivery would show up by now
        status = run_status(second, run_id).json()
    assert [code for code, _, _ in receiver.received] == [200]
    _, callback_headers, callback_body = receiver.received[0]
    assert verified(SECRET, callback_headers, callback_body)
    payload = json.loads(callback_body)
    assert (payload["run_id"], payload["status"]) == (run_id, "succeeded")
    assert payload["result"]["output"] == f"Echo: {text}"
    assert (status["status"], status["result"]["output"]) == ("succeeded", f"Echo: {text}")
    # The killed attempt's call never got its answer; the retry's is the only one answered.
    assert len(stub_llm.requests_mentioning(tag)) == 2
    with get_sync_client(url=second.url, api_key=API_KEY) as sdk:
        values = sdk.threads.get_state(thread_id)["values"]
        first_event = next(iter(sdk.runs.join_stream(thread_id, run_id)))
    assert isinstance(values, dict)
    assert [m["content"] for m in values["messages"]] == [text, f"Echo: {text}"]
    assert first_event.data == {"run_id": run_id, "attempt": 2}
