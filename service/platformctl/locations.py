"""Where platformctl finds the project's playbooks and keeps its own state."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

STATE_DIR_ENV = "PLATFORMCTL_STATE_DIR"
PROJECT_ENV = "PLATFORMCTL_PROJECT"


class NotFoundError(Exception):
    """A playbook, inventory or project directory the operator named does not exist."""


def state_dir(explicit: str | None = None) -> Path:
    """The audit log, the run artifacts and locks acquired by hand live here (created 0700)."""
    chosen = explicit or os.environ.get(STATE_DIR_ENV)
    if chosen:
        path = Path(chosen).expanduser()
    else:
        base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        path = base / "langchain-platform"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path.resolve()


def project_dir(explicit: str | None = None) -> Path:
    """The repository (or installed copy) holding playbooks/ and ansible.cfg.

    Searched upwards from the working directory, so operators can run platformctl from anywhere inside it.
    """
    chosen = explicit or os.environ.get(PROJECT_ENV)
    if chosen:
        path = Path(chosen).expanduser().resolve()
        if not (path / "playbooks").is_dir():
            raise NotFoundError(f"{path} has no playbooks/ directory")
        return path
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "playbooks").is_dir() and (candidate / "ansible.cfg").is_file():
            return candidate
    return here


def playbook_path(name: str, project: Path) -> Path:
    """`deploy`, `deploy.yml` (both from the project's playbooks/) or a path to any playbook."""
    given = Path(name).expanduser()
    if given.is_file():
        return given.resolve()
    for candidate in (project / "playbooks" / name, project / "playbooks" / f"{name}.yml"):
        if candidate.is_file():
            return candidate
    raise NotFoundError(f"no playbook {name!r}: neither a file nor in {project / 'playbooks'}")


def inventory_path(name: str) -> Path:
    path = Path(name).expanduser()
    if not path.exists():
        raise NotFoundError(f"no inventory {name!r}")
    return path.resolve()


def git_revision(project: Path) -> str | None:
    """The project's commit, so an audit line says which playbooks ran; None outside a git checkout."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-C", str(project), "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as operators run it
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
