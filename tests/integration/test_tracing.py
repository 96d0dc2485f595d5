"""LangSmith tracing: runs reach the (loopback) LangSmith endpoint when on, nothing is sent when off."""

from __future__ import annotations

import json

from harness.http_checks import token, wait_until
from harness.stub_langsmith import StubLangSmith
from tests.conftest import API_KEY, Launcher

LANGSMITH_KEY = "lsv2_pt_test_0a1b2c3d4e5f"
PROJECT = "platform-tests"


def test_runs_are_traced_to_langsmith(launch: Launcher, stub_langsmith: StubLangSmith) -> None:
    server = launch(
        LANGSMITH_TRACING="true",
        LANGSMITH_API_KEY=LANGSMITH_KEY,
        LANGSMITH_ENDPOINT=stub_langsmith.url,
        LANGSMITH_PROJECT=PROJECT,
    )
    tag = token()
    with server.client(api_key=API_KEY) as c:
        response = c.post(
            "/api/enterprise/agents/assistant/invoke", json={"input": f"{tag} use tool calculator: 2+2"}
        )
    assert response.status_code == 200, response.text

    def our_runs() -> list[dict[str, object]]:
        return [r for r in stub_langsmith.runs if tag in json.dumps(r.get("inputs"))]

    # The client batches in a background thread: give it a few seconds.
    wait_until(lambda: [r for r in our_runs() if r.get("end_time")], timeout=15, what="a finished traced run")
    runs = our_runs()
    assert {r.get("session_name") for r in runs} == {PROJECT}
    trace_ids = {r.get("trace_id") for r in runs}
    assert len(trace_ids) == 1, "one invoke is one trace"
    # The trace holds the LLM calls and the tool call, not just the top-level run.
    wait_until(
        lambda: (
            {"llm", "tool"}
            <= {r.get("run_type") for r in stub_langsmith.runs if r.get("trace_id") in trace_ids}
        ),
        timeout=15,
        what="llm and tool child runs in the trace",
    )
    whole_trace = [r for r in stub_langsmith.runs if r.get("trace_id") in trace_ids]
    tool_runs = [r for r in whole_trace if r.get("run_type") == "tool"]
    assert tool_runs[0].get("name") == "calculator"
    assert "4" in json.dumps(tool_runs[0].get("outputs"))
    sent_keys = {q["headers"].get("x-api-key") for q in stub_langsmith.requests if q["method"] == "POST"}
    assert sent_keys == {LANGSMITH_KEY}
    # Stopped here so its last flushes cannot land in the tracing-off checks below.
    assert server.stop() == 0
    assert LANGSMITH_KEY not in server.log_text()


def test_nothing_is_sent_when_tracing_is_off(launch: Launcher, stub_langsmith: StubLangSmith) -> None:
    # Endpoint and key are set; only LANGSMITH_TRACING says no.
    server = launch(
        LANGSMITH_TRACING="false", LANGSMITH_API_KEY=LANGSMITH_KEY, LANGSMITH_ENDPOINT=stub_langsmith.url
    )
    before = len(stub_langsmith.requests)
    with server.client(api_key=API_KEY) as c:
        response = c.post(
            "/api/enterprise/agents/assistant/invoke", json={"input": f"{token()} use tool calculator: 1+2"}
        )
    assert response.status_code == 200, response.text
    assert server.stop() == 0  # a stop flushes whatever a tracer would still hold
    assert stub_langsmith.requests[before:] == []
