"""The fleet as the verifier on the controller reaches it: the balancer's published port, the client key,
commands inside the Molecule hosts, the balancer's view of its servers, the project's playbooks run against
Molecule's inventory, the client load through the balancer and the figures each step prints (shared by the
test modules)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from platformctl.recap import HostStats

from harness.loadgen import LoadConfig, LoadRun, Target
from harness.playbook_runner import run_playbook

LB_URL = "http://127.0.0.1:28480"
API_KEY = "fleet-client-key"
APP_HOSTS = ("app1", "app2")
PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
INVOKE = "/api/enterprise/agents/assistant/invoke"
STEPS_FILE = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")) / "fleet-steps.json"


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


def playbook(
    name: str | Path,
    extra_vars: dict[str, Any],
    *,
    tags: Sequence[str] = (),
    check: bool = False,
) -> tuple[int, dict[str, HostStats], str, float]:
    """Run playbooks/<name> (or the playbook at an absolute path) on Molecule's inventory; return rc, the
    recap per host, the output and the seconds it took."""
    result = run_playbook(
        PROJECT / "playbooks" / name,
        Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent,
        extra_vars=extra_vars,
        tags=tags,
        check=check,
        env={"ANSIBLE_INJECT_FACT_VARS": "false"},
        timeout=1500,
    )
    return result.rc, result.stats, result.stdout, result.seconds


def replicas(host: str) -> dict[str, dict[str, Any]]:
    """Container name -> id, image, image version label and /health status of a host's replicas."""
    names = docker_exec(
        host, "docker", "ps", "--filter", "name=langchain-platform", "--format", "{{.Names}}"
    ).split()
    result = {}
    for name in names:
        index = int(name.rsplit("-", 1)[1]) if name != "langchain-platform" else 1
        health = json.loads(docker_exec(host, "curl", "-s", f"http://127.0.0.1:{8000 + index - 1}/health"))
        inspect = json.loads(docker_exec(host, "docker", "inspect", name))[0]
        # The image's version label: /health of the lab's 0.1.1 build still reports 0.1.0.
        result[name] = {
            "id": inspect["Id"],
            "image": inspect["Config"]["Image"],
            "version": inspect["Config"]["Labels"]["org.opencontainers.image.version"],
            "status": health["status"],
        }
    return result


def load(api_key: str = API_KEY) -> LoadRun:
    """Agent calls (each on its own thread, so no 409) and agent listings, at a bounded rate."""
    return LoadRun(
        LoadConfig(
            base_url=LB_URL,
            targets=[
                Target("POST", INVOKE, '{"input": "ping {seq}", "thread_id": "load-{seq}"}'),
                Target("GET", "/api/enterprise/agents"),
            ],
            headers={"X-API-Key": api_key},
            concurrency=4,
            rate_per_s=15,
            duration_s=1500,
            max_requests=30_000,
            timeout_s=60,
        )
    )


def record(step: str, summary: dict[str, Any] | None, seconds: float | None) -> None:
    """Print and keep one step's figures: the operations benchmark of the fleet."""
    took = f"{seconds:.1f} s" if seconds is not None else "-"
    line = f"[fleet] {step}: {took}"
    if summary is not None:
        line += (
            f", {summary['requests']} requests, {summary['failures']} failed, "
            f"{summary['unavailable_s']} s unavailable, {summary['conflicts_409']} x 409, "
            f"p99 {summary['latency_ms']['p99']} ms, upstreams {summary['upstreams']}"
        )
    print(line)
    steps = json.loads(STEPS_FILE.read_text()) if STEPS_FILE.exists() else {}
    steps[step] = {"seconds": seconds, "load": summary}
    STEPS_FILE.write_text(json.dumps(steps, indent=2))


def assert_no_change(recap: dict[str, HostStats]) -> None:
    assert recap, "no PLAY RECAP in the output"
    assert {h: r.changed for h, r in recap.items() if r.changed} == {}


# Prints the OpenAI stub's answer on db1 (port 8999 is not published there);
# argv: method, path, JSON body or "".
_STUB_CALL = (
    "import sys, urllib.request; "
    "r = urllib.request.Request('http://127.0.0.1:8999' + sys.argv[2], method=sys.argv[1], "
    "data=sys.argv[3].encode() or None, headers={'Content-Type': 'application/json'}); "
    "sys.stdout.write(urllib.request.urlopen(r, timeout=30).read().decode())"
)


def stub(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the OpenAI stub on db1: GET/DELETE /_requests is its request log (headers included)."""
    data = json.dumps(body) if body is not None else ""
    return json.loads(docker_exec("db1", "python3", "-c", _STUB_CALL, method, path, data))
