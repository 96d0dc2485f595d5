"""Helpers shared by the default scenario's testinfra tests (run by `molecule verify`)."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.playbook_runner import PlaybookResult, run_playbook
from harness.releases import missing_archives

# The values molecule.yml gives the `app` group.
API_KEY = "molecule-client-key"
LLM_KEY = "sk-molecule-dummy-key"
CONTAINER = "langchain-platform"
BASE_URL = "http://localhost:8000"

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))


def run_json(host: Any, command: str) -> Any:
    """Run `command` on the test host and parse its standard output as JSON."""
    result = host.run(command)
    assert result.rc == 0, f"{command!r} failed ({result.rc}): {result.stderr}"
    return json.loads(result.stdout)


def inspect(host: Any, name: str = CONTAINER) -> dict[str, Any]:
    data: list[dict[str, Any]] = run_json(host, f"docker inspect {shlex.quote(name)}")
    return data[0]


def api(host: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the service from inside the test host with the client key; returns the parsed JSON body."""
    data = ""
    if body is not None:
        data = f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"
    return run_json(host, f"curl -sf -X {method} -H 'X-API-Key: {API_KEY}' {data} {BASE_URL}{path}")


def playbook(
    name: str,
    extra_vars: Mapping[str, Any] | None = None,
    *,
    check: bool = False,
    tags: Sequence[str] = (),
    timeout: float | None = 600,
) -> PlaybookResult:
    """Run playbooks/<name> against the scenario's inventory, as an operator would.

    Molecule hands the verifier its provisioner environment (ANSIBLE_CONFIG with the roles path and
    the docker connection settings), which the runner passes through: the same run as `molecule converge`.
    """
    return run_playbook(
        PROJECT / "playbooks" / name,
        os.environ["MOLECULE_INVENTORY_FILE"],
        extra_vars=extra_vars,
        check=check,
        tags=tags,
        timeout=timeout,
    )


def deploy(version: str, **extra_vars: Any) -> PlaybookResult:
    """Run playbooks/deploy.yml for `version`, as an operator would for an upgrade."""
    if missing := missing_archives(version):
        pytest.fail(f"{missing[0]} is missing: build it with lab/app-image.sh --archive (see molecule.yml)")
    return playbook("deploy.yml", {"platform_deploy_version": version, **extra_vars}, timeout=900)


@pytest.fixture(scope="module")
def agent_name(host: Any) -> str:
    agents = api(host, "GET", "/api/enterprise/agents")["agents"]
    assert agents, "the service lists no agents"
    return str(agents[0]["name"])
