"""Operations benchmark: how long each playbook operation takes and how many requests it fails.

Against one Molecule-created test host (systemd + its own dockerd, the `default` scenario's
`lp-app1`, with the loopback LLM stub that scenario's prepare step installs), while the bounded load
generator sends GET /health and agent runs to the host's port 8000:

    first deploy, no-op re-run, backup (a set with the image archive), upgrade, rollback of a bad
    version, client and provider key rotation, restore of the 0.1.0 set while 0.1.1 runs (state and
    release), the RB-002 rollback playbook, and the runbook's own procedures as the reference: its
    image update (tag a backup, stop, remove, run the new image, `sleep 10`, curl /health) and its
    restart (stop, start, `sleep 10`).

Each operation is a named row of OPERATIONS: a later operation is one more row. Prints seconds,
the playbook's exit code, the failed requests and the seconds the host failed requests
(`unavailable`: from a failed request to the next success) per operation.

    .venv/bin/python -m bench.ops_bench            # molecule create/prepare, the table, destroy
    .venv/bin/python -m bench.ops_bench --keep     # leave the host up afterwards
    .venv/bin/python -m bench.ops_bench --reuse    # an existing host: no create, no destroy

Needs: lab/setup.sh and lab/app-image.sh archives for 0.1.0, 0.1.1 and the broken 0.1.2
(.cache/images/langchain-platform-<version>.tar.gz), the playbooks, and the `default` Molecule
scenario. It refuses to start when that scenario's host already exists (a `make molecule` in
progress) unless told --reuse. One host keeps state in SQLite, which the role refuses to share
between replicas: scaling is timed on the fleet scenario (`make molecule SCENARIOS=fleet` prints a
`[fleet]` line per step: seconds, requests, failed, unavailable seconds).
A row is flagged when an image archive changed while it ran (someone rebuilt the lab images):
such a row measured a replacement, not the operation it names.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import REPO_ROOT
from harness.loadgen import LoadConfig, LoadRun, Target
from harness.playbook_runner import run_playbook
from harness.releases import ARCHIVE_DIR, missing_archives

HOST = "lp-app1"
PORT = 8000
CLIENT_KEY = "ops-bench-client-key"
OPERATION_TIMEOUT_SECONDS = 900
# The playbooks run as from the repository root (its ansible.cfg applies) with the project's roles.
ANSIBLE_ENV = {"ANSIBLE_INJECT_FACT_VARS": "false", "ANSIBLE_ROLES_PATH": str(REPO_ROOT / "roles")}

# Runs an operation given the inventory file and a log file for its output; returns the exit code.
Runner = Callable[[Path, Path], int]


@dataclass(frozen=True)
class Operation:
    name: str
    run: Runner
    expect_failure: bool = False  # a bad release must make the playbook fail (after rolling back)
    # Before the first deploy nothing listens: load then would only count connection refusals.
    under_load: bool = True


def _playbook(playbook: str, **extra_vars: Any) -> Runner:
    def run(inventory: Path, log: Path) -> int:
        result = run_playbook(
            REPO_ROOT / "playbooks" / playbook,
            inventory,
            extra_vars=extra_vars,
            env=ANSIBLE_ENV,
            timeout=OPERATION_TIMEOUT_SECONDS,
            cwd=REPO_ROOT,
        )
        log.write_text(result.stdout)
        return result.rc

    return run


def _on_host(script: str) -> Runner:
    # A runbook procedure, run on the host as an operator would type it.
    def run(_: Path, log: Path) -> int:
        with log.open("w") as out:
            return subprocess.run(
                ["docker", "exec", HOST, "sh", "-ec", script],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=OPERATION_TIMEOUT_SECONDS,
                check=False,
            ).returncode

    return run


# The runbook's "Image Update Procedure" with the docker CLI (the host has no compose): tag the running
# image as a backup, down, up with the new image and the settings the role gives the container,
# `sleep 10`, look at /health.
_RUNBOOK_UPDATE = """
running="$(docker inspect -f '{{{{.Config.Image}}}}' langchain-platform)"
docker tag "$running" "langchain-platform:backup-$(date +%Y%m%d)"
docker stop langchain-platform
docker rm langchain-platform
docker run -d --name langchain-platform --restart unless-stopped \
  --env-file /etc/langchain-platform/platform.env \
  -v langchain-platform-data:/data -v /etc/langchain-platform:/etc/langchain-platform:ro \
  --add-host host.docker.internal:host-gateway -p {port}:8000 {image}
