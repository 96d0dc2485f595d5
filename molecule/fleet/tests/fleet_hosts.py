"""The fleet as the verifier on the controller reaches it: the balancer's published port, the client key,
commands inside the Molecule hosts and the balancer's view of its servers (shared by the test modules)."""

from __future__ import annotations

import subprocess

LB_URL = "http://127.0.0.1:28480"
API_KEY = "fleet-client-key"
APP_HOSTS = ("app1", "app2")


def docker_exec(host: str, *cmd: str) -> str:
    return subprocess.run(
        ["docker", "exec", host, *cmd], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def lb_servers() -> dict[str, tuple[int, int]]:
    """Server name -> (operational state, admin state) on lb1; op 2 is running, admin 0 is enabled."""
    out = docker_exec(
        "lb1",
        "sh",
        "-c",
        'echo "show servers state langchain_platform" | socat stdio /run/haproxy/admin.sock',
    )
    rows = [line.split() for line in out.splitlines()[1:] if line and not line.startswith("#")]
    return {row[3]: (int(row[5]), int(row[6])) for row in rows}
