"""`python -m bench.service_bench --quick` runs end to end and prints figures without errors.

Only that it measures is asserted, not the targets: on a shared CI machine the figures say more
about the neighbours than about the service.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# system, stub ms, endpoint, concurrency, req/s, p50, p95, p99, errors, rss MB, cpu ms/req, ratio
ROW = re.compile(
    r"^(reference|service-\dw)\s+(\d+)\s+(\w+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"
    r"\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)",
    re.MULTILINE,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_quick_bench_prints_figures_and_no_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.service_bench", "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = ROW.findall(done.stdout)
    systems = {(row[0], row[2]) for row in rows}
    assert systems == {
        ("reference", "constant"),
        ("reference", "agent"),
        ("reference", "nostate"),
        ("service-1w", "health"),
        ("service-1w", "agent"),
        ("service-1w", "openai"),
    }, done.stdout
    for row in rows:
        assert float(row[4]) > 0, f"no requests completed: {row}"
        assert int(row[8]) == 0, f"errors in {row}:\n{done.stdout}"
        assert float(row[9]) > 0, f"no RSS read: {row}"
        assert float(row[10]) > 0, f"no server CPU read: {row}"
    assert re.search(r"cold start to /health/ready \(s\): \[[\d.]+\]", done.stdout), done.stdout
    assert re.search(r"RSS over the run .*start \([\d.]+, [\d.]+\)", done.stdout), done.stdout
    verdicts = re.findall(r"^  (PASS|MISS|N/A ) ", done.stdout, re.MULTILINE)
    assert len(verdicts) >= 5, done.stdout