sleep 10
curl -s http://localhost:{port}/health
"""
_RUNBOOK_RESTART = "docker stop langchain-platform && docker start langchain-platform && sleep 10"


OPERATIONS = (
    # Forced: on a --reuse run the previous run's rollback row left 0.1.0 marked bad.
    Operation(
        "first deploy",
        _playbook("site.yml", platform_deploy_version="0.1.0", platform_deploy_force=True),
        under_load=False,
    ),
    Operation("no-op re-run", _playbook("deploy.yml", platform_deploy_version="0.1.0")),
    Operation("backup (image, state, configuration)", _playbook("backup.yml")),
    Operation("upgrade 0.1.0 -> 0.1.1", _playbook("deploy.yml", platform_deploy_version="0.1.1")),
    Operation(
        "rollback of bad 0.1.2",
        _playbook("deploy.yml", platform_deploy_version="0.1.2-broken", platform_deploy_health_timeout=30),
        expect_failure=True,
    ),
    Operation(
        "key rotation (start of the grace window)",
        _playbook("rotate_keys.yml", key_rotation_phase="start", key_rotation_new_key="ops-bench-key-new-1"),
    ),
    # The loopback LLM stub answers any key: the check call succeeds, then each replica is recreated on it.
    Operation(
        "provider key rotation (OPENAI_API_KEY)",
        _playbook(
            "rotate_keys.yml",
            key_rotation_client=False,
            key_rotation_provider_keys={"OPENAI_API_KEY": "sk-ops-bench-rotated-provider-key"},
        ),
    ),
    # The backup row's set: its state, and its release rolled out again over 0.1.1.
    Operation("restore of the 0.1.0 set (0.1.1 -> 0.1.0)", _playbook("restore.yml")),
    # The release history now ends 0.1.1, 0.1.0: RB-002 goes back to 0.1.1 and marks 0.1.0 bad.
    Operation("rollback playbook (RB-002) 0.1.0 -> 0.1.1", _playbook("rollback.yml")),
    Operation(
        "runbook update 0.1.1 -> 0.1.0 (reference)",
        _on_host(_RUNBOOK_UPDATE.format(port=PORT, image="langchain-platform:0.1.0")),
    ),
    Operation("runbook restart (reference)", _on_host(_RUNBOOK_RESTART)),
)


def tool_env() -> dict[str, str]:
    """The environment for molecule: the venv's tools first on PATH."""
    venv_bin = str(REPO_ROOT / ".venv" / "bin")
    return {**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}", **ANSIBLE_ENV}


def molecule(action: str, scenario: str) -> None:
    subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "molecule"), action, "-s", scenario],
        cwd=REPO_ROOT,
        env=tool_env(),
        check=True,
        timeout=OPERATION_TIMEOUT_SECONDS,
    )


def host_address() -> str:
    done = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", HOST],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()[0]


