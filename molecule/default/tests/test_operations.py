"""The runbook's procedures as playbooks (backup, restore, rollback, restart, maintenance, log level,
sessions, key rotation), run from the controller against the scenario's inventory as an operator would.

The tests run in file order and each leaves the host as converge did (0.1.0 by its name, the client key,
maintenance off, log level INFO), because test_platform.py and test_upgrade_rollback.py run after this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, BASE_URL, CONTAINER, LLM_KEY, PROJECT, api, deploy, inspect

from harness.playbook_runner import PlaybookResult, run_playbook

NEW_KEY = "molecule-rotated-key"


def playbook(
    name: str, extra_vars: Mapping[str, Any] | None = None, *, check: bool = False
) -> PlaybookResult:
    """Run playbooks/<name> against the scenario's inventory (the verifier has molecule's ANSIBLE_CONFIG)."""
    return run_playbook(
        PROJECT / "playbooks" / name,
        os.environ["MOLECULE_INVENTORY_FILE"],
        extra_vars=extra_vars,
        check=check,
        timeout=600,
    )


def succeeded(result: PlaybookResult) -> str:
    """The play's output, after asserting it passed and kept the secrets out."""
    output = result.stdout
    assert result.rc == 0, output[-4000:]
    for secret in (API_KEY, LLM_KEY, NEW_KEY):
        assert secret not in output, f"{secret!r} reached the playbook output"
    return output


def http_code(host: Any, method: str, path: str, key: str = API_KEY, body: str = "") -> str:
    data = f"-H 'Content-Type: application/json' -d {shlex.quote(body)}" if body else ""
    command = (
        f"curl -s -o /dev/null -w '%{{http_code}}' -X {method} -H 'X-API-Key: {key}' {data} {BASE_URL}{path}"
    )
    return str(host.run(command).stdout)


def thread_texts(host: Any, agent_name: str, thread_id: str) -> list[str]:
    messages = api(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread_id}")["messages"]
    return [str(message["content"]) for message in messages]


