"""Where an agent run's CPU goes: the service against the bare graph, part by part.

Three subjects with one uvicorn worker each, against the stub LLM (0 ms), driven one run at a time:

- ``graph``: the reference app's ``/agent-nostate``, the compiled agent without a checkpointer;
- ``graph+sqlite``: its ``/agent``, the same agent on the same SQLite checkpointer and durability;
- ``service``: ``POST /api/enterprise/agents/bench/invoke`` of ``langchain-platform serve``.

For each, ``--runs`` runs without a profiler give the CPU per run of the main thread and of the other
threads (the checkpointer and the platform store run their SQL in threads of their own) from /proc;
then as many runs under cProfile (bench/profiled_server.py, main thread only) give the self time per
run of each part below. The profiler slows Python calls down, so read the parts as shares and the
differences between columns, and the /proc rows as the real cost.

    .venv/bin/python -m bench.run_cost [--runs 300] [--durability exit]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.subjects import BENCH_AGENT, BENCH_API_KEY, service_env
from harness import REPO_ROOT
from harness.loadgen import LoadConfig, Target, run_load
from harness.platform_server import cli_env
from harness.ports import free_port
from harness.processes import stub_llm, wait_for

# (part, substrings of a profile entry's file or function name), first match wins; order matters.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Before the platform store: the checkpointer (state/sqlite_saver.py) lives beside it.
    (
        "checkpoint writes and reads (LangGraph savers, serde)",
        ("langgraph/checkpoint/", "langchain_platform/state/sqlite_saver", "aiosqlite", "sqlite3"),
    ),
    ("platform store: run guard, thread index", ("langchain_platform/state/",)),
    ("usage callback", ("langchain_platform/agents/usage.py",)),
    ("metrics (prometheus_client)", ("prometheus_client",)),
    ("logging (structlog, logging)", ("structlog", "/logging/", "langchain_platform/observability/logging")),
    (
        "request path: auth, ids, bodies, routing",
        (
            "langchain_platform/auth",
            "langchain_platform/observability/requests",
            "langchain_platform/request_bodies",
            "langchain_platform/http_",
            "langchain_platform/access",
            "langchain_platform/guards",
            "litestar",
            "msgspec",
        ),
    ),
    ("HTTP server (uvicorn, httptools)", ("uvicorn", "httptools")),
    ("run bookkeeping (agent_run, runtime, deadlines)", ("langchain_platform/agents/",)),
    (
        "callbacks and tracing (langchain_core)",
        ("langchain_core/callbacks", "langchain_core/tracers", "langsmith"),
    ),
    ("LLM client (openai, httpx)", ("openai", "httpx", "httpcore", "h11", "anyio", "ssl")),
    ("graph (langgraph, langchain agents, messages)", ("langgraph", "langchain", "pydantic")),
    ("event loop (asyncio)", ("asyncio", "selectors", "select.epoll")),
)
OTHER = "other"


@dataclass(frozen=True)
class Subject:
    name: str
    path: str
    service: bool


SUBJECTS = (
    Subject("graph", "/agent-nostate", service=False),
    Subject("graph+sqlite", "/agent", service=False),
    Subject("service", f"/api/enterprise/agents/{BENCH_AGENT}/invoke", service=True),
)


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the main thread and of all other threads of ``pid`` so far."""
    tick = os.sysconf("SC_CLK_TCK")
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # a thread that just ended
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(task.name) == pid:
            main = seconds
        else:
            others += seconds
    return main, others


