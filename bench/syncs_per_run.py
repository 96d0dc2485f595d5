"""Disk syncs per agent run, the service against the bare reference (strace -c on their processes).

Each SQLite commit in WAL mode with the default `synchronous=FULL` is an fdatasync; the difference
between the two columns is what the service's own bookkeeping (lease, thread index) adds per run.

    .venv/bin/python -m bench.syncs_per_run [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.subjects import BENCH_AGENT, BENCH_API_KEY, platform_server, reference_app, service_env
from harness.loadgen import LoadConfig, Target, run_load
from harness.processes import stub_llm, wait_for
from harness.procstats import process_tree

SYSCALLS = "fsync,fdatasync,pwrite64,write"


def traced_runs(pid: int, base_url: str, path: str, runs: int, out: Path) -> str:
    """strace -c summary of `pid`'s tree while `runs` agent runs go one after another."""
    body = '{"input": "use tool calculator: 2+3", "thread_id": "' + out.stem + '-{seq}"}'

    def config(count: int) -> LoadConfig:
        return LoadConfig(
            base_url=base_url,
            targets=[Target("POST", path, body)],
            headers={"X-API-Key": BENCH_API_KEY},
            concurrency=1,
            duration_s=120,
            max_requests=count,
        )

    asyncio.run(run_load(config(5)))  # warm-up: the first run builds the graph
    attach = [arg for p in process_tree(pid) for arg in ("-p", str(p))]
    tracer = subprocess.Popen(
        ["strace", "-f", "-c", "-e", f"trace={SYSCALLS}", "-o", str(out), *attach], stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # strace attaches asynchronously
    summary = asyncio.run(run_load(config(runs)))
    time.sleep(0.5)
    tracer.terminate()
    tracer.wait(timeout=30)
    return f"{summary['requests']} runs, {summary['failures']} failures\n{out.read_text()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    if shutil.which("strace") is None:
        print("strace is not installed (apt-get install strace)")
        return 2
    with tempfile.TemporaryDirectory(prefix="syncs-") as tmp:
        work = Path(tmp)
        with stub_llm(0, work / "stub.log") as llm:
            (work / "ref").mkdir()
            with reference_app(service_env(llm.url, work / "ref"), work / "ref.log") as ref:
                print(
                    "reference:", traced_runs(ref.pid, ref.url, "/agent", args.runs, work / "reference.txt")
                )
            (work / "svc").mkdir()
            with platform_server(service_env(llm.url, work / "svc"), work / "svc.log", 1) as server:
                assert server.proc is not None
                wait_for(f"{server.url}/health/ready")
                invoke = f"/api/enterprise/agents/{BENCH_AGENT}/invoke"
                print(
                    "service:",
                    traced_runs(server.proc.pid, server.url, invoke, args.runs, work / "service.txt"),
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
