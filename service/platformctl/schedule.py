"""Routine runs on the controller as systemd timers, each going through platformctl (locked, audited).

Every unit runs `python -m platformctl` with the interpreter platformctl is installed in, from the
project directory and with the state directory of the operator who installed it, so timer runs land in
the same audit log as the operators' own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Routine:
    name: str
    description: str
    arguments: tuple[str, ...]  # after `platformctl run`; "{project}" is the project directory
    calendar: str  # systemd OnCalendar=


ROUTINES = (
    Routine("report", "daily report of the fleet", ("report",), "*-*-* 06:00:00"),
    Routine(
        "resource-review",
        "weekly resource review of the fleet",
        # The daily checks plus the runbook's weekly "check for pending updates", kept as their own series.
        (
            "report",
            "-e",
            "platform_report_dir={project}/reports/weekly",
            "-e",
            "platform_report_updates=true",
        ),
        "Mon *-*-* 07:00:00",
    ),
    Routine("prune", "monthly image prune of the fleet", ("prune",), "*-*-01 05:00:00"),
)
PREFIX = "platformctl-"


def default_unit_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/etc/systemd/system")
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"


def unit_files(inventory: Path, project: Path, state_dir: Path) -> dict[str, str]:
    """File name -> content of each routine's service and timer."""
    units: dict[str, str] = {}
    for routine in ROUTINES:
        command = [sys.executable, "-m", "platformctl", "--state-dir", str(state_dir), "run"]
        command += [*(a.format(project=project) for a in routine.arguments), "-i", str(inventory)]
        units[f"{PREFIX}{routine.name}.service"] = (
            "[Unit]\n"
            f"Description=platformctl: {routine.description}\n"
            "Wants=network-online.target\n"
            "After=network-online.target\n"
            "\n[Service]\n"
            "Type=oneshot\n"
            f"WorkingDirectory={_escape(str(project))}\n"
            + _vault_environment()
            + f"ExecStart={_escape(shlex.join(command))}\n"
        )
        units[f"{PREFIX}{routine.name}.timer"] = (
            "[Unit]\n"
            f"Description=platformctl: {routine.description} (timer)\n"
            "\n[Timer]\n"
            f"OnCalendar={routine.calendar}\n"
            # A run missed while the controller was off happens at the next boot, spread a little.
            "Persistent=true\n"
            "RandomizedDelaySec=10min\n"
            "\n[Install]\n"
            "WantedBy=timers.target\n"
        )
    return units


def install(unit_dir: Path, inventory: Path, project: Path, state_dir: Path) -> list[Path]:
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in unit_files(inventory, project, state_dir).items():
        path = unit_dir / name
        path.write_text(content)
        written.append(path)
    return written


def remove(unit_dir: Path) -> list[Path]:
    removed = []
    for routine in ROUTINES:
        for suffix in (".timer", ".service"):
            path = unit_dir / f"{PREFIX}{routine.name}{suffix}"
            if path.exists():
                path.unlink()
                removed.append(path)
    return removed


def timers() -> list[str]:
    return [f"{PREFIX}{routine.name}.timer" for routine in ROUTINES]


def systemctl(*arguments: str) -> list[str]:
    """The systemctl command for the manager default_unit_dir() belongs to (system or user)."""
    return ["systemctl", *([] if os.geteuid() == 0 else ["--user"]), *arguments]


def apply(*arguments: str) -> str | None:
    """Run systemctl when systemd manages this machine; else return the command for the operator."""
    command = systemctl(*arguments)
    if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
        subprocess.run(command, check=False)  # noqa: S603 - fixed arguments; systemctl says what failed
        return None
    return shlex.join(command)


def _vault_environment() -> str:
    # The vault password file of the installing operator's run (--vault-password-file or the environment).
    path = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    return f'Environment="ANSIBLE_VAULT_PASSWORD_FILE={_escape(path)}"\n' if path else ""


def _escape(value: str) -> str:
    # `%` starts a specifier in unit files.
    return value.replace("%", "%%")
