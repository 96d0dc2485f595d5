"""SIGTERM: stop taking traffic at once, let the in-flight run finish, exit 0."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from harness.http_checks import assert_problem, token, wait_until
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher


def test_sigterm_drains_in_flight_runs(launch: Launcher, stub_llm: StubOpenAI) -> None:
    server = launch(SHUTDOWN_GRACE_SECONDS="20")
    tag = token()
    slow: dict[str, httpx.Response | BaseException] = {}

    def in_flight() -> None:
        try:
            with server.client(api_key=API_KEY) as c:
                slow["response"] = c.post(
                    "/api/enterprise/agents/plain/invoke", json={"input": f"{tag} [stub:slow=3000]"}
                )
        except BaseException as exc:  # reported by the assertion below
            slow["response"] = exc

    runner = threading.Thread(target=in_flight)
    runner.start()
    wait_until(lambda: stub_llm.requests_mentioning(tag), timeout=10, what="the slow run to reach the LLM")
    assert httpx.get(f"{server.url}/health/ready", timeout=5).status_code == 200

    signalled = time.monotonic()
    server.send_signal(signal.SIGTERM)
    # Readiness flips at once so a load balancer stops sending traffic during the drain.
    ready = wait_until(
        lambda: _ready_status(server.url) == 503,
        timeout=2,
        interval=0.05,
        what="ready to turn 503 after SIGTERM",
    )
    assert ready
    assert time.monotonic() - signalled < 2
    # New runs are turned away while the old one finishes.
    late = httpx.post(
        f"{server.url}/api/enterprise/agents/plain/invoke",
        json={"input": "too late"},
        headers={"X-API-Key": API_KEY},
        timeout=5,
    )
    assert_problem(late, 503)

    runner.join(timeout=30)
    response = slow["response"]
    assert isinstance(response, httpx.Response), f"the in-flight run failed: {response!r}"
    assert response.status_code == 200, response.text
    assert response.json()["output"] == f"Echo: {tag} [stub:slow=3000]"
    assert server.wait_exit(timeout=30) == 0
    assert "Traceback" not in server.log_text()


def _ready_status(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code
    except httpx.TransportError:
        return None
