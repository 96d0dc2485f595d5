"""Client traffic while Molecule re-runs converge: its idempotence (and check) step runs under load.

    client_load.py start URL --api-key KEY --state-dir DIR   # at the start of converge
    client_load.py stop --state-dir DIR                      # at its end: exit 1 on any failed request

`start` sends nothing when the service does not answer yet (the first converge deploys it): only a
re-run on a serving host or fleet is measured. Otherwise it leaves a background process sending a
bounded mix of agent calls and agent listings (harness.loadgen) until `stop` or its own limits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness.loadgen import LoadConfig, LoadRun, Target

# About six agent requests a second, as a client of a small fleet would send; bounded in time and count
# so a scenario that never reaches `stop` does not leave load running.
RATE_PER_S = 6.0
DURATION_S = 1800.0
MAX_REQUESTS = 12_000
INVOKE = "/api/enterprise/agents/assistant/invoke"


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=3) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _start(url: str, api_key: str, state: Path) -> int:
    if not _serving(url):
        print(f"{url} does not serve yet: no client load for this run")
        return 0
    state.mkdir(parents=True, exist_ok=True)
    (state / "summary.json").unlink(missing_ok=True)
    with (state / "load.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, __file__, "run", url, "--api-key", api_key, "--state-dir", str(state)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state / "load.pid").write_text(str(process.pid))
    print(f"client load on {url} (pid {process.pid})")
    return 0


def _run(url: str, api_key: str, state: Path) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = LoadConfig(
        base_url=url,
        targets=[
            Target("POST", INVOKE, '{"input": "idempotence {seq}", "thread_id": "idempotence-{seq}"}'),
            Target("GET", "/api/enterprise/agents"),
        ],
        headers={"X-API-Key": api_key},
        concurrency=2,
        rate_per_s=RATE_PER_S,
        duration_s=DURATION_S,
        max_requests=MAX_REQUESTS,
        timeout_s=60,
    )
    with LoadRun(config) as run:
        stop.wait(DURATION_S)
    (state / "summary.json").write_text(json.dumps(run.result(), indent=2))
    return 0


def _stop(state: Path) -> int:
    pid_file = state / "load.pid"
    if not pid_file.exists():
        print("no client load ran")
        return 0
    os.kill(int(pid_file.read_text()), signal.SIGTERM)
    pid_file.unlink()
    summary_file = state / "summary.json"
    deadline = time.monotonic() + 90
    while not summary_file.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if not summary_file.exists():
        print(f"the load generator wrote no summary; see {state / 'load.log'}")
        return 1
    summary = json.loads(summary_file.read_text())
    print(
        f"client load: {summary['requests']} requests, {summary['failures']} failed, "
        f"p99 {summary['latency_ms']['p99']} ms, upstreams {summary['upstreams']}"
    )
    if summary["failures"] or not summary["requests"]:
        print(json.dumps(summary["failure_examples"], indent=2))
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=["start", "run", "stop"])
    parser.add_argument("url", nargs="?", default="")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    if args.action == "stop":
        return _stop(args.state_dir)
    if args.action == "start":
        return _start(args.url, args.api_key, args.state_dir)
    return _run(args.url, args.api_key, args.state_dir)


if __name__ == "__main__":
    sys.exit(main())
