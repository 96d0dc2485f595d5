"""The maintenance window guard (playbooks/tasks/window_guard.yml and its filter plugin), run by real
ansible-playbook against local-connection hosts. Each host carries its own windows, clock (the guard's
test hook platform_window_now) and record file, so one run covers every case; --tags names only the
disruptive task, so a guard that --tags could skip would let every host through."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.playbook_runner import PlaybookResult, run_playbook

PROJECT = Path(__file__).resolve().parents[2]
FILTERS = PROJECT / "plugins" / "filter"
BERLIN_SAT = {"days": ["Sat"], "start": "02:00", "end": "04:00", "timezone": "Europe/Berlin"}
TUESDAY = "2026-12-01T03:00:00+00:00"  # Tue 04:00 in Berlin: outside BERLIN_SAT
BERLIN_SUN = {"days": ["Sun"], "start": "01:00", "end": "04:00", "timezone": "Europe/Berlin"}
NEW_YORK_SUN = {"days": ["Sun"], "start": "01:00", "end": "03:00", "timezone": "America/New_York"}
TOKYO_FRI = {"days": ["Fri"], "start": "23:00", "end": "01:00", "timezone": "Asia/Tokyo"}

PLAYBOOK = f"""
- name: Disruptive test play
  hosts: all
  gather_facts: false
  pre_tasks:
    - name: Refuse to run outside the maintenance window
      ansible.builtin.import_tasks: {PROJECT}/playbooks/tasks/window_guard.yml
      tags: [always]
  tasks:
    - name: Disrupt the service
      ansible.builtin.debug:
        msg: "disrupted {{{{ inventory_hostname }}}}"
      tags: [platform_deploy]
