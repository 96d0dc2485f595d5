"""SIGKILL in the middle of an agent run, then a restart (what Docker's restart policy does).

The earlier turns of the thread must survive, the thread must take new runs right after the
restart (a lease left by the killed run must not lock it), and the SQLite file must be intact.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from harness.http_checks import token, wait_until
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher
from tests.resilience.sqlite_check import integrity_check

INVOKE = "/api/enterprise/agents/assistant/invoke"
# How long after a restart a client may still get 409 from the killed run's lease.
LEASE_RECOVERY_SECONDS = 30

pytestmark = pytest.mark.slow


def test_sigkill_mid_run_then_restart_keeps_the_thread(
    launch: Launcher, stub_llm: StubOpenAI, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = launch(data_dir=data_dir)
    thread_id = token("crash")
    first = f"first turn {token()}"
    with server.client(API_KEY) as client:
        assert client.post(INVOKE, json={"input": first, "thread_id": thread_id}).status_code == 200

    killed_run: dict[str, object] = {}
    in_flight = f"[stub:slow=10000] in-flight turn {token()}"

    def run_until_killed() -> None:
        try:
            with server.client(API_KEY) as client:
                killed_run["response"] = client.post(
                    INVOKE, json={"input": in_flight, "thread_id": thread_id}
                )
        except httpx.TransportError as exc:
            killed_run["error"] = exc

    runner = threading.Thread(target=run_until_killed)
    runner.start()
    # Kill only once the run is really in flight: the stub has received its model call.
    wait_until(lambda: stub_llm.requests_mentioning(in_flight), timeout=10, what="the in-flight LLM call")
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGKILL)
    assert server.proc.wait(timeout=10) == -signal.SIGKILL
    runner.join(timeout=15)
    assert "error" in killed_run, f"the killed run got an answer: {killed_run}"

    server.start()  # the restart policy's job
    with server.client(API_KEY) as client:
        assert client.get("/health/ready").status_code == 200
        history = client.get(f"/api/enterprise/agents/assistant/threads/{thread_id}")
        assert history.status_code == 200, history.text
        contents = [m["content"] for m in history.json()["messages"]]
        assert first in contents, contents
        assert f"Echo: {first}" in contents, contents

        def try_run() -> httpx.Response | None:
            response = client.post(INVOKE, json={"input": "after the restart", "thread_id": thread_id})
            return None if response.status_code == 409 else response

        # A lease left by the dead process may hold the thread a little while, not for minutes.
        after = wait_until(
            try_run, timeout=LEASE_RECOVERY_SECONDS, interval=1.0, what="the thread to be released"
        )
        assert after.status_code == 200, after.text
        assert after.json()["output"] == "Echo: after the restart"
    server.stop()
    assert integrity_check(data_dir / "state.sqlite") == ["ok"]
