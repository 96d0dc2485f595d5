"""The app in-process (Litestar's test client, real SQLite, the loopback LLM stub): auth exemptions,
the OpenAPI document's error answers, and the agents built at start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_platform.agents import runtime as runtime_module
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.app import create_app
from langchain_platform.principals import OPERATOR
from langchain_platform.settings import LOG_LEVELS, Settings
from litestar.testing import TestClient

from harness.standard_webhooks import signed_headers
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, service_env

SECRET = "unit-webhook-secret"
PROBLEM = "application/problem+json"
PROBLEM_SCHEMA = {"type", "title", "status", "detail"}


@pytest.fixture
def client(tmp_path: Path, stub_llm: StubOpenAI) -> Iterator[TestClient[Any]]:
    env = service_env(tmp_path / "data", stub_llm) | {"WEBHOOK_SECRET": SECRET}
    with TestClient(create_app(Settings.from_env(env))) as test_client:
        yield test_client


def signed(body: bytes) -> dict[str, str]:
    return signed_headers(SECRET, body)


def test_webhooks_need_a_signature_not_a_key_but_runs_need_a_key(client: TestClient[Any]) -> None:
    body = b'{"input": "hello from a webhook", "agent": "assistant"}'
    accepted = client.post("/api/webhooks/assistant", content=body, headers=signed(body))
    assert accepted.status_code == 202, accepted.text

    unsigned = client.post("/api/webhooks/assistant", content=body)
    assert unsigned.status_code == 401
    assert "webhook-signature" in unsigned.json()["detail"]

    status_url = accepted.json()["status_url"]
    anonymous = client.get(status_url)
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"] == "Invalid or missing API key"
    assert client.get(status_url, headers={"X-API-Key": API_KEY}).status_code == 200


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document
    for part in ref.removeprefix("#/").split("/"):
        resolved = resolved[part]
    return resolved


def test_every_api_operation_documents_its_errors_as_problem_details(client: TestClient[Any]) -> None:
    document = client.get("/schema/openapi.json").json()
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            errors = {code: answer for code, answer in responses.items() if int(code) >= 400}
            if path.startswith("/api/"):
                assert "401" in errors, f"{method} {path} does not document 401"
            for code, answer in errors.items():
                if path == "/health" and code == "503":
                    continue  # the unhealthy report, not a problem
                assert list(answer["content"]) == [PROBLEM], f"{method} {path} {code}: {answer}"
                schema = _resolve(document, answer["content"][PROBLEM]["schema"])
                assert set(schema["properties"]) == PROBLEM_SCHEMA, f"{method} {path} {code}"
                checked += 1
    assert checked > 30
    invoke = document["paths"]["/api/enterprise/agents/{name}/invoke"]["post"]["responses"]
    assert {"400", "401", "404", "409", "413", "502", "503", "504"} <= set(invoke)


def test_log_level_schema_lists_the_levels_the_endpoint_accepts(client: TestClient[Any]) -> None:
    document = client.get("/schema/openapi.json").json()
    body = document["paths"]["/api/admin/log-level"]["post"]["requestBody"]["content"]["application/json"]
    level = _resolve(document, body["schema"])["properties"]["level"]
    assert {value.upper() for value in level["enum"]} == set(LOG_LEVELS)
    headers = {"X-API-Key": API_KEY}
    for value in level["enum"]:
        assert client.post("/api/admin/log-level", json={"level": value}, headers=headers).status_code == 200
    refused = client.post("/api/admin/log-level", json={"level": "CHATTY"}, headers=headers)
    assert refused.status_code == 400
    assert "level" in refused.json()["detail"]


async def test_start_builds_every_agent_once_and_compiled_graph_returns_it(
    tmp_path: Path, stub_llm: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []

    def counting_create_agent(**kwargs: Any) -> Any:
        built.append(kwargs["name"])
        return create_agent(**kwargs)

    monkeypatch.setattr(runtime_module, "create_agent", counting_create_agent)
    # langchain-openai caches its HTTP client per (base URL, timeout) for the whole process; the
    # other tests' clients are bound to their test client's event loop, closed by now.
    env = service_env(tmp_path / "data", stub_llm) | {"LLM_TIMEOUT_SECONDS": "59"}
    runtime = await AgentRuntime.start(Settings.from_env(env))
    try:
        assert sorted(built) == ["assistant", "fetcher", "plain"]
        graph = await runtime.compiled_graph("assistant")
        run = await runtime.prepare_run("assistant", None, principal=OPERATOR)
        answer = await run.invoke("hello")
        assert answer.output == "Echo: hello"
        assert await runtime.compiled_graph("assistant") is graph
        assert sorted(built) == ["assistant", "fetcher", "plain"], "a run or lookup built a graph again"
        state = await graph.aget_state({"configurable": {"thread_id": run.thread_id}})
        assert [m.content for m in state.values["messages"]] == ["hello", "Echo: hello"]
    finally:
        await runtime.close()


def test_request_schemas_say_what_400_enforces(client: TestClient[Any]) -> None:
    """Unknown fields are refused, and a chain takes exactly its template variables."""
    document = client.get("/schema/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("InvokeRequest", "ChainRequest", "LogLevelRequest", "MaintenanceRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    chain_input = schemas["ChainRequest"]["properties"]["input"]["oneOf"]
    assert chain_input[0]["type"] == "string"  # "summarize" has one variable: a plain string fills it
    assert chain_input[1]["required"] == ["text"]
    assert chain_input[1]["additionalProperties"] is False

    headers = {"X-API-Key": API_KEY}
    invoke = "/api/enterprise/agents/assistant/invoke"
    extra = client.post(invoke, json={"input": "x", "x": 1}, headers=headers)
    assert extra.status_code == 400
    wrong = client.post("/api/chains/summarize/invoke", json={"input": {"txt": "x"}}, headers=headers)
    assert wrong.status_code == 400
    assert "missing text; unknown txt" in wrong.json()["detail"]
