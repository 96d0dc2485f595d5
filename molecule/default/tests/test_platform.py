"""platform_deploy: the container, its configuration and the runbook's commands on the converged host."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from conftest import API_KEY, CONTAINER, LLM_KEY, api, inspect


def test_container_runs_the_deployed_image(host: Any) -> None:
    container = inspect(host)
    assert container["State"]["Running"] is True
    assert container["Config"]["Image"] == "langchain-platform:0.1.0"
    image = host.run("docker image inspect -f '{{.Id}}' langchain-platform:0.1.0").stdout.strip()
    assert container["Image"] == image


def test_container_limits_logs_and_restart_policy(host: Any) -> None:
    config = inspect(host)["HostConfig"]
    assert config["RestartPolicy"]["Name"] == "unless-stopped"
    assert config["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}
    assert config["Memory"] == 768 * 1024 * 1024
    assert config["NanoCpus"] == 1_000_000_000
    assert config["PortBindings"] == {"8000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8000"}]}


def test_state_volume_and_read_only_config(host: Any) -> None:
    mounts = {mount["Destination"]: mount for mount in inspect(host)["Mounts"]}
    assert mounts["/data"]["Type"] == "volume"
    assert mounts["/data"]["Name"] == "langchain-platform-data"
    assert mounts["/etc/langchain-platform"]["RW"] is False


def test_healthcheck_comes_from_the_image(host: Any) -> None:
    container = inspect(host)
    image = host.run("docker image inspect -f '{{json .Config.Healthcheck}}' langchain-platform:0.1.0").stdout
    assert container["Config"]["Healthcheck"]["Test"], "the image defines no HEALTHCHECK"
    assert container["Config"]["Healthcheck"]["Test"] == json.loads(image)["Test"]
    assert container["State"]["Health"]["Status"] == "healthy"


def test_config_files_modes_and_owners(host: Any) -> None:
    directory = host.file("/etc/langchain-platform")
    assert (directory.mode, directory.user, directory.gid) == (0o750, "root", 10001)
    env = host.file("/etc/langchain-platform/platform.env")
    assert (env.mode, env.user, env.group) == (0o600, "root", "root")
    assert env.contains(f"^OPENAI_API_KEY={LLM_KEY}$")
    keys = host.file("/etc/langchain-platform/api-keys")
    assert (keys.mode, keys.user, keys.gid) == (0o640, "root", 10001)
    # The inventory's one plain key is the operator's: owner and scopes written next to its digest.
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    assert f"{digest} owner=operator scopes=admin,agents" in keys.content_string.splitlines()
    assert API_KEY not in keys.content_string


def test_runbook_health_check_prints_healthy(host: Any) -> None:
    status = host.run("curl -s http://localhost:8000/health | jq .status")
    assert status.stdout.strip() == '"healthy"'


def test_runbook_docker_ps_lists_the_container(host: Any) -> None:
    table = "table {{.Names}}\\t{{.Status}}\\t{{.Ports}}"
    command = f'docker ps --filter name=langchain-platform --format "{table}"'
    listing = host.run(command).stdout
    assert CONTAINER in listing
    assert "(healthy)" in listing
    assert "0.0.0.0:8000->8000/tcp" in listing


def test_runbook_stats_and_memory_limit(host: Any) -> None:
    assert host.run("docker stats langchain-platform --no-stream").rc == 0
    memory = host.run("docker inspect langchain-platform | jq '.[0].HostConfig.Memory'").stdout.strip()
    assert memory == str(768 * 1024 * 1024)


def test_runbook_api_status_with_key(host: Any) -> None:
    url = "http://localhost:8000/api/enterprise/agents"
    status = host.run(f'curl -s -H "X-API-Key: {API_KEY}" {url} | jq .status')
    assert status.stdout.strip() == '"ok"'


def test_api_refuses_a_missing_key(host: Any) -> None:
    code = host.run(
        "curl -s -o /dev/null -w '%{http_code}' http://localhost:8000/api/enterprise/agents"
    ).stdout
    assert code == "401"


def test_agent_answers_through_the_stub_llm(host: Any, agent_name: str) -> None:
    answer = api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": "ping from molecule"})
    assert "ping from molecule" in answer["output"]
    assert answer["usage"]["total_tokens"] > 0


def test_no_secret_in_container_logs_or_journal(host: Any, agent_name: str) -> None:
    # A request carrying the client key first, so the logs have had the chance to leak it.
    api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": "log check"})
    logs = host.run(f"docker logs {CONTAINER} 2>&1")
    assert logs.rc == 0
    assert logs.stdout, "the container logged nothing"
    journal = host.run("journalctl --no-pager -o cat")
    assert journal.rc == 0
    for secret in (API_KEY, LLM_KEY):
        assert secret not in logs.stdout
        assert secret not in journal.stdout
