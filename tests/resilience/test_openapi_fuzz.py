"""Schemathesis against the running service's own OpenAPI document (/schema/openapi.json).

A real uvicorn subprocess, the stub LLM behind it, a bounded number of generated requests per
operation: no answer may be a server error, and every answer must match the documented schema.
Run once with a valid API key and once without one (then everything outside the exempt paths
must be a 401 problem).

Schemathesis' own pytest integration (`from_fixture`) breaks on pytest 9 (it reads the removed
`Function._nodeid`), so each operation's Hypothesis strategy is driven here with `@given`, and the
failures of every operation are collected before asserting, so one bad operation hides no other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

from tests.conftest import API_KEY, Launcher
from tests.support.platform_server import PlatformServer

EXAMPLES_PER_OPERATION = 25
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
    return launch(WEBHOOK_SECRET="fuzz-webhook-secret", RUN_TIMEOUT_SECONDS="20")


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


def test_fuzz_with_key_no_server_error_and_bodies_match(service_schema: Any) -> None:
    def check(case: FuzzCase) -> None:
        case.call_and_validate(
            headers={"X-API-Key": API_KEY},
            timeout=30,
            checks=[not_a_server_error, response_schema_conformance],
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
