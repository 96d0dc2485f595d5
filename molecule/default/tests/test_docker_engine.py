"""docker_engine: the engine runs under systemd on the test host."""

from __future__ import annotations

import json
from typing import Any


def test_systemd_is_pid_1(host: Any) -> None:
    assert host.run("ps -o comm= -p 1").stdout.strip() == "systemd"


def test_docker_service_enabled_and_running(host: Any) -> None:
    docker = host.service("docker")
    assert docker.is_enabled
    assert docker.is_running
    assert host.run("systemctl show -p MainPID --value docker.service").stdout.strip() != "0"


def test_daemon_json_has_the_role_options(host: Any) -> None:
    options = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert options["log-driver"] == "json-file"
    assert options["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert options["live-restore"] is True


def test_python_docker_sdk_installed(host: Any) -> None:
    assert host.package("python3-docker").is_installed
