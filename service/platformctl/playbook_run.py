"""One ansible-playbook run through ansible-runner's Python API.

The private data directory (where ansible-runner writes the extra variables for `-e @file`) is a
temporary directory removed after the run, so -e values never reach the state directory; only the
artifacts (events, output, command) are kept, under the state directory, when asked.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from platformctl.extra_vars import ExtraVars
from platformctl.recap import HostStats, host_stats

Event = dict[str, Any]

SUCCESSFUL = "successful"
_OUTPUT_TAIL = 1500


@dataclass(frozen=True)
class RunResult:
    rc: int
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    stats: dict[str, HostStats]
    seconds: float
    custom_stats: dict[str, Any] = field(default_factory=dict)  # what the playbook's set_stats reported
    output_tail: str = ""  # the end of what ansible-playbook printed, for error messages
    artifacts: Path | None = None

    @property
    def changed_hosts(self) -> list[str]:
        return sorted(host for host, s in self.stats.items() if s.changed)

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(host for host, s in self.stats.items() if s.failed or s.unreachable)


@dataclass(frozen=True)
class RunRequest:
    playbook: Path
    inventory: Path
    project: Path
    extra_vars: ExtraVars = field(default_factory=ExtraVars)
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    check: bool = False


@dataclass(frozen=True)
class Artifacts:
    """Keep this run's ansible-runner artifacts as `directory/ident`, with only the newest `keep` there."""

    directory: Path
    ident: str
    keep: int


def run(
    request: RunRequest,
    *,
    on_event: Callable[[Event], None] | None = None,
    artifacts: Artifacts | None = None,
    cancel: Callable[[], bool] = lambda: False,
) -> RunResult:
    """Run and wait; `cancel` returning True stops the run (status canceled)."""
    private_dir = Path(tempfile.mkdtemp(prefix="platformctl-"))
    started = time.monotonic()
    custom: dict[str, Any] = {}

    def handle(event: Event) -> bool:
        if event.get("event") == "playbook_on_stats":
            custom.update(event.get("event_data", {}).get("artifact_data") or {})
        if on_event is not None:
            on_event(event)
        return True  # kept: the recap and the artifacts are read from the stored events

    cmdline = [*request.extra_vars.cmdline(), *(["--check"] if request.check else [])]
    options: dict[str, Any] = {}
    if artifacts is not None:
        artifacts.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        options = {
            "artifact_dir": str(artifacts.directory),
            "ident": artifacts.ident,
            "rotate_artifacts": artifacts.keep,
        }
    try:
        runner = ansible_runner.run(
            private_data_dir=str(private_dir),
            project_dir=str(request.project),
            playbook=str(request.playbook),
            inventory=str(request.inventory),
            extravars=dict(request.extra_vars.values),
            limit=request.limit,
            tags=request.tags,
            skip_tags=request.skip_tags,
            cmdline=" ".join(cmdline) or None,
            envvars=_run_env(),
            event_handler=handle,
            # Given, so ansible-runner does not take over this process's SIGINT and SIGTERM handlers.
            cancel_callback=cancel,
            quiet=True,
            **options,
        )
        stdout_file = Path(runner.config.artifact_dir) / "stdout"
        output = stdout_file.read_text(errors="replace") if stdout_file.is_file() else ""
        kept = Path(runner.config.artifact_dir) if artifacts is not None else None
        if kept is not None:
            _scrub(kept, request.extra_vars)
        return RunResult(
            rc=int(runner.rc),
            status=str(runner.status),
            stats=host_stats(runner.stats),
            seconds=time.monotonic() - started,
            custom_stats=custom,
            output_tail=request.extra_vars.mask(output[-_OUTPUT_TAIL:]),
            artifacts=kept,
        )
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)


def _run_env() -> dict[str, str]:
    # The Ansible installed with this interpreter first, so a systemd unit or a shell without the
    # virtualenv on PATH runs the same ansible-playbook; plain text, as the output is parsed and kept.
    tools = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if tools not in path.split(os.pathsep):
        path = os.pathsep.join((tools, path))
    return {"PATH": path, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}


def _scrub(artifacts: Path, extra_vars: ExtraVars) -> None:
    # ansible-runner records the whole environment of the run in `command` (the operator's may hold
    # provider keys): keep the names. Secret-looking -e values a task may have echoed are masked.
    command_file = artifacts / "command"
    if command_file.is_file():
        command = json.loads(command_file.read_text())
        command["env"] = sorted(command.get("env") or {})
        command_file.write_text(json.dumps(command))
    if not extra_vars.secrets:
        return
    for path in artifacts.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="surrogateescape")
            masked = extra_vars.mask(text)
            if masked != text:
                path.write_text(masked, errors="surrogateescape")
