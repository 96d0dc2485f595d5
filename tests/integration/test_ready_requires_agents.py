"""/health/ready is 503 when the replica must serve agents (AGENTS_REQUIRED) and loaded none.

So a release or configuration that loses its agents fails the deploy gate and the balancer's checks
instead of taking traffic it can only refuse. A good agents file with a key is ready: test_health.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_platform.settings import ConfigError, Settings

from harness.http_checks import assert_problem
from harness.platform_server import PlatformServer
from tests.conftest import Launcher

BROKEN_AGENTS = "agents:\n  - name: broken\n    description: no prompt\n    tools: [rm_rf]\n"
CHAINS_ONLY = (
    "chains:\n  - name: echo\n    description: Echo.\n    messages:\n"
    '      - role: human\n        content: "{text}"\n'
)


def _agents_file(tmp_path_factory: pytest.TempPathFactory, text: str) -> str:
    path = tmp_path_factory.mktemp("agents") / "agents.yaml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def broken(launch: Launcher, tmp_path_factory: pytest.TempPathFactory) -> PlatformServer:
    return launch(AGENTS_CONFIG=_agents_file(tmp_path_factory, BROKEN_AGENTS))


@pytest.fixture(scope="module")
def not_required(launch: Launcher, tmp_path_factory: pytest.TempPathFactory) -> PlatformServer:
    return launch(AGENTS_CONFIG=_agents_file(tmp_path_factory, BROKEN_AGENTS), AGENTS_REQUIRED="false")


@pytest.fixture(scope="module")
def no_agents(launch: Launcher, tmp_path_factory: pytest.TempPathFactory) -> PlatformServer:
    return launch(AGENTS_CONFIG=_agents_file(tmp_path_factory, CHAINS_ONLY))


def test_a_broken_agents_file_with_a_key_is_not_ready(broken: PlatformServer) -> None:
    with broken.client() as client:
        # /health pings the checkpointer, so a probe right after it would take the fast path if that
        # path ignored the agents.
        health = client.get("/health")
        ready = client.get("/health/ready")
        live = client.get("/health/live")
    body = assert_problem(ready, 503, "agents")
    assert "the agents file is invalid" in body["detail"], body
    assert broken.env["AGENTS_CONFIG"] not in body["detail"]  # the probe needs no key: no paths
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy"
    assert any("AGENTS_REQUIRED" in reason for reason in health.json()["reasons"])
    assert live.status_code == 200


def test_agents_not_required_keeps_the_replica_ready(not_required: PlatformServer) -> None:
    with not_required.client() as client:
        ready = client.get("/health/ready")
        health = client.get("/health")
    assert ready.status_code == 200, ready.text
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"


def test_an_agents_file_without_agents_is_not_ready(no_agents: PlatformServer) -> None:
    with no_agents.client() as client:
        ready = client.get("/health/ready")
    assert_problem(ready, 503, "the agents file defines no agents")


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({"OPENAI_API_KEY": "k"}, True),
        ({"ANTHROPIC_API_KEY": "k"}, True),
        ({}, False),
        ({"OPENAI_API_KEY": "k", "AGENTS_REQUIRED": "false"}, False),
        ({"AGENTS_REQUIRED": "true"}, True),
    ],
)
def test_agents_are_required_by_default_exactly_when_a_key_is_set(
    env: dict[str, str], required: bool, tmp_path: Path
) -> None:
    settings = Settings.from_env({"API_KEY_ENABLED": "false", "DATA_DIR": str(tmp_path), **env})
    assert settings.requires_agents is required


def test_agents_required_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AGENTS_REQUIRED='maybe' is not a boolean"):
        Settings.from_env({"API_KEY_ENABLED": "false", "DATA_DIR": str(tmp_path), "AGENTS_REQUIRED": "maybe"})
