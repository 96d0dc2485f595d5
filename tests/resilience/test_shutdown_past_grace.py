"""SIGTERM while runs outlast SHUTDOWN_GRACE_SECONDS: every client still gets an answer.

The drain ends the runs still going when the grace period is over: an invoke (agent or chain)
answers 503 problem+json with Retry-After, a stream ends with an `error` event carrying the problem;
then the server exits 0 without a traceback (uvicorn's own cancellation finds nothing left to cut).
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from harness.http_checks import assert_problem, parse_sse, token, wait_until
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

GRACE_SECONDS = 1
SLOW = "[stub:slow=30000]"  # far past the grace period and the drain


def test_runs_past_the_grace_period_answer_503_and_error_events(
    launch: Launcher, stub_llm: StubOpenAI
) -> None:
    server = launch(SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS))
    tags = {kind: token(kind) for kind in ("invoke", "stream", "chain")}
    results: dict[str, Any] = {}
    requests = {
        "invoke": ("/api/enterprise/agents/plain/invoke", {"input": f"{tags['invoke']} {SLOW}"}),
        "stream": ("/api/enterprise/agents/plain/stream", {"input": f"{tags['stream']} {SLOW}"}),
        "chain": ("/api/chains/summarize/invoke", {"input": f"{tags['chain']} {SLOW}"}),
    }

    def call(kind: str) -> None:
        path, body = requests[kind]
        try:
            with server.client(api_key=API_KEY, timeout=60) as client:
                response = client.post(path, json=body)
                results[kind] = (response, parse_sse(response.text) if kind == "stream" else None)
        except BaseException as exc:  # reported by the assertions below
            results[kind] = exc

    callers = [threading.Thread(target=call, args=(kind,)) for kind in requests]
    for caller in callers:
        caller.start()
    for kind, tag in tags.items():
        wait_until(
            lambda tag=tag: stub_llm.requests_mentioning(tag),
            timeout=15,
            what=f"the {kind} run to reach the LLM",
        )

    signalled = time.monotonic()
    server.send_signal(signal.SIGTERM)
    for caller in callers:
        caller.join(timeout=30)
    answered_after = time.monotonic() - signalled

    for kind in ("invoke", "chain"):
        outcome = results[kind]
        assert isinstance(outcome, tuple), f"{kind}: {outcome!r}"
        response = outcome[0]
        assert_problem(response, 503, "stopping")
        assert int(response.headers["Retry-After"]) > 0
    stream = results["stream"]
    assert isinstance(stream, tuple), f"stream: {stream!r}"
    response, events = stream
    assert response.status_code == 200
    assert events, response.text
    last = events[-1]
    assert last.event == "error", events
    assert last.data["status"] == 503, last.data
    assert "stopping" in last.data["detail"], last.data
    assert set(last.data) >= {"type", "title", "status", "detail"}
    # The grace period, then at once: not uvicorn's own timeout.
    assert GRACE_SECONDS <= answered_after < GRACE_SECONDS + 10, answered_after

    assert server.wait_exit(timeout=30) == 0
    log = server.log_text()
    assert "Traceback" not in log
    assert "CancelledError" not in log
    assert any(r.get("event", "").startswith("drain grace period over") for r in server.log_records())
