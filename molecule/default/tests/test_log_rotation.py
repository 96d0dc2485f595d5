"""log_rotation: Docker caps the container's log and keeps the container through a daemon restart
(live-restore); logrotate accepts the host's rules, and rotate_logs.yml rotates the logs they name.

Each test leaves the host serving as converge did (the same container, the log files it created removed),
because test_operations.py, test_platform.py and test_upgrade_rollback.py run after this module.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from conftest import CONTAINER, api, inspect, playbook

from harness.playbook_runner import PlaybookResult

# platform_deploy's per-container limits in this scenario (its defaults, "10m" and 3): Docker reads "10m"
# as 10 000 000 bytes and may finish the line that crosses it.
MAX_SIZE = 10_000_000
MAX_FILE = 3
LINE_BYTES = 1000
# The rules molecule.yml enables on this host, and a log each of them names.
RULE_LOGS = {
    "haproxy": "/var/log/haproxy.log",
    "postgresql-common": "/var/log/postgresql/postgresql-15-main.log",
    "molecule-app": "/var/log/molecule-app/app.log",
}


def container_log_sizes(host: Any) -> dict[str, int]:
    """The container's json-file log and its rotated files, by name, with their sizes."""
    container_id = inspect(host)["Id"]
    listing = host.check_output(
        f"stat -c '%n %s' /var/lib/docker/containers/{container_id}/{container_id}-json.log*"
    )
    rows = (line.split() for line in listing.splitlines())
    return {name.rsplit("/", 1)[-1]: int(size) for name, size in rows}


def write_to_container_log(host: Any, text: str) -> None:
    """Lines on the container's stdout, as the service's own logs arrive (PID 1's standard output)."""
    result = host.run(f"docker exec {CONTAINER} sh -c 'printf \"%s\\n\" {text} > /proc/1/fd/1'")
    assert result.rc == 0, result.stderr


def wait_for_in_container_log(host: Any, marker: str, timeout: float = 30) -> None:
    """Until Docker has written `marker`: the lines before it are then in the files too."""
    deadline = time.monotonic() + timeout
    while marker not in host.run(f"docker logs --tail 5 {CONTAINER} 2>&1").stdout:
        assert time.monotonic() < deadline, f"{marker} did not reach the container log in {timeout} s"
        time.sleep(0.5)


def wait_healthy(host: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while host.run("curl -sf http://localhost:8000/health/ready").rc != 0:
        assert time.monotonic() < deadline, f"the service did not answer /health/ready within {timeout} s"
        time.sleep(1)
    assert api(host, "GET", "/health")["status"] == "healthy"


def rotate_logs() -> PlaybookResult:
    result = playbook("rotate_logs.yml", timeout=None)
    assert result.succeeded, result.stdout[-3000:]
    return result


def test_container_log_keeps_at_most_max_file_files(host: Any) -> None:
    # About four times max-size, as fast as the service could ever log.
    lines = 4 * MAX_SIZE // LINE_BYTES
    flood = f'yes "$(printf "%0{LINE_BYTES - 1}d" 0)" | head -n {lines} > /proc/1/fd/1'
    result = host.run(f"docker exec {CONTAINER} sh -c '{flood}'")
    assert result.rc == 0, result.stderr
    marker = f"log-rotation-{uuid.uuid4().hex}"
    write_to_container_log(host, marker)
    wait_for_in_container_log(host, marker)

    sizes = container_log_sizes(host)
    assert len(sizes) <= MAX_FILE, sizes
    assert len(sizes) == MAX_FILE, f"{4 * MAX_SIZE} bytes written but the log was not rotated: {sizes}"
    assert all(size <= MAX_SIZE + 2 * LINE_BYTES for size in sizes.values()), sizes
    assert inspect(host)["State"]["Running"] is True
    wait_healthy(host)


def test_docker_restart_leaves_the_container_running(host: Any) -> None:
    before = inspect(host)["State"]
    restart = host.run("systemctl restart docker.service")
    assert restart.rc == 0, restart.stderr
    after = inspect(host)["State"]
    assert after["Running"] is True
    same = (after["Pid"], after["StartedAt"]) == (before["Pid"], before["StartedAt"])
    assert same, "the container was restarted with the daemon"
    wait_healthy(host)
    # The restarted daemon took the container's output back: new lines reach its log.
    marker = f"after-docker-restart-{uuid.uuid4().hex}"
    write_to_container_log(host, marker)
    wait_for_in_container_log(host, marker)
    # Containers that later deploys create still find the host (host-gateway-ip in molecule.yml).
    image = inspect(host)["Config"]["Image"]
    hosts_file = host.check_output(
        f"docker run --rm --add-host probe:host-gateway --entrypoint cat {image} /etc/hosts"
    )
    assert "172.17.0.1\tprobe" in hosts_file, hosts_file


def test_logrotate_accepts_the_rules(host: Any) -> None:
    for rule, log in RULE_LOGS.items():
        text = host.file(f"/etc/logrotate.d/{rule}").content_string
        assert log.rsplit("/", 1)[0] in text, text
        assert "maxsize" in text
    check = host.run("logrotate --debug /etc/logrotate.conf")
    assert check.rc == 0, check.stderr[-3000:]
    timer = host.service("logrotate.timer")
    assert timer.is_enabled
    assert timer.is_running
    # log_rotation_schedule "hourly", so that maxsize is checked every hour.
    calendar = host.check_output("systemctl show -p TimersCalendar --value logrotate.timer")
    assert calendar.count("OnCalendar=") == 1, calendar
    assert "OnCalendar=*-*-* *:00:00" in calendar, calendar


def test_rotate_logs_rotates_what_the_rules_name(host: Any) -> None:
    # Debian's PostgreSQL log directory is group-writable, which logrotate accepts only with the rule's `su`.
    host.check_output("install -d -m 1775 -g adm /var/log/postgresql && install -d /var/log/molecule-app")
    try:
        for log in RULE_LOGS.values():
            host.check_output(f"echo 'line of {log}' > {log}")
        result = rotate_logs()
        assert result.changed_hosts == {"lp-app1": 1}, result.stdout[-3000:]
        for log in RULE_LOGS.values():
            assert host.file(f"{log}.1").content_string == f"line of {log}\n"
        # HAProxy's file is moved (rsyslog reopens it); PostgreSQL's and the app's are copied and truncated.
        assert not host.file(RULE_LOGS["haproxy"]).exists
        assert host.file(RULE_LOGS["postgresql-common"]).size == 0
        assert host.file(RULE_LOGS["molecule-app"]).size == 0

        # Nothing new was logged: nothing to rotate.
        assert rotate_logs().changed_hosts == {}
    finally:
        host.run("rm -rf /var/log/haproxy.log* /var/log/postgresql /var/log/molecule-app")
