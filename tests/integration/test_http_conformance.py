"""HTTP conformance, checked on every path of the OpenAPI document.

HEAD answers like GET without the body; OPTIONS lists every method of a path in `Allow` (and HEAD
with GET); every error is a problem, unknown paths under /schema included; the document declares how
to send a key and which operations need one, and the server behaves as it says.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem
from harness.openapi_cases import concrete_path, operations
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

# Headers that differ between any two answers.
PER_ANSWER_HEADERS = {"date", "x-request-id"}
UNDECLARED_METHODS = ["PUT", "PATCH", "POST", "DELETE", "GET"]


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


def declared_methods(document: dict[str, Any]) -> dict[str, set[str]]:
    methods: dict[str, set[str]] = {}
    for op in operations(document):
        methods.setdefault(op.path, set()).add(op.method)
    return methods


def expected_allow(methods: set[str]) -> set[str]:
    return methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())


def allow_of(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}


def test_options_lists_every_method_of_every_path(client: httpx.Client, document: dict[str, Any]) -> None:
    for path, methods in declared_methods(document).items():
        response = client.options(concrete_path(path))
        assert response.status_code == 204, (path, response.status_code, response.text)
        assert allow_of(response) == expected_allow(methods), path


def test_undeclared_methods_are_405_problems_with_the_same_allow(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    for path, methods in declared_methods(document).items():
        for method in UNDECLARED_METHODS:
            if method in methods:
                continue
            response = client.request(method, concrete_path(path))
            assert_problem(response, 405)
            assert allow_of(response) == expected_allow(methods), (method, path)


def test_head_answers_like_get_without_a_body(client: httpx.Client, document: dict[str, Any]) -> None:
    paths = [p for p, methods in declared_methods(document).items() if "GET" in methods]
    for path in [*paths, "/metrics", "/schema", "/schema/openapi.yaml"]:
        url = concrete_path(path)
        get, head = client.get(url), client.head(url)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        get_headers = {k: v for k, v in get.headers.items() if k not in PER_ANSWER_HEADERS}
        head_headers = {k: v for k, v in head.headers.items() if k not in PER_ANSWER_HEADERS}
        if path == "/health":  # uptime_seconds grows: its length may change between the two
            get_headers.pop("content-length"), head_headers.pop("content-length")
        if path == "/metrics":  # counters move between the two requests
            get_headers.pop("content-length"), head_headers.pop("content-length")
        assert head_headers == get_headers, path


@pytest.mark.parametrize(
    "path",
    [
        "/schema/nothing",
        "/schema/nothing.json",
        "/schema/openapi.json/extra",
        "/health/nothing",
        "/api/nothing",
        "/api/enterprise/agents/plain/nothing",
    ],
)
def test_unknown_paths_are_404_problems(client: httpx.Client, path: str) -> None:
    assert_problem(client.get(path), 404)
    head = client.head(path)
    assert head.status_code == 404
    assert head.headers["content-type"].startswith("application/problem+json")


def test_the_document_declares_both_ways_to_send_a_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"].values()
    assert {"type": "apiKey", "name": "X-API-Key", "in": "header"} in [
        {k: s.get(k) for k in ("type", "name", "in")} for s in schemes
    ]
    assert any(s["type"] == "http" and s["scheme"].lower() == "bearer" for s in schemes)


def test_every_operation_states_its_security_and_the_server_agrees(
    server: PlatformServer, document: dict[str, Any]
) -> None:
    schemes = document["components"]["securitySchemes"]
    for op in operations(document):
        assert "security" in op.spec, op.label
        requirement = op.spec["security"]
        with server.client() as anonymous:
            response = anonymous.request(op.method, op.url(), json={} if "requestBody" in op.spec else None)
        if requirement == []:
            assert response.status_code != 401, op.label
            continue
        assert {name for alternative in requirement for name in alternative} == set(schemes), op.label
        assert_problem(response, 401)
        # Each declared alternative is accepted on its own.
        for headers in ({"X-API-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}):
            with server.client(headers=headers) as keyed:
                if op.method == "GET":
                    assert keyed.get(op.url()).status_code != 401, (op.label, headers)
