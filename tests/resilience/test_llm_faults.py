"""The LLM endpoint down, slow or answering garbage: a clear 502/504, and the service keeps serving.

Each fault is asserted on a real `langchain-platform serve` process talking HTTP to the loopback stub
(or to a port where nothing listens); after each one the same thread must still take a normal run.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from harness.http_checks import assert_problem, token, wait_until
from harness.platform_server import PlatformServer
from harness.ports import free_port
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

INVOKE = "/api/enterprise/agents/assistant/invoke"
LLM_TIMEOUT = 2

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def strict_timeouts(launch: Launcher) -> PlatformServer:
    # Two seconds per LLM call and no client retries keep the slow case short and its outcome exact.
    return launch(LLM_TIMEOUT_SECONDS=str(LLM_TIMEOUT), LLM_MAX_RETRIES="0")


def assert_still_serving(server: PlatformServer, thread_id: str) -> None:
    """Probes answer and the thread that saw the fault takes a normal run."""
    with server.client(API_KEY) as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").status_code == 200
        ok = client.post(INVOKE, json={"input": f"after the fault {token()}", "thread_id": thread_id})
    assert ok.status_code == 200, ok.text
    assert ok.json()["output"].startswith("Echo: after the fault")


def test_llm_down_answers_502_naming_the_upstream(launch: Launcher) -> None:
    dead = free_port()  # nothing listens here: connection refused
    server = launch(OPENAI_BASE_URL=f"http://127.0.0.1:{dead}/v1", LLM_MAX_RETRIES="1")
    thread_id = token("down")
    with server.client(API_KEY) as client:
        started = time.monotonic()
        response = client.post(INVOKE, json={"input": "hello", "thread_id": thread_id})
        elapsed = time.monotonic() - started
        body = assert_problem(response, 502)
        assert "LLM upstream unreachable" in body["detail"], body
        assert elapsed < 15, f"a refused connection took {elapsed:.1f}s to report"
        # The process keeps serving everything that does not need the LLM.
        assert client.get("/health/live").status_code == 200
        assert client.get("/api/enterprise/agents").status_code == 200
        history = client.get(f"/api/enterprise/agents/assistant/threads/{thread_id}")
    assert history.status_code in (200, 404), history.text


def test_slow_llm_answers_504_and_other_requests_are_not_blocked(
    strict_timeouts: PlatformServer, stub_llm: StubOpenAI
) -> None:
    thread_id = token("slow")
    marker = token("slow-call")
    outcome: dict[str, httpx.Response] = {}

    def slow_run() -> None:
        with strict_timeouts.client(API_KEY) as client:
            outcome["run"] = client.post(
                INVOKE, json={"input": f"[stub:slow=8000] {marker}", "thread_id": thread_id}
            )

    runner = threading.Thread(target=slow_run)
    started = time.monotonic()
    runner.start()
    # While the run waits on the LLM the event loop must keep answering.
    with strict_timeouts.client(API_KEY) as client:
        wait_until(lambda: stub_llm.requests_mentioning(marker), timeout=LLM_TIMEOUT, what="the slow call")
        assert client.get("/health/live").status_code == 200
        assert runner.is_alive(), "the probe only answered after the slow run had ended"
    runner.join(timeout=20)
    elapsed = time.monotonic() - started
    body = assert_problem(outcome["run"], 504)
    assert "LLM_TIMEOUT_SECONDS" in body["detail"], body
    assert elapsed < LLM_TIMEOUT + 4, f"LLM_TIMEOUT_SECONDS={LLM_TIMEOUT} but the 504 took {elapsed:.1f}s"
    assert_still_serving(strict_timeouts, thread_id)


def test_garbage_from_llm_answers_502(strict_timeouts: PlatformServer) -> None:
    thread_id = token("garbage")
    with strict_timeouts.client(API_KEY) as client:
        response = client.post(INVOKE, json={"input": "[stub:garbage] hi", "thread_id": thread_id})
    body = assert_problem(response, 502)
    assert "LLM upstream" in body["detail"], body
    assert_still_serving(strict_timeouts, thread_id)


def test_llm_5xx_answers_502_with_the_upstream_status(strict_timeouts: PlatformServer) -> None:
    thread_id = token("five")
    with strict_timeouts.client(API_KEY) as client:
        response = client.post(INVOKE, json={"input": "[stub:500] hi", "thread_id": thread_id})
    body = assert_problem(response, 502)
    assert "HTTP 500" in body["detail"], body
    assert_still_serving(strict_timeouts, thread_id)
