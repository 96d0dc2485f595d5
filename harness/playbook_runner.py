"""Playbook runs through ansible-runner's Python API: one runner for the Molecule tests, the ops
benchmark and operator tools.

    result = run_playbook(REPO_ROOT / "playbooks" / "deploy.yml", inventory,
                          extra_vars={"platform_deploy_version": "0.1.1"}, timeout=900)
    assert result.succeeded, result.stdout[-3000:]
    assert result.changed_hosts == {}

The process environment is passed through (Molecule hands its verifier ANSIBLE_CONFIG with the roles
path and the docker connection settings), with plain-text output unless the caller's `env` asks for
colour (ANSIBLE_FORCE_COLOR). Each run gets a private temporary directory for ansible-runner's
artifacts (the extra variables, the events, the output), removed afterwards unless `keep_artifacts`.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible_runner
from platformctl.recap import HostStats, host_stats

# One ansible-runner event: `event` (e.g. runner_on_ok, playbook_on_task_start), `event_data`
# (host, task, res, ...), `stdout` (what ansible-playbook printed for it), `counter`, `created`.
Event = dict[str, Any]
EventCallback = Callable[[Event], None]

# Set in the environment of each run's processes, so that a stopped run leaves none behind.
RUN_TOKEN_ENV = "PLAYBOOK_RUN_TOKEN"

# ansible-runner's final statuses.
SUCCESSFUL = "successful"
FAILED = "failed"
TIMEOUT = "timeout"
CANCELED = "canceled"


@dataclass(frozen=True)
class PlaybookResult:
    rc: int
    status: str  # SUCCESSFUL, FAILED, TIMEOUT or CANCELED
    stats: dict[str, HostStats]  # per host the run reached; empty when no play ran
    stdout: str  # what ansible-playbook printed (stdout and stderr, in order)
    seconds: float
    artifacts_dir: Path | None  # ansible-runner's artifacts of this run, when kept

    @property
    def succeeded(self) -> bool:
        return self.rc == 0 and self.status == SUCCESSFUL

    @property
    def changed_hosts(self) -> dict[str, int]:
        """Hosts with changed tasks and how many: empty for an idempotent re-run."""
        return {host: s.changed for host, s in self.stats.items() if s.changed}


def run_playbook(
    playbook: Path | str,
    inventory: Path | str,
    *,
    extra_vars: Mapping[str, Any] | None = None,
    limit: str | None = None,
    tags: Sequence[str] = (),
    check: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_event: EventCallback | None = None,
    keep_artifacts: bool = False,
    cwd: Path | str | None = None,
) -> PlaybookResult:
    """Run `playbook` against `inventory` (a file or directory) and wait for it to end.

    `extra_vars` are passed as `-e` (keeping their types), `limit` and `tags` as `--limit` and
    `--tags`, `check` as `--check`; `env` is added to this process's environment. A run longer
    than `timeout` seconds is stopped (status TIMEOUT). `on_event` sees every event as it arrives,
    for live progress. `cwd` is where ansible-playbook runs (so an ansible.cfg there applies unless
    ANSIBLE_CONFIG names another); by default the caller's working directory.
    """
    private_dir = Path(tempfile.mkdtemp(prefix="playbook-run-"))
    started = time.monotonic()
    run_token = uuid.uuid4().hex

    def handle_event(event: Event) -> bool:
        if on_event is not None:
            on_event(event)
        return True  # keep it: the recap is read from the stored events

    try:
        runner = ansible_runner.run(
            private_data_dir=str(private_dir),
            project_dir=str(Path(cwd or Path.cwd()).resolve()),
            playbook=str(Path(playbook).resolve()),
            inventory=str(Path(inventory).resolve()),
            extravars=dict(extra_vars or {}),
            limit=limit,
            tags=",".join(tags) or None,
            cmdline="--check" if check else None,
            envvars={**_run_env(env or {}), RUN_TOKEN_ENV: run_token},
            timeout=math.ceil(timeout) if timeout is not None else None,
            event_handler=handle_event,
            # Never cancelled from outside; without a callback ansible-runner would take over the
            # process's SIGINT and SIGTERM handlers for good.
            cancel_callback=lambda: False,
            quiet=True,
        )
        if runner.status in (TIMEOUT, CANCELED):
            _kill_leftovers(run_token)
        artifacts = Path(runner.config.artifact_dir)
        stdout_file = artifacts / "stdout"
        return PlaybookResult(
            rc=int(runner.rc),
            status=str(runner.status),
            stats=host_stats(runner.stats),
            stdout=stdout_file.read_text(errors="replace") if stdout_file.exists() else "",
            seconds=time.monotonic() - started,
            artifacts_dir=artifacts if keep_artifacts else None,
        )
    finally:
        if not keep_artifacts:
            shutil.rmtree(private_dir, ignore_errors=True)


def processes_with_env(name: str, value: str) -> list[int]:
    """Pids of this machine's processes whose environment has ``name=value`` (inherited by children)."""
    marker = f"{name}={value}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _kill_leftovers(run_token: str) -> None:
    # ansible-runner kills the process group of ansible-playbook on a timeout, but Ansible's workers
    # call setsid(): a worker in the middle of a task would run on, orphaned, until its task ends.
    for pid in processes_with_env(RUN_TOKEN_ENV, run_token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _run_env(env: Mapping[str, str]) -> dict[str, str]:
    # The ansible-playbook of this interpreter's installation first, so the run uses the Ansible that
    # ansible-runner was installed with even when the caller's PATH lacks the virtualenv.
    tools = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if tools not in path.split(os.pathsep):
        path = os.pathsep.join((tools, path))
    # ansible-playbook runs on a terminal under ansible-runner and would colour its output.
    return {"PATH": path, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **env}
