"""platform_deploy's preflight against this machine (inventories/local, preflight tag only: nothing is
changed): a value the service would refuse stops the play with a message naming the variable and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.playbook_runner import run_playbook

PROJECT = Path(__file__).resolve().parents[2]


def preflight(**extra_vars: object) -> tuple[int, str]:
    result = run_playbook(
        PROJECT / "playbooks" / "deploy.yml",
        PROJECT / "inventories" / "local",
        extra_vars=extra_vars,
        tags=["platform_deploy_preflight"],
        cwd=PROJECT,
        timeout=300,
    )
    return result.rc, " ".join(result.stdout.split())


@pytest.mark.parametrize("workers", ["auto", 4])
def test_worker_counts_the_service_accepts_pass(workers: object) -> None:
    rc, output = preflight(platform_deploy_workers=workers)
    assert rc == 0, output[-2000:]


@pytest.mark.parametrize("workers", ["0", 65, "2.5", "2; rm -rf /", "AUTO"])
def test_a_worker_count_the_service_refuses_stops_the_play(workers: object) -> None:
    rc, output = preflight(platform_deploy_workers=workers)
    assert rc != 0
    assert "platform_deploy_workers is" in output
    assert 'set it to "auto"' in output
