"""Strict request bodies: a JSON value of another type than the schema says is refused, never converted.

For every JSON endpoint of the OpenAPI document and every field of its body (nested ones and array
items too), each JSON type the schema does not allow there gets a 400 problem naming the field, and
nothing happens on the server: no run reaches the LLM, maintenance stays off, the log level stays.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, token
from harness.openapi_cases import body_refusal_status, json_operations, wrong_type_bodies
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import Launcher


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


def test_every_field_refuses_every_other_json_type(
    server: PlatformServer, client: httpx.Client, document: dict[str, Any], stub_llm: StubOpenAI
) -> None:
    marker = token("strict")
    tried: set[str] = set()
    for op in json_operations(document):
        refused = body_refusal_status(op)
        for case in wrong_type_bodies(document, op, marker):
            response = client.request(op.method, op.url(), json=case.body)
            label = f"{op.label} {case.field}={case.json_type}"
            assert response.status_code == refused, f"{label}: {response.status_code} {response.text}"
            assert_problem(response, refused, case.top_field)
            tried.add(f"{op.label} {case.field}")
    # The cases of the issue are among them: a number for a boolean, an object for a chain variable.
    assert "POST /api/admin/maintenance enabled" in tried
    assert "POST /api/chains/{name}/invoke input.text" in tried
    assert stub_llm.requests_mentioning(marker) == []
    health = client.get("/health").json()
    assert health["status"] == "healthy", health
    changes = [
        r for r in server.log_records() if r.get("event") in {"log level changed", "maintenance mode changed"}
    ]
    assert changes == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/admin/maintenance", {"enabled": 1}, "enabled"),
        ("/api/admin/maintenance", {"enabled": "true"}, "enabled"),
        ("/api/admin/maintenance", {"enabled": False, "retry_after_seconds": "60"}, "retry_after_seconds"),
        ("/api/admin/sessions/clear", {"older_than_seconds": "10"}, "older_than_seconds"),
        ("/api/chains/summarize/invoke", {"input": {"text": {"nested": "object"}}}, "input"),
        ("/api/chains/summarize/invoke", {"input": {"text": 42}}, "input"),
        ("/api/enterprise/agents/plain/invoke", {"input": "hi", "thread_id": 7}, "thread_id"),
    ],
)
def test_no_coercion(client: httpx.Client, path: str, body: dict[str, Any], field: str) -> None:
    assert_problem(client.post(path, json=body), 400, field)
    assert client.get("/health").json()["status"] == "healthy"


def test_the_right_types_still_work(client: httpx.Client) -> None:
    response = client.post("/api/chains/summarize/invoke", json={"input": {"text": "a short text"}})
    assert response.status_code == 200, response.text
    cleared = client.post("/api/admin/sessions/clear")
    assert cleared.status_code == 200, cleared.text
