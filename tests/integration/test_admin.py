"""Run-time switches: the log level and maintenance mode."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.http_checks import assert_problem, token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

INVOKE = "/api/enterprise/agents/plain/invoke"


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(LOG_LEVEL="INFO")


@pytest.fixture
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=API_KEY) as c:
        yield c


def debug_records(server: PlatformServer) -> list[dict[str, object]]:
    return [r for r in server.log_records() if r.get("level") == "debug"]


def test_admin_endpoints_need_a_key(server: PlatformServer) -> None:
    with server.client() as anonymous:
        assert_problem(anonymous.post("/api/admin/log-level", json={"level": "DEBUG"}), 401)
        assert_problem(anonymous.post("/api/admin/maintenance", json={"enabled": True}), 401)
    with server.client(api_key=API_KEY) as c:
        assert c.get("/health").json()["status"] == "healthy"


def test_bad_log_level_is_400_naming_the_field(client: httpx.Client) -> None:
    assert_problem(client.post("/api/admin/log-level", json={"level": "CHATTY"}), 400, "level")


def test_log_level_change_takes_effect(server: PlatformServer, client: httpx.Client) -> None:
    client.get("/health")
    client.post(INVOKE, json={"input": f"{token()} at info"})
    assert debug_records(server) == [], "no DEBUG lines at LOG_LEVEL=INFO"

    response = client.post("/api/admin/log-level", json={"level": "DEBUG"})
    assert response.status_code == 200, response.text
    assert response.json() == {"level": "DEBUG", "previous": "INFO"}
    client.get("/health")
    client.post(INVOKE, json={"input": f"{token()} at debug"})
    record = server.wait_for_log(lambda r: r.get("level") == "debug" and r.get("path") == "/health")
    assert record["status"] == 200

    response = client.post("/api/admin/log-level", json={"level": "info"})
    assert response.json() == {"level": "INFO", "previous": "DEBUG"}
    seen = len(debug_records(server))
    client.get("/health")
    client.post(INVOKE, json={"input": f"{token()} back at info"})
    assert len(debug_records(server)) == seen, "DEBUG lines kept coming after going back to INFO"


def test_maintenance_mode(server: PlatformServer, client: httpx.Client) -> None:
    response = client.post("/api/admin/maintenance", json={"enabled": True, "retry_after_seconds": 17})
    assert response.status_code == 200, response.text
    assert response.json()["maintenance"] is True
    try:
        invoke = client.post(INVOKE, json={"input": "during maintenance"})
        assert_problem(invoke, 503)
        assert invoke.headers["retry-after"] == "17"
        stream = client.post("/api/enterprise/agents/plain/stream", json={"input": "during maintenance"})
        assert_problem(stream, 503)
        assert stream.headers["retry-after"] == "17"
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "maintenance"
        ready = client.get("/health/ready")
        assert_problem(ready, 503)
        assert ready.headers["retry-after"] == "17"
        assert client.get("/health/live").status_code == 200
        # The admin API stays usable, or nobody could end maintenance.
        assert client.post("/api/admin/log-level", json={"level": "INFO"}).status_code == 200
    finally:
        off = client.post("/api/admin/maintenance", json={"enabled": False})
    assert off.status_code == 200
    assert off.json()["maintenance"] is False
    assert client.get("/health").json()["status"] == "healthy"
    assert client.get("/health/ready").status_code == 200
    tag = token()
    back = client.post(INVOKE, json={"input": f"{tag} after maintenance"})
    assert back.status_code == 200, back.text
    assert back.json()["output"] == f"Echo: {tag} after maintenance"


def test_maintenance_survives_a_restart_but_the_log_level_does_not(
    server: PlatformServer, client: httpx.Client
) -> None:
    assert client.post("/api/admin/log-level", json={"level": "DEBUG"}).status_code == 200
    assert client.post("/api/admin/maintenance", json={"enabled": True}).status_code == 200
    assert server.restart() == 0
    with server.client(api_key=API_KEY) as after:
        try:
            assert after.get("/health").json()["status"] == "maintenance"
            assert_problem(after.post(INVOKE, json={"input": "still paused?"}), 503)
            # LOG_LEVEL=INFO again: the previous level in the answer shows what is in force.
            level = after.post("/api/admin/log-level", json={"level": "INFO"})
            assert level.json()["previous"] == "INFO"
        finally:
            after.post("/api/admin/maintenance", json={"enabled": False})
        assert after.get("/health").json()["status"] == "healthy"
