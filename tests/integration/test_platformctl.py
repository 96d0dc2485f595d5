"""platformctl end to end: real ansible-runner runs on two loopback hosts (`ansible_connection=local`).

Each test has its own state directory; the module shares one inventory, whose fleet lock file lives in
a temporary directory (`platformctl_lock_path`), so the lock tests leave it free for the next.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from platformctl.fleet_lock import current_user

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO_ROOT / "tests" / "support" / "playbooks"
SECRET = "s3cr3t-Tok3n-9f8e7d6c"
EXIT_LOCKED = 75


class Fleet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "out"
        self.out.mkdir()
        self.lock = root / "lock" / "fleet.lock"
        self.inventory = root / "hosts.yml"
        self.inventory.write_text(
            json.dumps(
                {
                    "all": {
                        "vars": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                            "platformctl_lock_path": str(self.lock),
                            "platformctl_test_dir": str(self.out),
                        },
                        "children": {"app": {"hosts": {"alpha": {}, "beta": {}}}},
                    }
                }
            )
        )

    def command(self, state: Path, *args: str) -> list[str]:
        return [sys.executable, "-m", "platformctl", "--state-dir", str(state), *args]

    def run(self, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(state, *args),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def playbook(self, state: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(state, "run", str(PLAYBOOKS / name), "-i", str(self.inventory), *args)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("platformctl-fleet"))


def audit_lines(state: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]


def test_a_locked_run_shows_progress_and_summary_and_audits_names_only(fleet: Fleet, tmp_path: Path) -> None:
    done = fleet.playbook(tmp_path, "change.yml", "--lock", "-e", f"api_token={SECRET}", "-e", "ticket=OPS-1")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # Plain lines off a terminal: the play, each task with its number, each host's result.
    assert "PLAY [Change a file on each host]" in out
    assert "TASK 1 [Write the marker file]" in out
    assert "  changed: alpha" in out
    assert "  changed: beta" in out
    assert "  skipping: beta" in out
    assert "\x1b[K" not in out
    table = out[out.index("host   ok") :].splitlines()
    assert table[0].split() == ["host", "ok", "changed", "failed", "unreachable", "skipped"]
    assert table[1].split() == ["alpha", "2", "1", "0", "0", "1"]
    assert table[2].split() == ["beta", "2", "1", "0", "0", "1"]
    assert "result: successful, rc 0" in out
    assert not fleet.lock.exists(), "the run released the fleet lock"

    (entry,) = audit_lines(tmp_path)
    assert entry["action"] == "run"
    assert entry["playbook"] == str(PLAYBOOKS / "change.yml")
    assert entry["extra_vars"] == ["api_token", "ticket"]
    assert entry["lock"] == "acquired"
    assert entry["window"] == "not windowed"
    assert entry["window_override"] is None
    assert entry["rc"] == 0
    assert entry["changed_hosts"] == ["alpha", "beta"]
    assert entry["failed_hosts"] == []
    assert len(str(entry["git_revision"])) == 40
    assert Path(str(entry["artifacts"])).parent == tmp_path / "artifacts"
    # The secret: not printed (the careless task's echo is masked), in no file platformctl kept.
    assert SECRET not in out + done.stderr
    assert "token ********" in (Path(str(entry["artifacts"])) / "stdout").read_text()
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) > 5
    assert [path for path in files if SECRET.encode() in path.read_bytes()] == []
    # ansible-runner's record of the run's environment keeps names only.
    command = json.loads((Path(str(entry["artifacts"])) / "command").read_text())
    assert isinstance(command["env"], list)

    shown = fleet.run(tmp_path, "audit", "--last", "1", "--json")
    assert json.loads(shown.stdout) == entry
    table_text = fleet.run(tmp_path, "audit").stdout
    assert "change.yml" in table_text
    assert "alpha,beta" in table_text


def test_a_failing_host_fails_the_run_and_check_runs_rotate_artifacts_unlocked(
    fleet: Fleet, tmp_path: Path
) -> None:
    done = fleet.playbook(
        tmp_path, "fail_one.yml", "--keep-artifacts", "1", "-e", "platform_window_override='hotfix INC-7'"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "FAILED: beta: Fail on the second host only: failing on purpose on beta" in done.stdout
    rows = {
        line.split()[0]: line.split()[1:]
        for line in done.stdout.splitlines()
        if line[:5] in ("alpha", "beta ")
    }
    assert rows["alpha"] == ["1", "0", "0", "0", "1"]
    assert rows["beta"] == ["0", "0", "1", "0", "0"]
    (entry,) = audit_lines(tmp_path)
    assert entry["rc"] == 2
    assert entry["result"] == "failed"
    assert entry["failed_hosts"] == ["beta"]
    assert entry["lock"] == "not needed"
    # The override's reason is the one -e value an audit line holds, by design.
    assert entry["window"] == "override"
    assert entry["window_override"] == "hotfix INC-7"

    # A --check run of a playbook that takes the lock does not; only the newest run's artifacts are kept.
    checked = fleet.playbook(tmp_path, "change.yml", "--lock", "--check", "--keep-artifacts", "1")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    latest = audit_lines(tmp_path)[-1]
    assert latest["check"] is True
    assert latest["lock"] == "not needed"
    assert [path.name for path in (tmp_path / "artifacts").iterdir()] == [latest["id"]]


def test_the_audit_says_what_the_window_guard_decided_on_each_host(fleet: Fleet, tmp_path: Path) -> None:
    """The project's guard (playbooks/tasks/window_guard.yml) at Monday noon, the window on Saturdays."""
    monday_noon = "platform_window_now=2026-01-05T12:00:00+00:00"
    saturdays = {"days": ["Sat"], "start": "02:00", "end": "03:00", "timezone": "UTC"}
    windows = json.dumps({"platform_maintenance_windows": [saturdays]})
    refused = fleet.playbook(tmp_path, "windowed.yml", "--limit", "beta", "-e", monday_noon, "-e", windows)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "The next window opens Sat" in refused.stdout
    previewed = fleet.playbook(tmp_path, "windowed.yml", "--check", "-e", monday_noon, "-e", windows)
    assert previewed.returncode == 0, previewed.stdout + previewed.stderr
    overridden = fleet.playbook(
        tmp_path,
        "windowed.yml",
        "-e",
        monday_noon,
        "-e",
        windows,
        "-e",
        "platform_window_override='INC-9 hotfix'",
    )
    assert overridden.returncode == 0, overridden.stdout + overridden.stderr
    inside = fleet.playbook(
        tmp_path, "windowed.yml", "-e", "platform_window_now=2026-01-10T02:30:00+00:00", "-e", windows
    )
    assert inside.returncode == 0, inside.stdout + inside.stderr

    entries = audit_lines(tmp_path)
    assert [entry["window_outcome"] for entry in entries] == [
        {"refused": ["beta"]},
        {"would_refuse": ["alpha", "beta"]},
        {"out_of_window": ["alpha", "beta"]},
        {},
    ]
    assert (entries[2]["window"], entries[2]["window_override"]) == ("override", "INC-9 hotfix")
    # The hosts' own record of the override (the guard writes it), next to the controller's audit.
    records = [json.loads(line) for line in (fleet.out / "alpha-operations.log").read_text().splitlines()]
    assert [(r["event"], r["reason"]) for r in records] == [("override", "INC-9 hotfix")]


