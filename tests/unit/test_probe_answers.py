"""The probes' fast path (health/probe_answers.py): the same answers as the Litestar handlers, and
readiness still 503 whenever the handler would say so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_platform.app import create_app
from langchain_platform.context import platform_context
from langchain_platform.health.probe_answers import ProbeAnswers
from langchain_platform.settings import Settings
from litestar.testing import TestClient

from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, service_env

PROBES = ("/health/live", "/health/ready")
# What the answers must share with the handlers' (uvicorn adds date and the like itself).
COMPARED_HEADERS = ("content-type", "content-length")


def _client(tmp_path: Path, stub_llm: StubOpenAI, **env: str) -> TestClient[Any]:
    settings = Settings.from_env(service_env(tmp_path / "data", stub_llm) | env)
    return TestClient(create_app(settings))


@pytest.fixture
def fast(tmp_path: Path, stub_llm: StubOpenAI) -> Iterator[TestClient[Any]]:
    with _client(tmp_path / "fast", stub_llm) as client:
        yield client


def _shape(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    return (
        response.status_code,
        response.content,
        {name: response.headers.get(name, "") for name in COMPARED_HEADERS},
    )


def test_probe_answers_equal_the_handlers_answers(
    fast: TestClient[Any], tmp_path: Path, stub_llm: StubOpenAI
) -> None:
    # Probes that need a key are not answered in front of the gate: that app runs the handlers.
    with _client(tmp_path / "slow", stub_llm, AUTH_EXEMPT_PATHS="/metrics") as slow:
        assert isinstance(fast.app.asgi_handler.app, ProbeAnswers)  # inside the request observer
        assert not isinstance(slow.app.asgi_handler.app, ProbeAnswers)
        for path in PROBES:
            handled = slow.get(path, headers={"X-API-Key": API_KEY})
            assert _shape(fast.get(path)) == _shape(handled), path
            assert fast.head(path).status_code == handled.status_code == 200
            assert slow.get(path).status_code == 401  # the gate still decides for them


def test_probes_keep_request_ids_and_route_metrics(fast: TestClient[Any]) -> None:
    for path in PROBES:
        response = fast.get(path, headers={"X-Request-ID": "probe-id-1"})
        assert response.headers["x-request-id"] == "probe-id-1"
    metrics = fast.get("/metrics").text
    for path in PROBES:
        assert f'http_requests_total{{method="GET",route="{path}",status="200"}}' in metrics


def test_ready_is_503_in_maintenance_draining_or_without_a_fresh_ok_ping(fast: TestClient[Any]) -> None:
    context = platform_context(fast.app.state)
    assert fast.get("/health/ready").status_code == 200

    context.flags.update(maintenance=True)
    assert fast.get("/health/ready").status_code == 503
    assert fast.get("/health/live").status_code == 200
    context.flags.update(maintenance=False)
    assert fast.get("/health/ready").status_code == 200

    probe = context.require_checkpointer_probe()

    async def down() -> bool:
        return False

    probe._ping = down  # the database stops answering
    probe._checked_at = time.monotonic() - 60  # and the last ping has aged out
    answer = fast.get("/health/ready")
    assert answer.status_code == 503, answer.text
    assert "checkpointer" in answer.json()["detail"]
    assert fast.get("/health/ready").status_code == 503  # a fresh failed ping is not "ready" either

    context.start_draining()
    assert fast.get("/health/ready").status_code == 503
    assert fast.get("/health/live").status_code == 200