def write_inventory(path: Path) -> None:
    """The Molecule host reached over `docker exec`, with the settings of the default scenario."""
    stub_url = "http://host.docker.internal:8999/v1"  # the stub prepare.yml runs on the host
    inventory: dict[str, Any] = {
        "all": {
            "vars": {
                "ansible_connection": "community.docker.docker",
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "children": {
                "docker": {"hosts": {HOST: {}}},
                "app": {
                    "hosts": {HOST: {}},
                    "vars": {
                        "platform_deploy_image_archive_dir": str(ARCHIVE_DIR),
                        "platform_deploy_openai_api_key": "sk-ops-bench-dummy",
                        "platform_deploy_openai_base_url": stub_url,
                        "platform_deploy_etc_hosts": {"host.docker.internal": "host-gateway"},
                        "platform_deploy_api_keys": [CLIENT_KEY],
                        "platform_deploy_memory": "768m",
                        "platform_deploy_cpus": 1.0,
                        "platform_deploy_health_timeout": 60,
                    },
                },
            },
        }
    }
    # JSON is YAML: the inventory plugin reads it as is.
    path.write_text(json.dumps(inventory, indent=2))


def load_config(address: str, duration_s: float) -> LoadConfig:
    body = json.dumps({"input": "use tool calculator: 6*7", "thread_id": "ops-SEQ"}).replace("SEQ", "{seq}")
    return LoadConfig(
        base_url=f"http://{address}:{PORT}",
        targets=[Target("GET", "/health"), Target("POST", "/api/enterprise/agents/assistant/invoke", body)],
        headers={"X-API-Key": CLIENT_KEY},
        concurrency=4,
        duration_s=duration_s,
        max_requests=1_000_000,
        timeout_s=10.0,
        rate_per_s=20.0,  # a steady trickle: enough to see every failed request, not a stress test
        allow_hosts=[address],
    )


def archive_ids() -> dict[str, str]:
    return {p.name: p.read_text().strip() for p in sorted(ARCHIVE_DIR.glob("*.tar.gz.id"))}


def run_command(operation: Operation, inventory: Path, log: Path) -> tuple[int, float]:
    started = time.monotonic()
    rc = operation.run(inventory, log)
    return rc, time.monotonic() - started


def run_operation(operation: Operation, inventory: Path, address: str, log_dir: Path) -> dict[str, Any]:
    log = log_dir / f"{operation.name.replace(' ', '_').replace('>', '')}.log"
    archives_before = archive_ids()
    summary: dict[str, Any] | None = None
    if operation.under_load:
        with LoadRun(load_config(address, OPERATION_TIMEOUT_SECONDS)) as load:
            rc, seconds = run_command(operation, inventory, log)
        summary = load.result()
    else:
        rc, seconds = run_command(operation, inventory, log)
    return {
        "operation": operation.name,
        "seconds": round(seconds, 1),
        "rc": rc,
        "as_expected": (rc != 0) == operation.expect_failure,
        "archives_changed": archive_ids() != archives_before,
        "requests": summary["requests"] if summary else "-",
        "failed": summary["failures"] if summary else "-",
        "unavailable_s": f"{summary['unavailable_s']:.1f}" if summary else "-",
        "status_counts": summary["status_counts"] if summary else "no load: nothing listens yet",
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default="default", help="Molecule scenario that creates the host")
    parser.add_argument("--keep", action="store_true", help="leave the Molecule host running")
    parser.add_argument(
        "--reuse", action="store_true", help="use an existing host; never create or destroy it"
    )
    parser.add_argument("--only", action="append", help="run only these operations (by name), in order")
    args = parser.parse_args(argv)
    names = ("site.yml", "deploy.yml", "rotate_keys.yml", "backup.yml", "restore.yml", "rollback.yml")
    playbooks = [REPO_ROOT / "playbooks" / name for name in names]
    missing = [str(p) for p in playbooks if not p.exists()]
    missing += map(str, missing_archives("0.1.0", "0.1.1", "0.1.2-broken"))
    if missing:
        print("ops bench needs (run lab/setup.sh and lab/app-image.sh first):\n  " + "\n  ".join(missing))
        return 2
    operations = [op for op in OPERATIONS if not args.only or op.name in args.only]
    exists = subprocess.run(["docker", "inspect", HOST], capture_output=True, check=False).returncode == 0
    if exists and not args.reuse:
        print(
            f"{HOST} already exists (a Molecule run in progress?): not touching it; --reuse to use it as is"
        )
        return 2
    if not exists:
        molecule("create", args.scenario)
    rows = []
    try:
        if not exists:
            molecule("prepare", args.scenario)
        address = host_address()
        with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp:
            inventory = Path(tmp) / "inventory.json"
            write_inventory(inventory)
            log_dir = REPO_ROOT / ".cache" / "logs" / "ops-bench"
            log_dir.mkdir(parents=True, exist_ok=True)
            print(
                f"{'operation':<42} {'seconds':>8} {'rc':>3} {'requests':>9} {'failed':>7} "
                f"{'unavailable s':>13}  statuses"
            )
            for operation in operations:
                row = run_operation(operation, inventory, address, log_dir)
                rows.append(row)
                flag = "" if row["as_expected"] else "  UNEXPECTED rc (see log)"
                if row["archives_changed"]:
                    flag += "  ARCHIVES REBUILT meanwhile: not comparable"
                print(
                    f"{row['operation']:<42} {row['seconds']:>8.1f} {row['rc']:>3} {row['requests']:>9} "
                    f"{row['failed']:>7} {row['unavailable_s']:>13}  {row['status_counts']}{flag}",
                    flush=True,
                )
    finally:
        if not args.keep and not exists:
            molecule("destroy", args.scenario)
    return 0 if all(row["as_expected"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
