"""Schemathesis against the running service's own OpenAPI document (/schema/openapi.json).

A real uvicorn subprocess, the stub LLM behind it, a bounded number of generated requests per
operation: no answer may be a server error, and every answer must match the documented schema.
Run once with a valid API key and once without one (then everything outside the exempt paths
must be a 401 problem).
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from tests.conftest import API_KEY, Launcher
from tests.support.platform_server import PlatformServer

EXAMPLES_PER_OPERATION = 25
EXEMPT_PREFIXES = ("/health", "/metrics", "/schema")

pytestmark = pytest.mark.slow

schema = schemathesis.pytest.from_fixture("service_schema")
# Maintenance mode turns agent endpoints into deliberate 503s for the rest of the run; it has its
# own integration tests and stays out of the fuzzing so it cannot mask real server errors.
schema = schema.exclude(method="POST", path="/api/admin/maintenance")

fuzz_settings = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure reproduces
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


@pytest.fixture(scope="module")
def fuzz_server(launch: Launcher) -> PlatformServer:
    # A webhook secret, so webhook endpoints answer on signatures rather than a deliberate 503.
    return launch(WEBHOOK_SECRET="fuzz-webhook-secret", RUN_TIMEOUT_SECONDS="20")


@pytest.fixture(scope="module")
def service_schema(fuzz_server: PlatformServer) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/schema/openapi.json")


@schema.parametrize()
@fuzz_settings
def test_fuzz_with_key(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"X-API-Key": API_KEY}, timeout=30)


@schema.parametrize()
@fuzz_settings
def test_fuzz_without_key(case: schemathesis.Case) -> None:
    response = case.call(timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
    if not case.path.startswith(EXEMPT_PREFIXES):
        assert response.status_code == 401, f"{case.method} {case.formatted_path}: {response.status_code}"
        assert response.json()["detail"] == "Invalid or missing API key"
