"""`python -m bench.agent_server_bench --quick` runs end to end against the service and prints its figures.

Only that it measures is asserted, not the targets: on a shared CI machine the figures say more about
the neighbours than about the service. The `langgraph dev` comparison is the full run's only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"([\d.]+)"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_quick_agent_server_bench_prints_figures_and_no_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.agent_server_bench", "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    latency = re.search(
        rf"^langchain-platform: runs\.wait p50 {NUMBER} ms, /invoke p50 {NUMBER} ms .*"
        rf"pick-up p50 {NUMBER} ms by its record, {NUMBER} ms seen by a poll; "
        rf"across processes {NUMBER} ms by its record, {NUMBER} ms seen$",
        out,
        re.MULTILINE,
    )
    assert latency, out
    assert all(float(figure) > 0 for figure in latency.groups()), out
    rates = re.search(
        rf"^langchain-platform: c=\d+, 2 workers: runs/wait {NUMBER} req/s, (\d+) errors, {NUMBER} ms CPU "
        rf"per run; /invoke {NUMBER} req/s, (\d+) errors, {NUMBER} ms CPU per run$",
        out,
        re.MULTILINE,
    )
    assert rates, out
    wait_rps, wait_errors, wait_cpu_ms, invoke_rps, invoke_errors, invoke_cpu_ms = rates.groups()
    assert all(float(figure) > 0 for figure in (wait_rps, wait_cpu_ms, invoke_rps, invoke_cpu_ms)), out
    assert (int(wait_errors), int(invoke_errors)) == (0, 0), out
    assert "langgraph dev: skipped (--quick)" in out
    verdicts = re.findall(r"^  (PASS|MISS) ", out, re.MULTILINE)
    assert len(verdicts) == 4, out