def part_of(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for part, needles in PARTS:
        if any(needle in where for needle in needles):
            return part
    return OTHER


def entries_per_run(stats_file: Path, runs: int) -> dict[tuple[str, str], float]:
    """Self time per run (ms) of each (part, function) of a cProfile dump."""
    stats = pstats.Stats(str(stats_file))
    entries: dict[tuple[str, str], float] = {}
    for (filename, line, function), (_calls, _primitive, self_time, _cumulative, _callers) in (
        stats.stats.items()  # type: ignore[attr-defined]
    ):
        key = (part_of(filename, function), f"{filename}:{line}({function})")
        entries[key] = entries.get(key, 0.0) + self_time * 1000 / runs
    return entries


@contextmanager
def server(subject: Subject, llm_url: str, work: Path, durability: str) -> Iterator[tuple[str, int]]:
    data_dir = work / f"data-{subject.name}"
    data_dir.mkdir(exist_ok=True)
    port = free_port()
    profile = work / f"{subject.name}.pstats"
    if subject.service:
        args = ["langchain-platform", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        ready = "/health/ready"
    else:
        args = [
            "uvicorn", "bench.reference_app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        ready = "/constant"
    env = cli_env(
        {
            **service_env(llm_url, data_dir),
            "CHECKPOINT_DURABILITY": durability,
            "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'service'}",
        }
    )
    with (work / f"{subject.name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.profiled_server", str(profile), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(url + ready, proc=proc)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def drive(url: str, path: str, runs: int, tag: str) -> int:
    body = '{"input": "use tool calculator: (17 + 25) * 3", "thread_id": "' + tag + '-{seq}"}'
    config = LoadConfig(
        base_url=url,
        targets=[Target("POST", path, body)],
        headers={"X-API-Key": BENCH_API_KEY},
        concurrency=1,
        duration_s=600,
        max_requests=runs,
        timeout_s=30,
    )
    summary = asyncio.run(run_load(config))
    failures: int = summary["failures"] + summary["conflicts_409"]
    if failures:
        raise RuntimeError(f"{failures} failed runs on {path}: {summary['failure_examples'][:2]}")
    return int(summary["requests"])


@dataclass(frozen=True)
class Cost:
    parts: dict[str, float]  # profiled self time per run (ms), main thread
    entries: dict[tuple[str, str], float]  # the same per (part, function)
    main_ms: float  # CPU per run from /proc, no profiler
    others_ms: float


def measure(subject: Subject, llm_url: str, work: Path, runs: int, durability: str) -> Cost:
    with server(subject, llm_url, work, durability) as (url, pid):
        drive(url, subject.path, 20, f"warm-{subject.name}")
        main_before, others_before = thread_cpu(pid)
        done = drive(url, subject.path, runs, f"plain-{subject.name}")
        main_after, others_after = thread_cpu(pid)
        os.kill(pid, signal.SIGUSR1)
        profiled = drive(url, subject.path, runs, f"profiled-{subject.name}")
        os.kill(pid, signal.SIGUSR2)
        time.sleep(1.0)  # the dump is written by the signal handler, between two runs' callbacks
        entries = entries_per_run(work / f"{subject.name}.pstats", profiled)
    parts: dict[str, float] = {}
    for (part, _function), ms in entries.items():
        parts[part] = parts.get(part, 0.0) + ms
    return Cost(
        parts, entries, (main_after - main_before) * 1000 / done, (others_after - others_before) * 1000 / done
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--durability", choices=("sync", "async", "exit"), help="default: the service's")
    parser.add_argument("--detail", type=int, default=0, help="also list the service's N costliest functions")
    args = parser.parse_args(argv)
    from langchain_platform.settings import Settings

    durability = args.durability or Settings().checkpoint_durability
    print(f"load average at start: {os.getloadavg()}; {args.runs} runs per subject; durability {durability}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="run-cost-") as tmp:
        work = Path(tmp)
        with stub_llm(0, work / "stub.log") as llm:
            for subject in SUBJECTS:
                results[subject.name] = measure(subject, llm.url, work, args.runs, durability)
    names = [s.name for s in SUBJECTS]
    header = f"{'ms per run':<56}" + "".join(f"{n:>14}" for n in names) + f"{'service - graph+sqlite':>24}"
    print(header)
    rows = (
        ("CPU, main thread (/proc, no profiler)", [results[n].main_ms for n in names]),
        ("CPU, other threads (/proc)", [results[n].others_ms for n in names]),
    )
    for label, figures in rows:
        print(f"{label:<56}" + "".join(f"{f:>14.2f}" for f in figures) + f"{figures[2] - figures[1]:>+24.2f}")
    print("profiled self time of the main thread, by part:")
    parts = [part for part, _ in PARTS] + [OTHER]
    for part in parts:
        figures = [results[n].parts.get(part, 0.0) for n in names]
        print(
            f"  {part:<54}" + "".join(f"{f:>14.2f}" for f in figures) + f"{figures[2] - figures[1]:>+24.2f}"
        )
    totals = [sum(results[n].parts.values()) for n in names]
    print(
        f"  {'total (profiled)':<54}"
        + "".join(f"{f:>14.2f}" for f in totals)
        + f"{totals[2] - totals[1]:>+24.2f}"
    )
    if args.detail:
        print(f"the service's {args.detail} costliest functions (profiled self time, ms per run):")
        ranked = sorted(results["service"].entries.items(), key=lambda item: -item[1])[: args.detail]
        for (part, function), ms in ranked:
            print(f"  {ms:7.3f}  {function[-90:]:<90}  [{part}]")
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