"""


def _load_filter() -> Callable[..., dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("platform_window", FILTERS / "platform_window.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state: Callable[..., dict[str, Any]] = module.platform_window_state
    return state


window_state = _load_filter()


@pytest.mark.parametrize(
    ("windows", "now", "is_open"),
    [
        # Spring forward in Berlin (02:00 CET -> 03:00 CEST): 01:00-04:00 local is 00:00-02:00 UTC that day.
        ([BERLIN_SUN], "2026-03-29T01:59:00Z", True),
        ([BERLIN_SUN], "2026-03-29T02:00:00Z", False),
        # Fall back in New York (the hour 01:00-02:00 twice): 01:00 EDT to 03:00 EST is 05:00-08:00 UTC.
        ([NEW_YORK_SUN], "2026-11-01T07:59:00Z", True),
        ([NEW_YORK_SUN], "2026-11-01T08:00:00Z", False),
        # Past midnight: Friday 23:00 to Saturday 01:00 in Tokyo.
        ([TOKYO_FRI], "2026-12-04T15:30:00Z", True),
        ([TOKYO_FRI], "2026-12-04T16:00:00Z", False),
        # Whole days, and no windows at all.
        ([{"days": ["Tue"], "start": "00:00", "end": "24:00"}], TUESDAY, True),
        ([], TUESDAY, True),
    ],
)
def test_a_window_is_open_in_its_own_zone(windows: list[dict[str, Any]], now: str, is_open: bool) -> None:
    assert window_state(windows, "", now)["open"] is is_open


def test_the_next_opening_is_the_nearest_of_several_windows_in_their_zones() -> None:
    state = window_state([BERLIN_SAT, TOKYO_FRI], "", TUESDAY)
    assert state["next"] == "Fri 2026-12-04 23:00 JST (Asia/Tokyo) (window Fri 23:00-01:00 Asia/Tokyo)"
    assert (
        state["now_text"] == "Tue 2026-12-01 04:00 CET (Europe/Berlin); Tue 2026-12-01 12:00 JST (Asia/Tokyo)"
    )


def test_the_legacy_string_is_one_utc_window_next_to_the_list() -> None:
    state = window_state([BERLIN_SAT], "Tue 02:30-03:30", TUESDAY)
    assert state["open"]
    assert state["windows"] == ["Sat 02:00-04:00 Europe/Berlin", "Tue 02:30-03:30 UTC"]


@pytest.mark.parametrize(
    ("windows", "legacy", "words"),
    [
        ([{**BERLIN_SAT, "timezone": "Mars/Olympus"}], "", "IANA time zone"),
        ([{"days": ["Saturday"], "start": "02:00", "end": "04:00"}], "", "not among"),
        ([{"days": ["Sat"], "start": "2am", "end": "04:00"}], "", "HH:MM"),
        ([], "Saturday 02:00-04:00", "a weekday (Mon..Sun)"),
    ],
)
def test_a_malformed_window_is_named(windows: list[dict[str, Any]], legacy: str, words: str) -> None:
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=words.replace("(", r"\(").replace(")", r"\)")):
        window_state(windows, legacy, TUESDAY)


HOSTS: dict[str, dict[str, Any]] = {
    "inside": {"platform_window_now": "2026-12-05T01:30:00+00:00"},
    "outside": {},
    "new_host": {"platform_window_in_service_paths": ["/nonexistent/never-set-up"]},
    "override": {"platform_window_override": "disk full on /var"},
    "legacy": {
        "platform_maintenance_windows": [],
        "platform_maintenance_window": "Sat 02:00-04:00",
        "platform_maintenance_window_override": True,
    },
    "emergency": {"platform_window_emergency": True},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("window-guard")
    (directory / "play.yml").write_text(PLAYBOOK)
    marker = directory / "in-service"
    marker.touch()
    common = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "platform_maintenance_windows": [BERLIN_SAT],
        "platform_window_now": TUESDAY,
        "platform_window_in_service_paths": [str(marker)],
    }
    hosts = {
        name: {**common, "platform_window_record_path": str(directory / f"{name}.log"), **own}
        for name, own in HOSTS.items()
    }
    (directory / "hosts.json").write_text(json.dumps({"all": {"hosts": hosts}}))
    return directory


def _run(workdir: Path, *, check: bool) -> PlaybookResult:
    return run_playbook(
        workdir / "play.yml",
        workdir / "hosts.json",
        tags=["platform_deploy"],
        check=check,
        env={"ANSIBLE_FILTER_PLUGINS": str(FILTERS)},
        cwd=PROJECT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def run(workdir: Path) -> tuple[PlaybookResult, str]:
    result = _run(workdir, check=False)
    return result, " ".join(result.stdout.split())


def test_outside_the_window_the_play_stops_naming_the_next_window(run: tuple[PlaybookResult, str]) -> None:
    result, words = run
    assert result.rc != 0
    assert result.stats["outside"].failed == 1
    assert "disrupted outside" not in words
    assert (
        "It is Tue 2026-12-01 04:00 CET (Europe/Berlin), outside the maintenance windows of outside" in words
    )
    assert "The next window opens Sat 2026-12-05 02:00 CET (Europe/Berlin)" in words
    assert '-e platform_window_override="<reason>"' in words


def test_inside_the_window_and_on_a_new_host_the_play_runs_unrecorded(
    run: tuple[PlaybookResult, str], workdir: Path
) -> None:
    result, words = run
    for host in ("inside", "new_host"):
        assert result.stats[host].failed == 0
        assert f"disrupted {host}" in words
        assert not (workdir / f"{host}.log").exists()
    assert not (workdir / "outside.log").exists()


@pytest.mark.parametrize(
    ("host", "event", "reason"),
    [
        ("override", "override", "disk full on /var"),
        ("legacy", "override", "no reason given (platform_maintenance_window_override=true)"),
        ("emergency", "emergency", "emergency rollback"),
    ],
)
def test_an_out_of_window_run_is_recorded_on_the_host_and_in_the_output(
    run: tuple[PlaybookResult, str], workdir: Path, host: str, event: str, reason: str
) -> None:
    result, words = run
    assert result.stats[host].failed == 0
    assert f"disrupted {host}" in words
    (line,) = (workdir / f"{host}.log").read_text().splitlines()
    record = json.loads(line)
    assert record["event"] == event
    assert record["reason"] == reason
    assert record["window"] == "out-of-window"
    assert record["time"] == TUESDAY
    assert record["play"] == "Disruptive test play"
    assert record["user"]
    assert f'running anyway: {event}, "{reason}"' in words


def test_check_mode_previews_outside_the_window(workdir: Path) -> None:
    result = _run(workdir, check=True)
    words = " ".join(result.stdout.split())
    assert result.rc == 0, words[-3000:]
    assert (
        "Check mode: it is Tue 2026-12-01 04:00 CET (Europe/Berlin), outside the maintenance windows" in words
    )
    assert "disrupted outside" in words


DISRUPTIVE = ["deploy", "site", "scale", "restart", "restore", "rollback", "maintenance", "rotate_logs"]
READ_ONLY_PLAYS = {"Choose the release to roll back to"}


def test_no_tag_choice_skips_the_guard_of_a_disruptive_play() -> None:
    listing = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "--list-tasks",
            "--tags",
            "platform_deploy",
            "--skip-tags",
            "platform_deploy_preflight,docker_engine,load_balancer,postgres_state",
            "-i",
            str(PROJECT / "inventories" / "example"),
            *(str(PROJECT / "playbooks" / f"{name}.yml") for name in DISRUPTIVE),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=True,
    ).stdout
    plays = listing.split("  play #")[1:]
    assert len(plays) >= len(DISRUPTIVE)
    unguarded = [
        play.splitlines()[0]
        for play in plays
        if "Refuse to run outside the maintenance window" not in play
        and play.split(": ", 1)[1].split("\t")[0] not in READ_ONLY_PLAYS
    ]
    assert unguarded == []
