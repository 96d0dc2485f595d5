"""`langchain-platform serve` without --workers: one uvicorn worker per CPU it may use, or WORKERS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from langchain_platform.worker_count import usable_cpus

from harness.http_checks import wait_until
from harness.platform_server import CLI
from harness.processes import ChildProcess
from harness.procstats import process_tree
from harness.stub_openai import StubOpenAI
from tests.conftest import service_env

SERVE = [str(CLI), "serve", "--host", "127.0.0.1", "--port", "{port}"]


def started_workers(log: Path) -> set[int]:
    """Pids of the processes that logged "service started" (each worker does, once its app is up)."""
    pids = set()
    for line in log.read_text(errors="replace").splitlines():
        if '"service started"' in line:
            pids.add(int(json.loads(line)["pid"]))
    return pids


def serve_and_count(
    tmp_path: Path, stub_llm: StubOpenAI, expected: int, prefix: list[str], **env: str
) -> None:
    log = tmp_path / "serve.log"
    config = service_env(tmp_path / "data", stub_llm) | {"LOG_LEVEL": "INFO", **env}

    def all_started() -> set[int] | None:
        pids = started_workers(log)
        return pids if len(pids) >= expected else None

    with ChildProcess([*prefix, *SERVE], config, log, "/health/ready") as server:
        workers = wait_until(all_started, timeout=90, what=f"{expected} workers to start")
        assert len(workers) == expected, log.read_text()[-3000:]
        # One process serves alone; several are the supervisor's children (next to multiprocessing's
        # resource tracker).
        tree = process_tree(server.pid)
        assert workers <= set(tree), (workers, tree)
        assert (server.pid in workers) == (expected == 1), (server.pid, workers)


@pytest.mark.parametrize("workers", [None, "auto"])
def test_auto_starts_one_worker_per_usable_cpu(
    tmp_path: Path, stub_llm: StubOpenAI, workers: str | None
) -> None:
    env = {} if workers is None else {"WORKERS": workers}
    serve_and_count(tmp_path, stub_llm, usable_cpus(), [], **env)


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) is not installed")
def test_auto_follows_the_cpu_affinity(tmp_path: Path, stub_llm: StubOpenAI) -> None:
    serve_and_count(tmp_path, stub_llm, 1, ["taskset", "-c", "0"])


def test_an_explicit_worker_count_overrides_auto(tmp_path: Path, stub_llm: StubOpenAI) -> None:
    one_cpu = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    serve_and_count(tmp_path, stub_llm, 3, one_cpu, WORKERS="3")
