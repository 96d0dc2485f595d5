"""Bad input and upstream failures: each answers a precise problem+json, and the service carries on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, parse_sse, token, wait_until
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

LLM_TIMEOUT = 2
LLM_RETRIES = 1
MAX_BYTES = 64 * 1024
INVOKE = "/api/enterprise/agents/plain/invoke"
STREAM = "/api/enterprise/agents/plain/stream"


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(
        LLM_TIMEOUT_SECONDS=str(LLM_TIMEOUT),
        LLM_MAX_RETRIES=str(LLM_RETRIES),
        MAX_REQUEST_BYTES=str(MAX_BYTES),
    )


@pytest.fixture
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=API_KEY) as c:
        yield c


@pytest.fixture(autouse=True)
def _service_still_works_afterwards(server: PlatformServer, stub_llm: StubOpenAI) -> Iterator[None]:
    yield
    stub_llm.reset()
    with server.client(api_key=API_KEY) as c:
        health = c.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "healthy"
        tag = token()
        after = c.post(INVOKE, json={"input": f"{tag} still there?"})
        assert after.status_code == 200, after.text
        assert after.json()["output"] == f"Echo: {tag} still there?"


# -- bad input --------------------------------------------------------------------------------------


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        INVOKE, content=b'{"input": "unterminated', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": 123}, "input"),
        ({"input": ["a", "list"]}, "input"),
        ({}, "input"),
        ({"input": "hi", "thread_id": 42}, "thread_id"),
        ({"input": "hi", "thread_id": "has spaces and / slashes"}, "thread_id"),
    ],
)
def test_wrong_types_are_400_naming_the_field(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    assert_problem(client.post(INVOKE, json=body), 400, field)


def test_unknown_field_is_400_naming_it(client: httpx.Client) -> None:
    assert_problem(client.post(INVOKE, json={"input": "hi", "temprature": 2}), 400, "temprature")


def test_unknown_agent_is_404(client: httpx.Client) -> None:
    body = assert_problem(client.post("/api/enterprise/agents/nobody/invoke", json={"input": "hi"}), 404)
    assert "nobody" in body["detail"]


def test_oversized_body_is_413(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    tag = token()
    response = client.post(INVOKE, json={"input": f"{tag} " + "x" * (MAX_BYTES * 2)})
    assert_problem(response, 413)
    assert stub_llm.requests_mentioning(tag) == []


def test_a_body_just_under_the_limit_is_fine(client: httpx.Client) -> None:
    response = client.post(INVOKE, json={"input": "y" * (MAX_BYTES // 2)})
    assert response.status_code == 200, response.text


# -- upstream LLM failures ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500])
def test_llm_errors_beyond_retries_are_502(client: httpx.Client, stub_llm: StubOpenAI, status: int) -> None:
    tag = token()
    body = assert_problem(client.post(INVOKE, json={"input": f"{tag} [stub:{status}]"}), 502)
    assert str(status) in body["detail"]
    attempts = stub_llm.requests_mentioning(tag)
    assert len(attempts) == 1 + LLM_RETRIES, f"expected 1 try + {LLM_RETRIES} retries, got {len(attempts)}"
    assert {a["response"]["status"] for a in attempts} == {status}


def test_a_failure_within_retries_is_invisible(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    stub_llm.set_mode(fail_next_n=LLM_RETRIES, status=500)
    tag = token()
    response = client.post(INVOKE, json={"input": f"{tag} retried"})
    assert response.status_code == 200, response.text
    assert response.json()["output"] == f"Echo: {tag} retried"
    assert [a["response"]["status"] for a in stub_llm.requests_mentioning(tag)] == [500] * LLM_RETRIES + [200]


def test_slow_llm_is_504_with_a_message(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    tag = token()
    body = assert_problem(client.post(INVOKE, json={"input": f"{tag} [stub:slow=8000]"}), 504)
    assert "LLM" in body["detail"]
    assert str(LLM_TIMEOUT) in body["detail"]
    assert len(stub_llm.requests_mentioning(tag)) >= 1


@pytest.mark.parametrize("fault", ["garbage", "badschema"])
def test_unusable_llm_answer_is_502(client: httpx.Client, fault: str) -> None:
    body = assert_problem(client.post(INVOKE, json={"input": f"{token()} [stub:{fault}]"}), 502)
    assert "LLM" in body["detail"]


def test_an_llm_failure_during_a_stream_ends_it_with_an_error_event(client: httpx.Client) -> None:
    # The 200 and the event-stream headers are sent before the LLM answers; the failure then
    # arrives as a final `error` event holding the problem the invoke endpoint would have answered.
    tag = token()
    with client.stream("POST", STREAM, json={"input": f"{tag} [stub:500]"}) as response:
        assert response.status_code == 200
        events = parse_sse(response.read().decode())
    assert [e.event for e in events] == ["error"]
    error = events[0].data
    assert error["status"] == 502
    assert "500" in error["detail"]
    assert set(error) >= {"type", "title", "status", "detail"}


def test_fault_mode_set_by_the_control_endpoint(client: httpx.Client, stub_llm: StubOpenAI) -> None:
    stub_llm.set_mode("garbage")
    assert_problem(client.post(INVOKE, json={"input": f"{token()} plain words"}), 502)


def test_a_tool_error_goes_back_to_the_model(client: httpx.Client) -> None:
    response = client.post(
        "/api/enterprise/agents/assistant/invoke", json={"input": f"{token()} use tool calculator: 1/0"}
    )
    assert response.status_code == 200, response.text
    output = response.json()["output"]
    assert output.startswith("The calculator tool returned:")
    assert "1/0" in output


# -- concurrency ----------------------------------------------------------------------------------


def test_a_second_run_on_a_busy_thread_is_409(
    server: PlatformServer, client: httpx.Client, stub_llm: StubOpenAI
) -> None:
    thread_id = f"busy-{token()}"
    tag = token()
    first: dict[str, httpx.Response] = {}

    def slow_run() -> None:
        with server.client(api_key=API_KEY) as c:
            first["response"] = c.post(
                INVOKE, json={"input": f"{tag} [stub:slow=1500]", "thread_id": thread_id}
            )

    runner = threading.Thread(target=slow_run)
    runner.start()
    wait_until(lambda: stub_llm.requests_mentioning(tag), timeout=10, what="the slow run to reach the LLM")
    second = client.post(INVOKE, json={"input": "me too", "thread_id": thread_id})
    runner.join(timeout=30)
    assert_problem(second, 409)
    assert first["response"].status_code == 200, first["response"].text
    # Once the first run is over the thread takes new runs again.
    third = client.post(INVOKE, json={"input": "now?", "thread_id": thread_id})
    assert third.status_code == 200, third.text


def test_runs_on_different_threads_do_not_block_each_other(
    server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    results: list[int] = []

    def run(i: int) -> None:
        with server.client(api_key=API_KEY) as c:
            results.append(c.post(INVOKE, json={"input": f"{token()} [stub:slow=500] {i}"}).status_code)

    runners = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for r in runners:
        r.start()
    for r in runners:
        r.join(timeout=30)
    assert results == [200] * 4
