"""harness.playbook_runner: real ansible-runner runs of a small playbook on two local hosts."""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from platformctl.recap import HostStats

from harness.playbook_runner import (
    FAILED,
    SUCCESSFUL,
    TIMEOUT,
    Event,
    PlaybookResult,
    processes_with_env,
    run_playbook,
)

pytestmark = pytest.mark.slow

# A changed task (a file per host), an ok task (tagged), and a task that fails when asked to.
PLAYBOOK = """\
- name: Runner test play
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the marker file
      ansible.builtin.copy:
        content: "{{ marker }}\\n"
        dest: "{{ out_dir }}/{{ inventory_hostname }}"
        mode: "0600"
    - name: Say hello
      ansible.builtin.debug:
        msg: "hello {{ marker }} {{ lookup('ansible.builtin.env', 'RUNNER_TEST_GREETING') }}"
      tags: [hello]
    - name: Fail when asked
      ansible.builtin.fail:
        msg: failing on purpose
      when: fail_now | default(false) | bool
"""

SLOW_PLAYBOOK = """\
- name: Slow play
  hosts: alpha
  gather_facts: false
  tasks:
    - name: Wait far longer than the test allows
      ansible.builtin.pause:
        seconds: 60
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "slow.yml").write_text(SLOW_PLAYBOOK)
    (tmp_path / "hosts.ini").write_text(
        "[local]\nalpha\nbeta\n\n[local:vars]\n"
        f"ansible_connection=local\nansible_python_interpreter={sys.executable}\n"
    )
    (tmp_path / "out").mkdir()
    return tmp_path


def play(project: Path, extra: Mapping[str, Any] | None = None, **options: Any) -> PlaybookResult:
    """play.yml on both hosts, run from the project directory, writing into out/."""
    extra_vars = {"marker": "m1", "out_dir": str(project / "out"), **(extra or {})}
    return run_playbook(
        project / "play.yml", project / "hosts.ini", extra_vars=extra_vars, cwd=project, **options
    )


def test_a_changed_and_an_ok_task_then_an_idempotent_rerun(project: Path) -> None:
    events: list[Event] = []
    first = play(project, env={"RUNNER_TEST_GREETING": "from-env"}, on_event=events.append)
    assert (first.rc, first.status, first.succeeded) == (0, SUCCESSFUL, True)
    expected = HostStats(ok=2, changed=1, skipped=1)
    assert first.stats == {"alpha": expected, "beta": expected}
    assert first.changed_hosts == {"alpha": 1, "beta": 1}
    assert (project / "out" / "alpha").read_text() == "m1\n"
    assert "hello m1 from-env" in first.stdout
    assert "\x1b[" not in first.stdout, "output must be plain text"
    assert first.artifacts_dir is None

    # Progress arrives event by event, from the start of the playbook to its recap.
    names = [event["event"] for event in events]
    assert names[0] == "playbook_on_start"
    assert names[-1] == "playbook_on_stats"
    assert {"playbook_on_play_start", "playbook_on_task_start", "runner_on_skipped"} <= set(names)
    ok_tasks = sorted(
        (e["event_data"]["host"], e["event_data"]["task"]) for e in events if e["event"] == "runner_on_ok"
    )
    assert ok_tasks == [
        ("alpha", "Say hello"),
        ("alpha", "Write the marker file"),
        ("beta", "Say hello"),
        ("beta", "Write the marker file"),
    ]

    again = play(project)
    assert again.succeeded
    assert again.stats["alpha"] == HostStats(ok=2, changed=0, skipped=1)
    assert again.changed_hosts == {}


def test_a_failing_task_fails_the_run_with_its_message(project: Path) -> None:
    result = play(project, {"fail_now": True})
    assert (result.rc, result.status, result.succeeded) == (2, FAILED, False)
    failed = HostStats(ok=2, changed=1, failed=1)
    assert result.stats == {"alpha": failed, "beta": failed}
    assert "failing on purpose" in result.stdout


def test_check_mode_reports_the_change_without_making_it(project: Path) -> None:
    result = play(project, check=True)
    assert result.succeeded
    assert result.stats["alpha"] == HostStats(ok=2, changed=1, skipped=1)
    assert list((project / "out").iterdir()) == []


def test_limit_and_tags_narrow_the_run(project: Path) -> None:
    result = play(project, limit="beta", tags=["hello"])
    assert result.succeeded
    assert result.stats == {"beta": HostStats(ok=1)}
    assert list((project / "out").iterdir()) == []


def test_a_run_over_its_timeout_is_stopped(project: Path) -> None:
    mark = uuid.uuid4().hex
    result = run_playbook(
        project / "slow.yml", project / "hosts.ini", timeout=3, cwd=project, env={"RUNNER_TEST_MARK": mark}
    )
    assert result.status == TIMEOUT
    assert result.rc != 0
    assert not result.succeeded
    assert result.seconds < 30
    # Ansible's workers leave ansible-playbook's process group (setsid): none of them may run on.
    assert processes_with_env("RUNNER_TEST_MARK", mark) == []


def test_artifacts_are_removed_unless_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = project / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    play(project, tags=["hello"])
    assert list(scratch.iterdir()) == []

    kept = play(project, tags=["hello"], keep_artifacts=True)
    assert kept.artifacts_dir is not None
    assert kept.artifacts_dir.is_relative_to(scratch)
    assert (kept.artifacts_dir / "stdout").read_text() == kept.stdout
    assert any((kept.artifacts_dir / "job_events").iterdir())
