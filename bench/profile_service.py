"""Where an agent run's time goes: the real service under pyinstrument, driven one run at a time.

Starts the stub LLM (0 ms) and `python -m langchain_platform serve` (1 worker) under pyinstrument,
sends agent runs at concurrency 1 for a while, stops the server with SIGINT (uvicorn's graceful
stop, after which pyinstrument writes its report) and prints the report.

    .venv/bin/python -m bench.profile_service [--seconds 15] [--endpoint agent|health]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.subjects import BENCH_AGENT, BENCH_API_KEY, service_env
from harness import REPO_ROOT
from harness.loadgen import LoadConfig, Target, run_load
from harness.platform_server import cli_env
from harness.ports import free_port
from harness.processes import stub_llm, wait_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--endpoint", choices=("agent", "health"), default="agent")
    parser.add_argument("--show-all", action="store_true", help="no hidden frames in the report")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp:
        work = Path(tmp)
        report = work / "profile.txt"
        with stub_llm(0, work / "stub.log") as llm:
            port = free_port()
            command = [
                sys.executable, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(report),
                *(["--show-all"] if args.show_all else []),
                "-m", "langchain_platform", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1",  # the profiler sees one process
            ]  # fmt: skip
            env = cli_env({**service_env(llm.url, work / "data"), "PYTHONPATH": str(REPO_ROOT / "service")})
            with (work / "server.log").open("wb") as log:
                server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_for(f"{base}/health/ready", proc=server)
                if args.endpoint == "agent":
                    body = '{"input": "use tool calculator: 2+3", "thread_id": "profile-{seq}"}'
                    target = Target("POST", f"/api/enterprise/agents/{BENCH_AGENT}/invoke", body)
                else:
                    target = Target("GET", "/health")
                config = LoadConfig(
                    base_url=base,
                    targets=[target],
                    headers={"X-API-Key": BENCH_API_KEY},
                    concurrency=1,
                    duration_s=args.seconds,
                    max_requests=1_000_000,
                )
                summary = asyncio.run(run_load(config))
                print(f"{summary['requests']} requests, p50 {summary['latency_ms']['p50']} ms, "
                      f"{summary['failures']} failures")  # fmt: skip
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=60)
        print(report.read_text() if report.exists() else (work / "server.log").read_text()[-3000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