def new_thread(host: Any, agent_name: str, text: str) -> str:
    return str(api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": text})["thread_id"])


def test_backup_then_restore_brings_a_thread_back(host: Any, agent_name: str, tmp_path: Path) -> None:
    thread = new_thread(host, agent_name, "kept by the backup")
    succeeded(playbook("backup.yml", {"platform_backup_dir": str(tmp_path)}))

    (backup,) = (tmp_path / "lp-app1").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["image"] == "langchain-platform:0.1.0"
    assert manifest["image_id"] == inspect(host)["Image"]
    assert (backup / "image.tar.gz").stat().st_size > 10_000_000
    assert (backup / "state.sqlite").read_bytes().startswith(b"SQLite format 3\x00")
    env = backup / "config" / "platform.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert f"OPENAI_API_KEY={LLM_KEY}" in env.read_text()

    # Lost after the backup: the restore must bring it back.
    assert http_code(host, "DELETE", f"/api/enterprise/agents/{agent_name}/threads/{thread}") == "204"
    assert http_code(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread}") == "404"

    succeeded(playbook("restore.yml", {"platform_backup_dir": str(tmp_path)}))
    assert "kept by the backup" in thread_texts(host, agent_name, thread)
    assert api(host, "GET", "/health")["status"] == "healthy"


def test_rollback_runs_the_backup_image_again(host: Any) -> None:
    old_image = inspect(host)["Image"]
    succeeded(deploy("0.1.1"))
    assert inspect(host)["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.1"

    output = succeeded(playbook("rollback.yml"))
    container = inspect(host)
    assert container["Config"]["Image"].startswith("langchain-platform:backup-")
    assert container["Image"] == old_image
    assert container["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.0"
    health = api(host, "GET", "/health")
    assert (health["status"], health["version"]) == ("healthy", "0.1.0")
    assert "-> langchain-platform:backup-" in output
    assert host.file("/var/lib/langchain-platform/releases.log").contains(
        "rollback playbook: langchain-platform:0.1.1"
    )

    # Back to the converged state (0.1.0 by its name) for the modules that follow.
    succeeded(deploy("0.1.0"))
    assert inspect(host)["Config"]["Image"] == "langchain-platform:0.1.0"


def test_window_guard_refuses_outside_the_window(host: Any) -> None:
    started = inspect(host)["State"]["StartedAt"]
    elsewhere = (datetime.now(UTC) + timedelta(days=3)).strftime("%a")
    result = playbook("restart.yml", {"platform_maintenance_window": f"{elsewhere} 00:00-01:00"})
    assert result.rc != 0
    # The message is wrapped and coloured in the YAML result and repeated on stderr: compare plain words.
    words = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).split())
    assert f'outside the maintenance window "{elsewhere} 00:00-01:00"' in words
    assert "rerun with -e platform_maintenance_window_override=true" in words
    assert inspect(host)["State"]["StartedAt"] == started


def test_restart_with_override_keeps_serving(host: Any, agent_name: str) -> None:
    thread = new_thread(host, agent_name, "across the restart")
    started = inspect(host)["State"]["StartedAt"]
    elsewhere = (datetime.now(UTC) + timedelta(days=3)).strftime("%a")
    window = {
        "platform_maintenance_window": f"{elsewhere} 00:00-01:00",
        "platform_maintenance_window_override": True,
    }
    succeeded(playbook("restart.yml", window))

    assert inspect(host)["State"]["StartedAt"] != started
    assert api(host, "GET", "/health/ready") == {"status": "ready"}
    assert "across the restart" in thread_texts(host, agent_name, thread)
    answer = api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": "after restart"})
    assert "after restart" in answer["output"]


def test_check_mode_previews_a_stopped_container_without_failing(host: Any) -> None:
    """`--check` on a host whose container is down (the configuration and image are there) says a real run
    would start it, instead of waiting for a readiness that check mode never brings."""
    assert host.run(f"docker stop {CONTAINER}").rc == 0
    try:
        result = playbook("deploy.yml", check=True)
        output = succeeded(result)
        # The callback wraps long messages: compare with the whitespace folded.
        assert f"{CONTAINER} would be (re)started by a real run" in " ".join(output.split())
        assert result.changed_hosts, "check mode must report the container it would start"
        assert not inspect(host)["State"]["Running"], "check mode started the container"
    finally:
        assert host.run(f"docker start {CONTAINER}").rc == 0
        ready = host.run(f"curl -sf --retry 30 --retry-delay 1 --retry-all-errors {BASE_URL}/health/ready")
    assert ready.rc == 0, ready.stderr


def test_maintenance_on_then_off(host: Any, agent_name: str) -> None:
    invoke = f"/api/enterprise/agents/{agent_name}/invoke"
    succeeded(playbook("maintenance.yml", {"platform_maintenance": "on"}))
    try:
        assert api(host, "GET", "/health")["status"] == "maintenance"
        assert http_code(host, "POST", invoke, body='{"input": "in maintenance"}') == "503"
        assert http_code(host, "GET", "/health/ready") == "503"
        again = succeeded(playbook("maintenance.yml", {"platform_maintenance": "on"}))
        assert "changed=0" in again, "a second run must not call the API again"
    finally:
        succeeded(playbook("maintenance.yml", {"platform_maintenance": "off"}))
    assert api(host, "GET", "/health")["status"] == "healthy"
    assert http_code(host, "POST", invoke, body='{"input": "after maintenance"}') == "200"


def test_log_level_debug_shows_in_docker_logs(host: Any) -> None:
    since = host.run("date -u +%Y-%m-%dT%H:%M:%S").stdout.strip()
    succeeded(playbook("log_level.yml", {"platform_log_level": "DEBUG"}))
    try:
        api(host, "GET", "/api/enterprise/agents")
        host.run(f"curl -s {BASE_URL}/health/ready")
        logs = host.run(f"docker logs --since {since} {CONTAINER} 2>&1").stdout
        levels = {json.loads(line).get("level") for line in logs.splitlines() if line.startswith("{")}
        assert "debug" in levels, logs[-2000:]
    finally:
        output = succeeded(playbook("log_level.yml", {"platform_log_level": "INFO"}))
    assert "DEBUG -> INFO" in output


def test_sessions_clear_deletes_the_named_thread(host: Any, agent_name: str) -> None:
    thread = new_thread(host, agent_name, "to be cleared")
    output = succeeded(playbook("sessions_clear.yml", {"platform_sessions_thread_ids": [thread]}))
    assert f"threads {thread}" in output
    assert "Agents: ok" in output
    assert http_code(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread}") == "404"


def test_rotate_keys_accepts_the_new_key_and_refuses_the_old(host: Any) -> None:
    agents = "/api/enterprise/agents"
    rotate = {"platform_deploy_api_keys": [NEW_KEY], "platform_rotate_revoked_keys": [API_KEY]}
    started = inspect(host)["State"]["StartedAt"]
    try:
        output = succeeded(playbook("rotate_keys.yml", rotate))
        assert "1 key(s) accepted and 1 revoked key(s) refused" in output
        assert http_code(host, "GET", agents, key=NEW_KEY) == "200"
        assert http_code(host, "GET", agents, key=API_KEY) == "401"
        assert inspect(host)["State"]["StartedAt"] == started, "the rotation restarted the container"
        # The new key takes the old one's place, so it keeps the owner (and with it the threads) and scopes.
        digest = hashlib.sha256(NEW_KEY.encode()).hexdigest()
        keys = host.file("/etc/langchain-platform/api-keys").content_string.splitlines()
        assert f"{digest} owner=operator scopes=admin,agents" in keys
    finally:
        back = {"platform_deploy_api_keys": [API_KEY], "platform_rotate_revoked_keys": [NEW_KEY]}
        succeeded(playbook("rotate_keys.yml", back))
    assert http_code(host, "GET", agents, key=API_KEY) == "200"
    assert http_code(host, "GET", agents, key=NEW_KEY) == "401"


@pytest.fixture(autouse=True)
def _healthy_after(host: Any) -> Any:
    """Every test must leave the service healthy for the next one."""
    yield
    assert api(host, "GET", "/health")["status"] == "healthy"