def test_a_second_disruptive_run_is_refused_and_a_stopped_holder_releases(
    fleet: Fleet, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    first = subprocess.Popen(
        fleet.command(
            tmp_path, "run", str(PLAYBOOKS / "wait_for_file.yml"), "-i", str(fleet.inventory), "--lock",
            "--reason", "holding for the test", "-e", f"platformctl_test_release={release}",
        ),
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not fleet.lock.exists():
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.2)
        second = fleet.playbook(tmp_path, "change.yml", "--lock")
        assert second.returncode == EXIT_LOCKED, second.stdout + second.stderr
        holder = f"{current_user()}@{socket.gethostname()}"
        assert "refused" in second.stderr
        assert holder in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "since 20" in second.stderr
        assert "for wait_for_file: holding for the test" in second.stderr
        assert "stale" not in second.stderr
    finally:
        # SIGTERM (what systemd sends a unit it stops) cancels the holder's playbook; it releases the lock.
        first.terminate()
        output = first.communicate(timeout=120)[0]
    assert first.returncode != 0, output
    assert not fleet.lock.exists(), output
    refused, ran = audit_lines(tmp_path)
    assert refused["result"] == "refused"
    assert refused["rc"] == EXIT_LOCKED
    assert isinstance(refused["lock"], dict)
    assert refused["lock"]["reason"] == "holding for the test"
    assert ran["lock"] == "acquired"
    assert ran["result"] in ("canceled", "interrupted")  # in the playbook, or still taking the lock


def test_a_stale_lock_is_reported_and_broken_with_a_recorded_reason(fleet: Fleet, tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = {
        "id": "0" * 32,
        "user": "alice",
        "controller": socket.gethostname(),
        "pid": gone.pid,
        "since": "2026-11-30T22:00:00+00:00",
        "playbook": "deploy",
        "reason": "release 0.1.1",
        "inventory": str(fleet.inventory),
    }
    fleet.lock.parent.mkdir(exist_ok=True)
    fleet.lock.write_text(json.dumps(stale))
    try:
        status = fleet.run(tmp_path, "lock", "status", "-i", str(fleet.inventory))
        assert status.returncode == 0, status.stderr
        assert (
            f"held by alice@{socket.gethostname()}, pid {gone.pid} since 2026-11-30T22:00:00+00:00"
            in status.stdout
        )
        assert f"stale: its process {gone.pid} on this controller is gone" in status.stdout

        no_reason = fleet.run(tmp_path, "lock", "release", "-i", str(fleet.inventory), "--break")
        assert no_reason.returncode == 2
        assert fleet.lock.exists()
        broken = fleet.run(
            tmp_path,
            "lock",
            "release",
            "-i",
            str(fleet.inventory),
            "--break",
            "--reason",
            "alice's laptop died",
        )
        assert broken.returncode == 0, broken.stdout + broken.stderr
        assert not fleet.lock.exists()
    finally:
        fleet.lock.unlink(missing_ok=True)
    entry = audit_lines(tmp_path)[-1]
    assert entry["action"] == "lock-break"
    assert entry["reason"] == "alice's laptop died"
    assert entry["stale"] == f"its process {gone.pid} on this controller is gone"
    assert entry["lock"] == stale


def test_a_lock_taken_by_hand_covers_the_holders_runs_until_released(fleet: Fleet, tmp_path: Path) -> None:
    inventory = str(fleet.inventory)
    taken = fleet.run(tmp_path, "lock", "acquire", "-i", inventory, "--reason", "maintenance evening")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    try:
        assert json.loads(fleet.lock.read_text())["pid"] is None
        # Runs of the holder (this state directory) go ahead under it; others are refused (test above).
        mine = fleet.playbook(tmp_path, "change.yml", "--lock")
        assert mine.returncode == 0, mine.stdout + mine.stderr
        assert fleet.lock.exists(), "a run under a lock taken by hand leaves it held"
    finally:
        released = fleet.run(tmp_path, "lock", "release", "-i", inventory)
    assert released.returncode == 0, released.stdout + released.stderr
    assert not fleet.lock.exists()
    assert [e["action"] for e in audit_lines(tmp_path)] == ["lock-acquire", "run", "lock-release"]
    assert audit_lines(tmp_path)[1]["lock"] == "held by hand"


def test_schedule_writes_units_systemd_accepts_and_removes_them(fleet: Fleet, tmp_path: Path) -> None:
    analyze = "/usr/bin/systemd-analyze"
    if not Path(analyze).exists():
        pytest.skip("systemd-analyze is not installed")
    units = tmp_path / "units"
    installed = fleet.run(
        tmp_path, "schedule", "install", "-i", str(fleet.inventory), "--unit-dir", str(units)
    )
    assert installed.returncode == 0, installed.stderr
    names = sorted(path.name for path in units.iterdir())
    assert names == sorted(
        f"platformctl-{routine}.{kind}"
        for routine in ("report", "resource-review", "prune")
        for kind in ("service", "timer")
    )
    verified = subprocess.run(
        [analyze, "verify", *(str(units / name) for name in names)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == "", "no warnings either"
    report = (units / "platformctl-report.service").read_text()
    assert f"-m platformctl --state-dir {tmp_path} run report -i {fleet.inventory}" in report
    assert "run prune" in (units / "platformctl-prune.service").read_text()
    assert "enable --now platformctl-report.timer" in installed.stdout

    removed = fleet.run(tmp_path, "schedule", "remove", "--unit-dir", str(units))
    assert removed.returncode == 0, removed.stderr
    assert list(units.iterdir()) == []
