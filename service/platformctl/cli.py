"""platformctl: the fleet's playbooks run (with progress, lock and audit), the lock, the audit, schedules."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from platformctl import audit, extra_vars, fleet_lock, locations, playbook_run, schedule
from platformctl.progress import Progress, summary
from platformctl.window_outcome import WindowOutcome

# EX_TEMPFAIL: the fleet is busy, try again later (a timer's run simply fails and is audited).
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130
EXIT_USAGE = 2
DEFAULT_KEEP_ARTIFACTS = 50


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.vault_password_file:
        # Through the environment, so the lock's runs read a vault-encrypted inventory too.
        os.environ["ANSIBLE_VAULT_PASSWORD_FILE"] = str(Path(args.vault_password_file).expanduser().resolve())
    try:
        code: int = args.handler(args)
    except (locations.NotFoundError, ValueError, OSError) as error:
        print(f"platformctl: {error}", file=sys.stderr)
        return EXIT_USAGE
    except fleet_lock.LockError as error:
        print(f"platformctl: fleet lock: {error}", file=sys.stderr)
        return 1
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platformctl", description=__doc__)
    parser.add_argument(
        "--state-dir",
        help=f"audit log and artifacts (default ${locations.STATE_DIR_ENV} "
        "or ~/.local/state/langchain-platform)",
    )
    parser.add_argument(
        "--project", help="the directory with playbooks/ (default: found from the working directory)"
    )
    parser.add_argument(
        "--vault-password-file",
        help="for vault-encrypted inventories and -e @files (or $ANSIBLE_VAULT_PASSWORD_FILE; no prompt)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a playbook (locked when disruptive, always audited)")
    run.add_argument("playbook", help="a name from playbooks/ (deploy, deploy.yml) or a path")
    _run_options(run)
    # The routine checks have a name of their own: `platformctl report` is `platformctl run report`.
    report = commands.add_parser("report", help="run playbooks/report.yml (the routine checks)")
    _run_options(report)
    report.set_defaults(playbook="report")

    lock = commands.add_parser("lock", help="the fleet lock: status, acquire, release")
    lock_commands = lock.add_subparsers(required=True, metavar="ACTION")
    status = lock_commands.add_parser("status", help="who holds the lock, since when, why, and whether stale")
    _inventory(status)
    status.set_defaults(handler=_lock_status)
    acquire = lock_commands.add_parser("acquire", help="hold the lock across several commands")
    _inventory(acquire)
    acquire.add_argument("--reason", required=True)
    acquire.set_defaults(handler=_lock_acquire)
    release = lock_commands.add_parser("release", help="release the lock taken here, or --break another's")
    _inventory(release)
    release.add_argument(
        "--break", dest="breaking", action="store_true", help="remove a stale lock of someone else"
    )
    release.add_argument(
        "--force",
        dest="force_live",
        action="store_true",
        help="with --break: also a lock whose holder looks alive",
    )
    release.add_argument("--reason", help="why (required with --break; recorded)")
    release.set_defaults(handler=_lock_release)

    log = commands.add_parser("audit", help="the newest audit lines")
    log.add_argument("--last", type=int, default=20, metavar="N")
    log.add_argument("--json", action="store_true", help="the JSON lines as recorded")
    log.set_defaults(handler=_audit)

    timers = commands.add_parser("schedule", help="systemd timers for the routine runs")
    timers.add_argument("action", choices=("install", "remove"))
    timers.add_argument("-i", "--inventory", help="required for install")
    timers.add_argument("--unit-dir", help="where the units go (default: the system or user unit directory)")
    timers.set_defaults(handler=_schedule)
    return parser


def _run_options(run: argparse.ArgumentParser) -> None:
    _inventory(run)
    run.add_argument("--limit", "-l")
    run.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="K=V|@FILE",
        help="as ansible-playbook's; values are never printed or recorded",
    )
    run.add_argument("--tags", "-t")
    run.add_argument("--skip-tags")
    run.add_argument("--check", "-C", action="store_true", help="preview only (never locked)")
    run.add_argument(
        "--lock", action="store_true", help="take the fleet lock for a playbook not known as disruptive"
    )
    run.add_argument("--reason", help="why, for the lock record")
    run.add_argument(
        "--keep-artifacts",
        type=int,
        default=DEFAULT_KEEP_ARTIFACTS,
        metavar="N",
        help=f"keep the artifacts of the newest N runs (default {DEFAULT_KEEP_ARTIFACTS})",
    )
    run.set_defaults(handler=_run)


def _inventory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", required=True)


def _run(args: argparse.Namespace) -> int:
    project = locations.project_dir(args.project)
    state_dir = locations.state_dir(args.state_dir)
    request = playbook_run.RunRequest(
        playbook=locations.playbook_path(args.playbook, project),
        inventory=locations.inventory_path(args.inventory),
        project=project,
        extra_vars=extra_vars.parse(args.extra_vars),
        limit=args.limit,
        tags=args.tags,
        skip_tags=args.skip_tags,
        check=args.check,
    )
    entry = _entry("run", request.inventory)
    entry.update(
        playbook=str(request.playbook),
        limit=request.limit,
        tags=request.tags,
        skip_tags=request.skip_tags,
        check=request.check,
        extra_vars=request.extra_vars.names,
        window=_window(request),
        window_override=request.extra_vars.values.get(extra_vars.WINDOW_OVERRIDE),
        git_revision=locations.git_revision(project),
    )
    locked = (request.playbook.stem in fleet_lock.DISRUPTIVE or args.lock) and not request.check
    own_lock: fleet_lock.LockRecord | None = None
    # Ctrl-C and SIGTERM (systemd stopping a unit) cancel the playbook, never the lock's own short runs,
    # so the lock is always released by whoever took it.
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    if locked:
        record = fleet_lock.new_record(
            playbook=request.playbook.stem,
            reason=args.reason or f"platformctl run {request.playbook.stem}",
            inventory=request.inventory,
            by_hand=False,
        )
        try:
            acquired, state = fleet_lock.acquire(request.inventory, project, record)
        except fleet_lock.LockError:
            entry.update(result="lock unavailable", rc=1)
            audit.append(state_dir, entry)
            raise
        held_here = fleet_lock.HeldLocks(state_dir).get(request.inventory)
        if acquired:
            own_lock = record
            entry["lock"] = "acquired"
        elif state.record is not None and state.record.id == held_here:
            entry["lock"] = "held by hand"
        else:
            _refuse(state)
            entry.update(result="refused", rc=EXIT_LOCKED, lock=_lock_view(state))
            audit.append(state_dir, entry)
            return EXIT_LOCKED
    else:
        entry["lock"] = "not needed"
    if stop.is_set():
        if own_lock is not None:
            fleet_lock.release(request.inventory, project, own_lock.id)
        entry.update(result="interrupted", rc=EXIT_INTERRUPTED)
        audit.append(state_dir, entry)
        return EXIT_INTERRUPTED
    progress = Progress(mask=request.extra_vars.mask)
    window = WindowOutcome()

    def on_event(event: playbook_run.Event) -> None:
        progress(event)
        window(event)

    try:
        result = playbook_run.run(
            request,
            on_event=on_event,
            artifacts=playbook_run.Artifacts(
                state_dir / "artifacts", entry["id"], max(args.keep_artifacts, 1)
            ),
            cancel=stop.is_set,
        )
    finally:
        if own_lock is not None:
            fleet_lock.release(request.inventory, project, own_lock.id)
    print(summary(result))
    print(f"artifacts: {result.artifacts}")
    rc = result.rc if result.rc != 0 or result.status == playbook_run.SUCCESSFUL else 1
    entry.update(
        result=result.status,
        rc=rc,
        changed_hosts=result.changed_hosts,
        failed_hosts=result.failed_hosts,
        window_outcome=window.summary(),
        seconds=round(result.seconds, 3),
        artifacts=str(result.artifacts),
    )
    audit.append(state_dir, entry)
    return rc


def _lock_status(args: argparse.Namespace) -> int:
    project = locations.project_dir(args.project)
    state = fleet_lock.read(locations.inventory_path(args.inventory), project)
    where = f"{state.host}:{state.path}"
    if state.record is None:
        print(f"fleet lock {where}: free")
        return 0
    print(f"fleet lock {where}: {state.record.describe()}")
    stale = state.record.stale_because(fleet_lock.ttl())
    if stale:
        print(
            f"stale: {stale}; break it with: "
            f"platformctl lock release -i {args.inventory} --break --reason ..."
        )
    return 0


def _lock_acquire(args: argparse.Namespace) -> int:
    project = locations.project_dir(args.project)
    state_dir = locations.state_dir(args.state_dir)
    inventory = locations.inventory_path(args.inventory)
    record = fleet_lock.new_record(
        playbook="(by hand)", reason=args.reason, inventory=inventory, by_hand=True
    )
    acquired, state = fleet_lock.acquire(inventory, project, record)
    entry = _entry("lock-acquire", inventory)
    entry["reason"] = args.reason
    if not acquired:
        _refuse(state)
        entry.update(result="refused", rc=EXIT_LOCKED, lock=_lock_view(state))
        audit.append(state_dir, entry)
        return EXIT_LOCKED
    fleet_lock.HeldLocks(state_dir).put(inventory, record.id)
    entry.update(result="acquired", rc=0)
    audit.append(state_dir, entry)
    print(f"fleet lock {state.host}:{state.path}: {record.describe()}")
    return 0


def _lock_release(args: argparse.Namespace) -> int:
    project = locations.project_dir(args.project)
    state_dir = locations.state_dir(args.state_dir)
    inventory = locations.inventory_path(args.inventory)
    held = fleet_lock.HeldLocks(state_dir)
    entry = _entry("lock-break" if args.breaking else "lock-release", inventory)
    if args.breaking:
        if not args.reason:
            print("platformctl: --break needs --reason (it is recorded)", file=sys.stderr)
            return EXIT_USAGE
        state = fleet_lock.read(inventory, project)
        if state.record is None:
            print(f"fleet lock {state.host}:{state.path}: free, nothing to break")
            return 0
        stale = state.record.stale_because(fleet_lock.ttl())
        if stale is None and not args.force_live:
            print(
                f"platformctl: the fleet lock is {state.record.describe()}, and its holder may be alive; "
                "add --force to break it anyway",
                file=sys.stderr,
            )
            return EXIT_LOCKED
        removed, state = fleet_lock.release(inventory, project, state.record.id)
        entry.update(reason=args.reason, stale=stale)
    else:
        lock_id = held.get(inventory)
        if lock_id is None:
            print(
                f"platformctl: this controller holds no lock on {inventory} "
                "(another's stale lock: --break --reason ...)",
                file=sys.stderr,
            )
            return 1
        removed, state = fleet_lock.release(inventory, project, lock_id)
    # Whether released now or broken by someone before, a lock of ours is no longer held.
    if not args.breaking or (state.record is not None and state.record.id == held.get(inventory)):
        held.put(inventory, None)
    entry.update(result="released" if removed else "not held", rc=0 if removed else 1, lock=_lock_view(state))
    audit.append(state_dir, entry)
    print(f"fleet lock {state.host}:{state.path}: {'released' if removed else 'not held by this controller'}")
    return 0 if removed else 1


def _audit(args: argparse.Namespace) -> int:
    lines = audit.last(locations.state_dir(args.state_dir), args.last)
    if args.json:
        for line in lines:
            print(json.dumps(line, sort_keys=True))
    else:
        print(audit.table(lines))
    return 0


def _schedule(args: argparse.Namespace) -> int:
    default_dir = schedule.default_unit_dir()
    unit_dir = Path(args.unit_dir).expanduser().resolve() if args.unit_dir else default_dir
    # Units written elsewhere are the operator's to place (or to verify): the manager is left alone then.
    act = schedule.apply if unit_dir == default_dir else lambda *step: shlex.join(schedule.systemctl(*step))
    pending: list[str | None] = []
    if args.action == "install":
        if not args.inventory:
            print("platformctl: schedule install needs -i INVENTORY", file=sys.stderr)
            return EXIT_USAGE
        written = schedule.install(
            unit_dir,
            locations.inventory_path(args.inventory),
            locations.project_dir(args.project),
            locations.state_dir(args.state_dir),
        )
        pending += [act("daemon-reload"), act("enable", "--now", *schedule.timers())]
    else:
        pending.append(act("disable", "--now", *schedule.timers()))
        written = schedule.remove(unit_dir)
        pending.append(act("daemon-reload"))
    for path in written:
        print(f"{args.action}: {path}")
    commands = [command for command in pending if command]
    if commands:
        print(f"systemd does not manage {unit_dir} here; with the units in {default_dir}, run:")
        print("  " + "\n  ".join(commands))
    return 0


def _entry(action: str, inventory: Path) -> dict[str, Any]:
    return {
        "id": f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        "action": action,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "who": fleet_lock.current_user(),
        "controller": socket.gethostname(),
        "inventory": str(inventory),
    }


def _window(request: playbook_run.RunRequest) -> str:
    """What the run asked of the maintenance window; the playbooks' guard decides (the entry's
    window_outcome) and records on the hosts."""
    if extra_vars.WINDOW_OVERRIDE in request.extra_vars.values:
        return "override"
    if request.playbook.stem == "rollback":
        return "emergency: always allowed"
    return "guarded" if request.playbook.stem in fleet_lock.DISRUPTIVE else "not windowed"


def _refuse(state: fleet_lock.LockState) -> None:
    assert state.record is not None
    print(
        f"platformctl: refused: the fleet lock ({state.host}:{state.path}) is {state.record.describe()}",
        file=sys.stderr,
    )
    stale = state.record.stale_because(fleet_lock.ttl())
    if stale:
        print(
            f"platformctl: the lock looks stale ({stale}); break it with "
            f"platformctl lock release -i INVENTORY --break --reason ...",
            file=sys.stderr,
        )


def _lock_view(state: fleet_lock.LockState) -> dict[str, Any] | None:
    return asdict(state.record) if state.record else None
