"""The runbook's procedures as playbooks (backup, restore, rollback, restart, maintenance, log level,
sessions, key rotation), run from the controller against the scenario's inventory as an operator would.

The tests run in file order and each leaves the host as converge did (0.1.0 by its name, the client key,
maintenance off, log level INFO), because test_platform.py and test_upgrade_rollback.py run after this module.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, BASE_URL, CONTAINER, LLM_KEY, api, inspect, playbook

from harness.playbook_runner import PlaybookResult

NEW_KEY = "molecule-rotated-key"


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


def test_window_guard_refuses_outside_the_window(host: Any) -> None:
    """Refused outside the windows, also when --tags names only the deploy's own tasks."""
    started = inspect(host)["State"]["StartedAt"]
    elsewhere = (datetime.now(UTC) + timedelta(days=3)).strftime("%a")
    window = {"days": [elsewhere], "start": "00:00", "end": "01:00", "timezone": "Europe/Berlin"}
    result = playbook("deploy.yml", {"platform_maintenance_windows": [window]}, tags=["platform_deploy"])
    assert result.rc != 0
    # The message is wrapped and coloured in the YAML result and repeated on stderr: compare plain words.
    words = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).split())
    assert "outside the maintenance windows of lp-app1" in words, words[-3000:]
    assert f"The next window opens {elsewhere} " in words
    assert f"(window {elsewhere} 00:00-01:00 Europe/Berlin)" in words
    assert '-e platform_window_override="<reason>"' in words
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


def test_check_mode_previews_each_admin_playbook(host: Any, agent_name: str) -> None:
    """The admin playbooks under --check on the converged host: they preview (changed) and change nothing."""
    thread = new_thread(host, agent_name, "kept by check mode")
    for name, extra_vars in (
        ("maintenance.yml", {"platform_maintenance": "on"}),
        ("log_level.yml", {"platform_log_level": "DEBUG"}),
        ("sessions_clear.yml", {"platform_sessions_thread_ids": [thread]}),
    ):
        result = playbook(name, extra_vars, check=True)
        output = " ".join(succeeded(result).split())
        assert result.changed_hosts, f"{name} previews nothing under --check"
        assert "would" in output, output[-2000:]
    assert api(host, "GET", "/health")["status"] == "healthy"
    assert "kept by check mode" in thread_texts(host, agent_name, thread)


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


def test_rotate_keys_with_a_grace_window_then_finish(host: Any, tmp_path: Path) -> None:
    agents = "/api/enterprise/agents"
    key_file, password = tmp_path / "api-key.new", tmp_path / "vault-pass"
    password.write_text("molecule-vault-password\n")
    rotate = {"key_rotation_key_file": str(key_file), "key_rotation_vault_password_file": str(password)}
    started = inspect(host)["State"]["StartedAt"]
    new_key = "never-issued-key-0000"  # until the generated one is read
    try:
        output = succeeded(playbook("rotate_keys.yml", {**rotate, "key_rotation_phase": "start"}))
        # The generated key: 0600 on the controller, vault encrypted, never printed.
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text().startswith("$ANSIBLE_VAULT;")
        view = ["ansible-vault", "view", "--vault-password-file", str(password), str(key_file)]
        new_key = subprocess.run(view, check=True, capture_output=True, text=True).stdout.strip()
        new_id, old_id = (hashlib.sha256(k.encode()).hexdigest() for k in (new_key, API_KEY))
        assert new_key not in output
        assert f"started: key {new_id[:12]} (owner operator) accepted; old key {old_id[:12]}" in output
        # Both keys work during the window; the old one's line carries its end.
        assert http_code(host, "GET", agents, key=new_key) == "200"
        assert http_code(host, "GET", agents, key=API_KEY) == "200"
        keys = host.file("/etc/langchain-platform/api-keys").content_string.splitlines()
        assert f"{new_id} owner=operator scopes=admin,agents" in keys
        in_grace = re.compile(rf"{old_id} owner=operator scopes=admin,agents expires=\S+Z")
        assert any(in_grace.fullmatch(line) for line in keys)

        output = succeeded(playbook("rotate_keys.yml", {**rotate, "key_rotation_phase": "finish"}))
        assert f"finished: key {old_id[:12]} removed and refused on every replica" in output
        assert new_key not in output
        assert http_code(host, "GET", agents, key=API_KEY) == "401"
        assert http_code(host, "GET", agents, key=new_key) == "200"
        assert inspect(host)["State"]["StartedAt"] == started, "the rotation restarted the container"
        for place in (f"docker logs {CONTAINER} 2>&1", "journalctl --no-pager 2>&1"):
            assert new_key not in host.run(place).stdout, f"the new key reached {place}"
    finally:
        # Back to the inventory's key for the modules that follow: the generated one is now the old one.
        back = {"key_rotation_phase": "finish", "key_rotation_old_key": new_key}
        back["key_rotation_new_key"] = API_KEY
        output = succeeded(playbook("rotate_keys.yml", back))
        assert new_key not in output
    assert http_code(host, "GET", agents, key=API_KEY) == "200"
    assert http_code(host, "GET", agents, key=new_key) == "401"


def test_provider_key_rotation_refuses_a_key_that_does_not_answer(host: Any) -> None:
    started = inspect(host)["State"]["StartedAt"]
    result = playbook(
        "rotate_keys.yml",
        {
            "key_rotation_client": False,
            "key_rotation_provider_keys": {"OPENAI_API_KEY": NEW_KEY},
            # The stub answers 404 off its /v1 routes, as a provider does for a wrong base URL.
            "key_rotation_openai_base_url": "http://host.docker.internal:8999/wrong",
        },
    )
    assert result.rc != 0
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).split())
    called = "GET http://host.docker.internal:8999/wrong/models answered 404"
    assert f"The new provider key of OPENAI_API_KEY ({called})" in text
    assert "no replica was recreated with it" in text
    assert NEW_KEY not in result.stdout
    assert inspect(host)["State"]["StartedAt"] == started


@pytest.fixture(autouse=True)
def _healthy_after(host: Any) -> Any:
    """Every test must leave the service healthy for the next one."""
    yield
    assert api(host, "GET", "/health")["status"] == "healthy"
