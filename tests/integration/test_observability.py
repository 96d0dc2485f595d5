"""Prometheus metrics after real runs, and the JSON access log."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from harness.http_checks import token
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


@pytest.fixture(scope="module")
def traffic(server: PlatformServer, stub_llm: StubOpenAI) -> dict[str, object]:
    """Some runs (one with a tool call), a 404 and a 401; returns what the LLM reported for them."""
    tags = [token(), token()]
    with server.client(api_key=API_KEY, headers={"X-Request-ID": "obs-test-request-1"}) as c:
        first = c.post(
            "/api/enterprise/agents/assistant/invoke", json={"input": f"{tags[0]} use tool calculator: 3*3"}
        )
        second = c.post("/api/enterprise/agents/plain/invoke", json={"input": f"{tags[1]} hi"})
        missing = c.post("/api/enterprise/agents/nobody/invoke", json={"input": "x"})
    with server.client() as anonymous:
        unauthorized = anonymous.get("/api/enterprise/agents")
    assert (first.status_code, second.status_code, missing.status_code, unauthorized.status_code) == (
        200,
        200,
        404,
        401,
    )
    calls = stub_llm.requests_mentioning(tags[0]) + stub_llm.requests_mentioning(tags[1])
    return {
        "calls": calls,
        "input_tokens": sum(c["response"]["usage"]["prompt_tokens"] for c in calls),
        "output_tokens": sum(c["response"]["usage"]["completion_tokens"] for c in calls),
        "request_id": first.headers.get("x-request-id"),
    }


def scrape(server: PlatformServer) -> list[Sample]:
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_http_requests_are_counted_by_route_and_status(
    server: PlatformServer, traffic: dict[str, object]
) -> None:
    samples = scrape(server)
    invokes = [
        s for s in samples if s.name == "http_requests_total" and "invoke" in s.labels.get("route", "")
    ]
    assert invokes, "no http_requests_total sample for the invoke route"
    routes = {s.labels["route"] for s in invokes}
    assert len(routes) == 1, f"the route label must be the template, not the path: {routes}"
    route = routes.pop()
    assert "{" in route, route
    assert value(samples, "http_requests_total", route=route, status="200", method="POST") == 2
    assert value(samples, "http_requests_total", route=route, status="404", method="POST") == 1
    assert value(samples, "http_requests_total", status="401") >= 1


def test_agent_run_durations(server: PlatformServer, traffic: dict[str, object]) -> None:
    samples = scrape(server)
    assert value(samples, "agent_run_duration_seconds_count", agent="assistant", outcome="ok") == 1
    assert value(samples, "agent_run_duration_seconds_count", agent="plain", outcome="ok") == 1
    assert value(samples, "agent_run_duration_seconds_sum", agent="assistant") > 0


def test_llm_calls_and_tokens(server: PlatformServer, traffic: dict[str, object]) -> None:
    samples = scrape(server)
    calls = traffic["calls"]
    assert isinstance(calls, list)
    llm_calls = value(samples, "llm_call_duration_seconds_count")
    assert llm_calls == len(calls) == 3  # two for the tool run, one for the plain run
    assert value(samples, "llm_call_duration_seconds_count", model="stub-model-plain") == 1
    assert value(samples, "llm_tokens_total", direction="input") == traffic["input_tokens"]
    assert value(samples, "llm_tokens_total", direction="output") == traffic["output_tokens"]


def test_access_log_lines_are_json_with_request_fields(
    server: PlatformServer, traffic: dict[str, object]
) -> None:
    assert traffic["request_id"] == "obs-test-request-1", "a caller's X-Request-ID is echoed"
    record = server.wait_for_log(
        lambda r: (
            r.get("request_id") == "obs-test-request-1"
            and r.get("status") == 200
            and "invoke" in str(r.get("path"))
        )
    )
    assert record["path"] == "/api/enterprise/agents/assistant/invoke"
    assert record["method"] == "POST"
    assert "{" in str(record["route"])
    assert isinstance(record["duration_ms"], int | float)
    assert record["duration_ms"] > 0
    assert record["level"] == "info"
    assert "timestamp" in record
    not_found = server.wait_for_log(lambda r: r.get("status") == 404 and "nobody" in str(r.get("path")))
    assert not_found["request_id"]


def test_generated_request_ids_are_unique(server: PlatformServer) -> None:
    with server.client(api_key=API_KEY) as c:
        ids = {c.get("/api/enterprise/agents").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_every_output_line_is_json(server: PlatformServer, traffic: dict[str, object]) -> None:
    lines = [line for line in server.log_text().splitlines() if line and not line.startswith("--- start ")]
    assert lines
    not_json = [line for line in lines if not line.startswith("{")]
    assert not_json == [], f"non-JSON log lines: {not_json[:5]}"
    assert len(server.log_records()) == len(lines)


@pytest.mark.parametrize(
    "sent", ["x" * 129, "has spaces", "semi;colon"], ids=["too-long", "spaces", "punctuation"]
)
def test_unusable_request_ids_are_replaced(server: PlatformServer, sent: str) -> None:
    response = httpx.get(f"{server.url}/health", headers={"X-Request-ID": sent}, timeout=10)
    replaced = response.headers["x-request-id"]
    assert replaced
    assert replaced != sent
    assert len(replaced) <= 128
