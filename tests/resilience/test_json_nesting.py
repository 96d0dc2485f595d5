"""Deeply nested JSON on every endpoint that takes a JSON body: a 400 problem (422 where the operation
documents it), never a 500.

The endpoints come from the service's own OpenAPI document, so a new one is covered by itself;
the webhook, which checks its signature on the raw body before decoding it (so its body is not in
the document), is covered by a signed request of its own.
msgspec decodes recursively: without the bound checked before decoding (request_bodies.py), 100,000
levels hit the recursion limit, a 500 with a traceback per request.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_platform.request_bodies import MAX_JSON_NESTING

from harness.http_checks import assert_problem
from harness.openapi_cases import Operation, body_refusal_status, json_operations
from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers
from tests.conftest import Launcher

WEBHOOK_SECRET = "nesting-webhook-secret"
NESTING_DETAIL = f"JSON nested deeper than {MAX_JSON_NESTING} levels"


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(WEBHOOK_SECRET=WEBHOOK_SECRET)


def nested(kind: str, depth: int) -> bytes:
    """`depth` levels of arrays (`[[...]]`) or objects (`{"a":{"a":...}}`), innermost empty."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def post(client: httpx.Client, op: Operation, body: bytes) -> httpx.Response:
    return client.request(op.method, op.url(), content=body, headers={"Content-Type": "application/json"})


def test_the_document_lists_json_endpoints(document: dict[str, Any]) -> None:
    labels = {op.label for op in json_operations(document)}
    # The ones the issue names; any other JSON endpoint is covered just the same.
    assert {
        "POST /api/enterprise/agents/{name}/invoke",
        "POST /api/enterprise/agents/{name}/stream",
        "POST /api/chains/{name}/invoke",
        "POST /api/admin/maintenance",
        "POST /api/admin/log-level",
        "POST /api/admin/sessions/clear",
    } <= labels, labels


@pytest.mark.parametrize("kind", ["array", "object"])
def test_every_json_endpoint_bounds_nesting(
    server: PlatformServer, client: httpx.Client, document: dict[str, Any], kind: str
) -> None:
    for op in json_operations(document):
        # Just under the bound the body is decoded (and refused for its shape, naming no depth).
        refused = body_refusal_status(op)
        under = assert_problem(post(client, op, nested(kind, MAX_JSON_NESTING)), refused)
        assert NESTING_DETAIL not in under["detail"], (op.label, under)
        for depth in (MAX_JSON_NESTING + 1, 100_000):
            assert_problem(post(client, op, nested(kind, depth)), refused, NESTING_DETAIL)
    assert "Traceback" not in server.log_text()
    assert client.get("/health/live").status_code == 200


@pytest.mark.parametrize("kind", ["array", "object"])
def test_the_webhook_bounds_nesting_of_signed_events(server: PlatformServer, kind: str) -> None:
    for depth in (MAX_JSON_NESTING + 1, 100_000):
        body = nested(kind, depth)
        response = httpx.post(
            f"{server.url}/api/webhooks/plain", content=body, headers=signed_headers(WEBHOOK_SECRET, body)
        )
        assert_problem(response, 400, NESTING_DETAIL)
    assert "Traceback" not in server.log_text()


def test_brackets_inside_strings_do_not_count(client: httpx.Client) -> None:
    text = "[" * (MAX_JSON_NESTING * 4) + "{" * (MAX_JSON_NESTING * 4)
    response = client.post("/api/admin/log-level", json={"level": text})
    body = assert_problem(response, 400, "level")
    assert NESTING_DETAIL not in body["detail"]


def test_the_service_still_serves_after_deep_bodies(client: httpx.Client) -> None:
    deep = nested("array", 100_000)
    for _ in range(20):
        assert post_invoke(client, deep).status_code == 400
    response = client.post("/api/enterprise/agents/plain/invoke", json={"input": "still there?"})
    assert response.status_code == 200, response.text
    assert response.json()["output"] == "Echo: still there?"


def post_invoke(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post(
        "/api/enterprise/agents/plain/invoke", content=body, headers={"Content-Type": "application/json"}
    )
