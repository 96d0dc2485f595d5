"""The fleet lock: one disruptive run per fleet at a time, whichever controller starts it.

The lock is a JSON file on the first `lb` (else `app`) host of the inventory, created and removed by the
small playbook playbooks/fleet_lock.yml run through ansible-runner. A record names its holder
(user@controller, pid, since, playbook, reason) and carries a random id: only that id removes it.
Breaking a stale lock is removing it by the id just read (so a lock taken meanwhile by someone else
stays), recorded by the caller in the audit log.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from platformctl import playbook_run
from platformctl.extra_vars import ExtraVars

PLAYBOOK = Path(__file__).parent / "playbooks" / "fleet_lock.yml"
TTL_ENV = "PLATFORMCTL_LOCK_TTL_HOURS"
# Longer than any rollout of a large fleet: a lock older than this lost its holder, whoever it was.
DEFAULT_TTL = dt.timedelta(hours=12)
_HELD_FILE = "held-locks.json"

# The playbooks that can disrupt service (by file name): their runs take the lock unless --check.
DISRUPTIVE = frozenset(
    {
        "deploy",
        "site",
        "scale",
        "restart",
        "restore",
        "rollback",
        "rotate_keys",
        "maintenance",
        "sessions_clear",
        "log_level",
        "rotate_logs",
        "prune",
    }
)


class LockError(Exception):
    """The lock host could not be reached or the lock file not written."""


@dataclass(frozen=True)
class LockRecord:
    id: str
    user: str
    controller: str
    pid: int | None  # None for a lock taken by hand (`platformctl lock acquire`): it outlives the command
    since: str  # ISO 8601, UTC
    playbook: str
    reason: str
    inventory: str

    @property
    def holder(self) -> str:
        return f"{self.user}@{self.controller}"

    def stale_because(self, ttl: dt.timedelta, now: dt.datetime | None = None) -> str | None:
        """Why the holder is presumed dead, or None while it may still run."""
        if self.pid is not None and self.controller == socket.gethostname() and not _alive(self.pid):
            return f"its process {self.pid} on this controller is gone"
        age = (now or dt.datetime.now(dt.UTC)) - dt.datetime.fromisoformat(self.since)
        if age > ttl:
            return f"it is older than {ttl.total_seconds() / 3600:g} h"
        return None

    def describe(self) -> str:
        pid = f", pid {self.pid}" if self.pid is not None else ""
        return f"held by {self.holder}{pid} since {self.since} for {self.playbook}: {self.reason}"


@dataclass(frozen=True)
class LockState:
    host: str
    path: str
    record: LockRecord | None


def new_record(*, playbook: str, reason: str, inventory: Path, by_hand: bool) -> LockRecord:
    return LockRecord(
        id=uuid.uuid4().hex,
        user=current_user(),
        controller=socket.gethostname(),
        pid=None if by_hand else os.getpid(),
        since=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        playbook=playbook,
        reason=reason,
        inventory=str(inventory),
    )


def current_user() -> str:
    # Through sudo the operator is the one who typed the command, not root.
    return os.environ.get("SUDO_USER") or getpass.getuser()


def ttl() -> dt.timedelta:
    hours = os.environ.get(TTL_ENV)
    return dt.timedelta(hours=float(hours)) if hours else DEFAULT_TTL


def acquire(inventory: Path, project: Path, record: LockRecord) -> tuple[bool, LockState]:
    """Take the lock with `record`; (False, the holder's state) when someone holds it."""
    outcome = _run(inventory, project, "acquire", record=record)
    state = _state(outcome)
    if outcome.get("created"):
        return True, state
    if state.record is None:
        raise LockError(f"could not create {state.path} on {state.host}: {outcome.get('error', '')}".strip())
    return False, state


def read(inventory: Path, project: Path) -> LockState:
    return _state(_run(inventory, project, "read"))


def release(inventory: Path, project: Path, lock_id: str) -> tuple[bool, LockState]:
    """Remove the lock if `lock_id` holds it; the state before, for the record."""
    outcome = _run(inventory, project, "release", lock_id=lock_id)
    return bool(outcome.get("removed")), _state(outcome)


def _run(
    inventory: Path,
    project: Path,
    action: str,
    *,
    record: LockRecord | None = None,
    lock_id: str = "",
) -> dict[str, Any]:
    variables = ExtraVars(
        values={
            "platformctl_lock_action": action,
            "platformctl_lock_record": asdict(record) if record else {},
            "platformctl_lock_id": lock_id or (record.id if record else ""),
        }
    )
    result = playbook_run.run(
        playbook_run.RunRequest(playbook=PLAYBOOK, inventory=inventory, project=project, extra_vars=variables)
    )
    outcome = result.custom_stats.get("platformctl_lock")
    if result.rc == 0 and not result.stats:
        raise LockError(f"{inventory} has no host in group lb or app to hold the fleet lock")
    if result.rc != 0 or not isinstance(outcome, dict):
        raise LockError(
            f"the lock's run on the first lb (else app) host of {inventory} failed "
            f"({result.status}, rc {result.rc}; 4 is unreachable):\n{result.output_tail.strip()}"
        )
    return outcome


def _state(outcome: dict[str, Any]) -> LockState:
    raw = outcome.get("record") or ""
    data = raw if isinstance(raw, dict) else json.loads(raw) if raw.strip() else None
    fields = LockRecord.__dataclass_fields__
    record = LockRecord(**{k: v for k, v in data.items() if k in fields}) if data else None
    return LockState(host=str(outcome.get("host", "")), path=str(outcome.get("path", "")), record=record)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class HeldLocks:
    """Locks this controller took by hand, per inventory: runs under them go ahead as their holder."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / _HELD_FILE

    def get(self, inventory: Path) -> str | None:
        return self._load().get(str(inventory))

    def put(self, inventory: Path, lock_id: str | None) -> None:
        held = self._load()
        if lock_id is None:
            held.pop(str(inventory), None)
        else:
            held[str(inventory)] = lock_id
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(held, indent=2))
        tmp.replace(self._path)

    def _load(self) -> dict[str, str]:
        if not self._path.is_file():
            return {}
        loaded = json.loads(self._path.read_text())
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
