"""Schemathesis against the running service's own OpenAPI document (/schema/openapi.json).

A real uvicorn subprocess, the stub LLM behind it, a bounded number of generated requests per
operation: no answer may be a server error, and every answer must match the documented schema.
Run with each of two valid client keys and without one (then everything outside the exempt paths
must be a 401 problem); and statefully, following the document's links from one operation's answer
to the next (an invoke's thread to reading and deleting it, a webhook's run to its status), again
with each key. Whatever a key may do, no answer is a 5xx and every error is a problem.

Schemathesis' own pytest integration (`from_fixture`) breaks on pytest 9 (it reads the removed
`Function._nodeid`), so each operation's Hypothesis strategy is driven here with `@given`, and the
failures of every operation are collected before asserting, so one bad operation hides no other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET

from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers
from tests.conftest import API_KEY, Launcher

EXAMPLES_PER_OPERATION = 25
STATEFUL_SCENARIOS = 25
STATEFUL_STEPS = 6
# A second valid client key, next to API_KEY. It carries the default rights of a key in API_KEYS
# (once keys have scopes, those of an agents-only client): the checks below hold either way.
SECOND_KEY = "fuzz-second-client-key-4e7a91"
CLIENT_KEYS = [API_KEY, SECOND_KEY]
WEBHOOK_SECRET = "fuzz-webhook-secret"
FuzzCase = schemathesis.Case[Any]
# The default AUTH_EXEMPT_PATHS; webhooks are authenticated by their signature instead of a key.
EXEMPT_PREFIXES = ("/health", "/metrics", "/schema", "/api/webhooks")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure reproduces
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


@pytest.fixture(scope="module")
def fuzz_server(launch: Launcher) -> PlatformServer:
    # A webhook secret, so webhook endpoints answer on signatures rather than a deliberate 503.
    return launch(WEBHOOK_SECRET=WEBHOOK_SECRET, RUN_TIMEOUT_SECONDS="20", API_KEYS=SECOND_KEY)


@pytest.fixture(scope="module")
def service_schema(fuzz_server: PlatformServer) -> Any:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/schema/openapi.json")
    # Maintenance mode turns agent endpoints into deliberate 503s for the rest of the run; it has
    # its own integration tests and stays out of the fuzzing so it cannot mask real server errors.
    return schema.exclude(method="POST", path="/api/admin/maintenance")


def strategy(operation: Any) -> Any:
    """Generated cases, half of them aimed at an agent or chain that exists.

    Random names only ever reach the 404 branch; real ones drive fuzzed input through a whole run.
    """
    generated = operation.as_strategy()
    path = operation.path
    known = {}
    if "{name}" in path:
        known["name"] = "summarize" if path.startswith("/api/chains") else "assistant"
    if "{agent}" in path:
        known["agent"] = "assistant"
    if not known:
        return generated
    return generated | operation.as_strategy(path_parameters=known)


def describe(exc: BaseException) -> str:
    """The failure titles and the reproducing request, without the long report around them."""
    lines = [line.strip() for line in str(exc).splitlines()]
    titles = [line.removeprefix("- ") for line in lines if line.startswith("- ")]
    request = next((line for line in lines if line.startswith("curl ")), "")
    return f"{'; '.join(titles) or lines[0] if lines else type(exc).__name__} | {request}"


def fuzz_every_operation(schema: Any, check: Callable[[FuzzCase], None]) -> list[str]:
    """Run `check` on generated cases of each operation; return one line per failing operation."""
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operations"
    for operation in operations:

        @FUZZ_SETTINGS
        @hypothesis.given(case=strategy(operation))
        def run(case: FuzzCase) -> None:
            check(case)

        try:
            run()
        # Schemathesis reports several distinct failures as an exception group.
        except (Exception, BaseExceptionGroup) as exc:  # every operation is fuzzed even after one fails
            failures.append(f"{operation.label}: {describe(exc)}")
    return failures


def errors_are_problems(ctx: Any, response: Any, case: FuzzCase) -> bool | None:
    """A schemathesis check: every 4xx and 5xx answer is application/problem+json."""
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (
            f"{response.status_code} answered as {content_type!r}"
        )
    return None


@pytest.mark.parametrize("key", CLIENT_KEYS, ids=["api-key", "second-key"])
def test_fuzz_with_key_no_server_error_and_bodies_match(service_schema: Any, key: str) -> None:
    def check(case: FuzzCase) -> None:
        case.call_and_validate(
            headers={"X-API-Key": key},
            timeout=30,
            checks=[not_a_server_error, response_schema_conformance, errors_are_problems],
        )

    failures = fuzz_every_operation(service_schema, check)
    assert not failures, "\n".join(failures)


def test_fuzz_with_key_every_answer_is_documented(service_schema: Any) -> None:
    """Status codes, content types and accepted inputs all as the OpenAPI document says."""

    def check(case: FuzzCase) -> None:
        case.call_and_validate(
            headers={"X-API-Key": API_KEY},
            timeout=30,
            checks=[status_code_conformance, content_type_conformance, positive_data_acceptance],
        )

    failures = fuzz_every_operation(service_schema, check)
    assert not failures, "\n".join(failures)


def test_fuzz_without_key(service_schema: Any) -> None:
    def check(case: FuzzCase) -> None:
        response = case.call(timeout=30)
        case.validate_response(response, checks=[not_a_server_error])
        if not case.path.startswith(EXEMPT_PREFIXES):
            assert response.status_code == 401, f"{case.method} {case.formatted_path}: {response.status_code}"
            assert response.json()["detail"] == "Invalid or missing API key"

    failures = fuzz_every_operation(service_schema, check)
    assert not failures, "\n".join(failures)


def signed_webhook_call(case: FuzzCase, headers: dict[str, str]) -> Any:
    """Call a webhook operation with its generated body signed, so its links can be followed."""
    body = json.dumps(case.body).encode()
    return case.call(headers={**headers, **signed_headers(WEBHOOK_SECRET, body)}, data=body, timeout=30)


@pytest.mark.parametrize("key", CLIENT_KEYS, ids=["api-key", "second-key"])
def test_stateful_links_with_each_key(service_schema: Any, key: str) -> None:
    """Sequences of calls that follow the links: an operation's answer feeds the next one."""
    # Hypothesis replays a scenario's first steps and needs the same answers again: creating a thread
    # under a chosen id answers 200 once and 409 (it exists) on the replay, which it reports as a
    # flaky strategy. POST /threads stays fuzzed by the tests above.
    base = service_schema.exclude(method="POST", path="/threads").as_state_machine()

    class Scenario(base):  # type: ignore[misc, valid-type]
        def call(self, case: FuzzCase, **kwargs: Any) -> Any:
            headers = {"X-API-Key": key}
            if case.path.startswith("/api/webhooks") and case.body is not NOT_SET:
                return signed_webhook_call(case, headers)
            return case.call(headers=headers, timeout=30)

        def validate_response(
            self, response: Any, case: FuzzCase, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance, errors_are_problems]
            )

    Scenario.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
    )


def test_the_document_links_runs_to_what_they_create(fuzz_server: PlatformServer) -> None:
    """The service's own links (schemathesis may infer more) point at operations of the document."""
    document = httpx.get(f"{fuzz_server.url}/schema/openapi.json", timeout=10).json()
    operation_ids = {
        spec["operationId"]
        for item in document["paths"].values()
        for spec in item.values()
        if "operationId" in spec
    }
    links = {
        (spec["operationId"], name): link["operationId"]
        for item in document["paths"].values()
        for spec in item.values()
        for response in spec.get("responses", {}).values()
        for name, link in (response.get("links") or {}).items()
    }
    assert set(links.values()) <= operation_ids, links
    sources = {source for source, _ in links}
    assert any("Invoke" in source and "Agents" in source for source in sources), links
    assert any("Webhooks" in source for source in sources), links
