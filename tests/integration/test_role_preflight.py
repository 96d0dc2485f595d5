"""platform_deploy's preflight against this machine (inventories/local, preflight tag only: nothing is
changed): a value the service would refuse, or a port another process holds, stops the play with a message
naming the variable and the fix."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.playbook_runner import run_playbook
from harness.ports import free_port

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


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test process listens on, as another program on the host would."""
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_another_process_holds_stops_the_play_naming_it(held_port: int) -> None:
    rc, output = preflight(platform_deploy_port=held_port)
    assert rc != 0
    assert f"Port {held_port} on localhost" in output, output[-2000:]
    assert re.search(rf"\w+ \(pid {os.getpid()}, user \w+", output), output[-2000:]  # program, pid, user
    assert "set platform_deploy_port" in output


def test_a_free_port_passes() -> None:
    rc, output = preflight(platform_deploy_port=free_port())
    assert rc == 0, output[-2000:]
