"""Agent Server API benchmark: the real `langchain-platform serve` driven by the official `langgraph_sdk`
client against the loopback stub LLM, and LangGraph's own `langgraph dev` serving the same agent.

- `client.runs.wait` next to `POST /api/enterprise/agents/bench/invoke` at concurrency 1, one worker,
  both sent through the SDK's own HTTP client in alternating rounds (a new thread per call), p50;
- `POST /threads/{id}/runs/wait` next to `/invoke` at concurrency 64 with 2 workers (the bounded load
  generator, a new thread per request), requests/s;
- background run pick-up: `POST /threads/{id}/runs` until the run is `running` (its own record:
  `updated_at - created_at`; and as a client polling `runs.get` sees it), by the process that
  created it, and across processes: created on a server that takes no runs
  (`BACKGROUND_RUNS_PER_PROCESS=0`), taken by another one with 2 workers on the same state store
  (the wake-up, not the poll); on SQLite, and with `--postgresql` on a local PostgreSQL too;
- the same SDK calls, load and pick-up against `langgraph dev` (langgraph-cli[inmem], in its own
  virtualenv from lab/langgraph-dev.sh) serving bench/langgraph_dev's graph: our ratio to it.

Each target of the issue is printed as PASS or MISS; comparisons with `langgraph dev` are figures only.

    .venv/bin/python -m bench.agent_server_bench            # full run, about 4 minutes
    .venv/bin/python -m bench.agent_server_bench --quick    # smoke run of our side only
    .venv/bin/python -m bench.agent_server_bench --quick --postgresql   # pick-up on PostgreSQL too
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import httpx
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from bench.service_bench import AGENT_INPUT, agent_target
from bench.subjects import BENCH_AGENT, BENCH_API_KEY, platform_server, service_env
from harness import REPO_ROOT
from harness.agent_server_calls import user
from harness.loadgen import LoadConfig, Target, run_load
from harness.postgres import LocalPostgres
from harness.processes import ChildProcess, stub_llm, wait_for
from harness.procstats import tree_cpu_seconds

LANGGRAPH_DEV = REPO_ROOT / ".cache" / "langgraph-dev" / "bin" / "langgraph"
LANGGRAPH_DEV_APP = REPO_ROOT / "bench" / "langgraph_dev"
INVOKE_PATH = f"/api/enterprise/agents/{BENCH_AGENT}/invoke"
# Long enough that the run is still `running` when the poll sees it, so its record shows the claim.
PICKUP_INPUT = "[stub:slow=300] pick me up"
WAIT_P50_TARGET = 1.10  # runs.wait p50 / /invoke p50 at c=1
PICKUP_TARGET_MS = 20.0


@dataclass(frozen=True)
class Plan:
    rounds: int  # alternating rounds of c=1 calls
    calls_per_round: int
    concurrency: int  # the throughput point
    workers: int
    duration_s: float
    pickups: int


FULL = Plan(rounds=5, calls_per_round=30, concurrency=64, workers=2, duration_s=8.0, pickups=25)
QUICK = Plan(rounds=1, calls_per_round=4, concurrency=8, workers=2, duration_s=1.0, pickups=3)


@dataclass
class Figures:
    """One server's figures; None where it was not measured."""

    system: str
    processes: str  # what served the throughput point
    wait_p50_ms: float | None = None
    invoke_p50_ms: float | None = None
    wait_rps: float | None = None
    wait_errors: int | None = None
    wait_cpu_ms: float | None = None  # server CPU per request at the throughput point
    invoke_rps: float | None = None
    invoke_errors: int | None = None
    invoke_cpu_ms: float | None = None
    pickup_record_ms: float | None = None  # p50 of the run's updated_at - created_at
    pickup_seen_ms: float | None = None  # p50 of create sent -> running seen by polling
    # The same, for runs created on a process that takes none (another process's wake-up).
    pickup_cross_record_ms: float | None = None
    pickup_cross_seen_ms: float | None = None


def p50_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def latency_at_one(plan: Plan, sdk: SyncLangGraphClient, figures: Figures, with_invoke: bool) -> None:
    """p50 of `runs.wait` (and of /invoke through the same HTTP client) in alternating rounds, so a
    neighbour's load or a change of CPU clock hits both alike."""

    def wait() -> None:
        values = sdk.runs.wait(
            str(uuid.uuid4()), BENCH_AGENT, input=user(AGENT_INPUT), if_not_exists="create"
        )
        assert isinstance(values, dict), values
        assert "returned" in values["messages"][-1]["content"], values

    def invoke() -> None:
        answer = sdk.http.post(INVOKE_PATH, json={"input": AGENT_INPUT, "thread_id": str(uuid.uuid4())})
        assert "returned" in answer["output"], answer

    calls = {"wait": wait, **({"invoke": invoke} if with_invoke else {})}
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # warm-up: connections, graph compilation, caches
        for _ in range(3):
            call()
    for _ in range(plan.rounds):
        for name, call in calls.items():
            samples[name] += [timed(call) for _ in range(plan.calls_per_round)]
    figures.wait_p50_ms = p50_ms(samples["wait"])
    if with_invoke:
        figures.invoke_p50_ms = p50_ms(samples["invoke"])


def wait_targets(count: int) -> list[Target]:
    """`count` runs.wait requests, each on a thread of its own (the same one twice would be a 409)."""
    body = json.dumps({"assistant_id": BENCH_AGENT, "input": user(AGENT_INPUT), "if_not_exists": "create"})
    return [Target("POST", f"/threads/{uuid.uuid4()}/runs/wait", body) for _ in range(count)]


def invoke_targets(count: int) -> list[Target]:
    """`count` /invoke requests, each on a thread of its own (the load generator numbers them)."""
    return [agent_target(INVOKE_PATH, f"bench-{uuid.uuid4().hex[:8]}")] * count


def rate(
    base_url: str, pid: int, targets: Callable[[int], list[Target]], plan: Plan
) -> tuple[float, int, float]:
    """(requests/s, errors, server CPU ms per request) at the plan's concurrency, after a warm-up."""

    def config(duration: float, requests: int) -> LoadConfig:
        # More requests than the server can take in time: the duration ends the run.
        return LoadConfig(
            base_url=base_url,
            targets=targets(requests),
            headers={"X-API-Key": BENCH_API_KEY},
            concurrency=plan.concurrency,
            duration_s=duration,
            max_requests=requests,
            timeout_s=60.0,
        )

    asyncio.run(run_load(config(min(2.0, plan.duration_s), 2 * plan.concurrency)))
    cpu_before = tree_cpu_seconds(pid)
    summary = asyncio.run(run_load(config(plan.duration_s, int(plan.duration_s * 2000))))
    cpu_ms = (tree_cpu_seconds(pid) - cpu_before) * 1000 / max(1, summary["requests"])
    for example in summary["failure_examples"][:3]:
        print(f"    failure: {example}", flush=True)
    return summary["rps"] or 0.0, summary["failures"] + summary["conflicts_409"], round(cpu_ms, 2)


def _instant(value: object) -> float:
    # The SDK types it as a datetime; on the wire, and so in what it returns, it is ISO 8601 text.
    return datetime.fromisoformat(str(value)).timestamp()


def pickup(plan: Plan, sdk: SyncLangGraphClient) -> tuple[float | None, float]:
    """Create a background run on a new thread and poll it until it runs: p50 (ms) of the pick-up
    by the run's record and as the poll saw it."""
    record, seen = [], []
    for _ in range(plan.pickups + 1):  # the first one warms up
        thread_id = sdk.threads.create()["thread_id"]
        started = time.perf_counter()
        run = sdk.runs.create(thread_id, BENCH_AGENT, input=user(PICKUP_INPUT))
        while (got := sdk.runs.get(thread_id, run["run_id"]))["status"] == "pending":
            time.sleep(0.001)
        seen.append(time.perf_counter() - started)
        # Ours stamps updated_at when a worker claims the run; `langgraph dev` leaves it as created.
        if got["status"] == "running" and got["updated_at"] != run["updated_at"]:
            record.append(_instant(got["updated_at"]) - _instant(got["created_at"]))
        sdk.runs.join(thread_id, run["run_id"])
    return (p50_ms(record[1:]) if len(record) > 1 else None), p50_ms(seen[1:])


def cross_pickup(plan: Plan, env: dict[str, str], logs: Path, figures: Figures) -> None:
    """Pick-up of runs created on a server that takes none, by a 2-worker server on the same store
    (``env``: the whole configuration of both)."""
    Path(env["DATA_DIR"]).mkdir()
    with (
        platform_server({**env, "BACKGROUND_RUNS_PER_PROCESS": "0"}, logs / "cross-api.log", 1) as api,
        platform_server(env, logs / "cross-runner.log", 2) as runner,
        get_sync_client(url=api.url, api_key=BENCH_API_KEY) as sdk,
    ):
        wait_for(f"{api.url}/health/ready")
        wait_for(f"{runner.url}/health/ready")
        figures.pickup_cross_record_ms, figures.pickup_cross_seen_ms = pickup(plan, sdk)


def has_background_runs(sdk: SyncLangGraphClient) -> bool:
    """Whether the service takes `POST /threads/{thread_id}/runs`: on a thread that exists, a 404 or
    405 means the route does not. (The Agent Server API is not in the service's /schema.)"""
    thread_id = sdk.threads.create()["thread_id"]
    try:
        run = sdk.runs.create(thread_id, BENCH_AGENT, input=user(AGENT_INPUT))
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (404, 405):
            return False
        raise
    sdk.runs.join(thread_id, run["run_id"])
    return True


def measure_ours(plan: Plan, work: Path, llm_url: str) -> Figures:
    figures = Figures("langchain-platform", f"{plan.workers} workers")
    data = work / "ours-1w"
    data.mkdir()
    with (
        platform_server(service_env(llm_url, data), work / "ours-1w.log", 1) as server,
        get_sync_client(url=server.url, api_key=BENCH_API_KEY) as sdk,
    ):
        wait_for(f"{server.url}/health/ready")
        latency_at_one(plan, sdk, figures, with_invoke=True)
        if has_background_runs(sdk):
            figures.pickup_record_ms, figures.pickup_seen_ms = pickup(plan, sdk)
            cross_pickup(plan, service_env(llm_url, work / "ours-cross"), work, figures)
    data = work / f"ours-{plan.workers}w"
    data.mkdir()
    with platform_server(
        service_env(llm_url, data), work / f"ours-{plan.workers}w.log", plan.workers
    ) as server:
        assert server.proc is not None
        wait_for(f"{server.url}/health/ready")
        figures.wait_rps, figures.wait_errors, figures.wait_cpu_ms = rate(
            server.url, server.proc.pid, wait_targets, plan
        )
        figures.invoke_rps, figures.invoke_errors, figures.invoke_cpu_ms = rate(
            server.url, server.proc.pid, invoke_targets, plan
        )
    return figures


@contextmanager
def langgraph_dev(work: Path, llm_url: str, jobs: int) -> Iterator[ChildProcess]:
    """`langgraph dev` on a copy of bench/langgraph_dev (it writes its in-memory state's snapshots
    beside its config), without reload, with as many concurrent runs as the load sends."""
    app = work / "langgraph-dev-app"
    shutil.copytree(LANGGRAPH_DEV_APP, app, ignore=shutil.ignore_patterns("__pycache__", ".langgraph_api"))
    args = [
        "env", "-C", str(app), str(LANGGRAPH_DEV), "dev", "--config", "langgraph.json", "--host", "127.0.0.1",
        "--port", "{port}", "--no-browser", "--no-reload", "--n-jobs-per-worker", str(jobs),
        "--server-log-level", "warning",
    ]  # fmt: skip
    env = {
        "OPENAI_BASE_URL": f"{llm_url}/v1",
        "OPENAI_API_KEY": "sk-bench-not-secret",
        "PYTHONPATH": str(REPO_ROOT / "service"),  # the calculator of bench_graph.py
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    with ChildProcess(args, env, work / "langgraph-dev.log", "/ok") as server:
        yield server


def measure_langgraph_dev(plan: Plan, work: Path, llm_url: str) -> Figures:
    figures = Figures("langgraph dev", "1 process")
    with (
        langgraph_dev(work, llm_url, plan.concurrency) as server,
        get_sync_client(url=server.url, api_key=None) as sdk,
    ):
        # Its runs take about a second each at c=1: fewer of them (the median is as steady).
        fewer = replace(plan, rounds=1, calls_per_round=min(20, plan.calls_per_round), pickups=10)
        latency_at_one(fewer, sdk, figures, with_invoke=False)
        figures.pickup_record_ms, figures.pickup_seen_ms = pickup(fewer, sdk)
        figures.wait_rps, figures.wait_errors, figures.wait_cpu_ms = rate(
            server.url, server.pid, wait_targets, plan
        )
    return figures


def measure_postgresql_pickups(plan: Plan, work: Path, llm_url: str) -> Figures:
    """Our pick-up figures with the state store on a local PostgreSQL (one host)."""
    figures = Figures("langchain-platform on PostgreSQL", "-")
    logs = work / "pg"
    logs.mkdir()
    data = logs / "data"
    data.mkdir()
    with LocalPostgres() as pg:
        env = {**service_env(llm_url, data), "CHECKPOINTER_URL": pg.url}
        with (
            platform_server(env, logs / "server.log", 1) as server,
            get_sync_client(url=server.url, api_key=BENCH_API_KEY) as sdk,
        ):
            wait_for(f"{server.url}/health/ready")
            figures.pickup_record_ms, figures.pickup_seen_ms = pickup(plan, sdk)
        cross_pickup(plan, {**env, "DATA_DIR": str(logs / "cross")}, logs, figures)
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_figures(plan: Plan, figures: Figures) -> None:
    print(
        f"{figures.system}: runs.wait p50 {_ms(figures.wait_p50_ms)} ms, "
        f"/invoke p50 {_ms(figures.invoke_p50_ms)} ms (c=1, 1 worker); "
        f"pick-up p50 {_ms(figures.pickup_record_ms)} ms by its record, "
        f"{_ms(figures.pickup_seen_ms)} ms seen by a poll; across processes "
        f"{_ms(figures.pickup_cross_record_ms)} ms by its record, "
        f"{_ms(figures.pickup_cross_seen_ms)} ms seen",
        flush=True,
    )
    if figures.wait_rps is not None:
        invoke = (
            f"; /invoke {figures.invoke_rps:.1f} req/s, {figures.invoke_errors} errors, "
            f"{_ms(figures.invoke_cpu_ms)} ms CPU per run"
            if figures.invoke_rps
            else ""
        )
        print(
            f"{figures.system}: c={plan.concurrency}, {figures.processes}: runs/wait {figures.wait_rps:.1f} "
            f"req/s, {figures.wait_errors} errors, {_ms(figures.wait_cpu_ms)} ms CPU per run{invoke}",
            flush=True,
        )


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool | None  # None: not measured, or a figure for the reader
    detail: str


def verdicts(plan: Plan, ours: Figures, theirs: Figures | None) -> list[Verdict]:
    result = []
    if ours.wait_p50_ms and ours.invoke_p50_ms:
        ratio = ours.wait_p50_ms / ours.invoke_p50_ms
        result.append(
            Verdict(
                f"runs.wait p50 within {WAIT_P50_TARGET}x of /invoke through the SDK (c=1, 1 worker)",
                ratio <= WAIT_P50_TARGET,
                f"{ours.wait_p50_ms:.1f} vs {ours.invoke_p50_ms:.1f} ms = {ratio:.2f}x",
            )
        )
    if ours.pickup_record_ms is None:
        result.append(
            Verdict(f"background run pick-up p50 <= {PICKUP_TARGET_MS:.0f} ms", None, "not measured")
        )
    else:
        result.append(
            Verdict(
                f"background run pick-up p50 <= {PICKUP_TARGET_MS:.0f} ms (created -> running, 1 worker)",
                ours.pickup_record_ms <= PICKUP_TARGET_MS,
                f"{ours.pickup_record_ms:.1f} ms by the run's record; "
                f"{_ms(ours.pickup_seen_ms)} ms seen by a client polling runs.get",
            )
        )
    if ours.pickup_cross_record_ms is not None:
        result.append(
            Verdict(
                f"background run pick-up p50 <= {PICKUP_TARGET_MS:.0f} ms across processes "
                "(created on one server, taken by another's 2 workers)",
                ours.pickup_cross_record_ms <= PICKUP_TARGET_MS,
                f"{ours.pickup_cross_record_ms:.1f} ms by the run's record; "
                f"{_ms(ours.pickup_cross_seen_ms)} ms seen by a client polling runs.get",
            )
        )
    if ours.wait_rps is not None and ours.invoke_rps:
        errors = (ours.wait_errors or 0) + (ours.invoke_errors or 0)
        result.append(
            Verdict(
                f"no errors at c={plan.concurrency}, {plan.workers} workers",
                errors == 0,
                f"runs/wait {ours.wait_rps:.1f} req/s = {ours.wait_rps / ours.invoke_rps:.2f}x /invoke's "
                f"{ours.invoke_rps:.1f}; {errors} errors",
            )
        )
    if theirs is not None:
        for name, mine, other, unit, higher_better in (
            ("runs.wait p50 at c=1", ours.wait_p50_ms, theirs.wait_p50_ms, "ms", False),
            (
                f"runs/wait rate at c={plan.concurrency} (ours {plan.workers} workers)",
                ours.wait_rps,
                theirs.wait_rps,
                "req/s",
                True,
            ),
            ("server CPU per run at that rate", ours.wait_cpu_ms, theirs.wait_cpu_ms, "ms", False),
            ("background pick-up seen by a poll", ours.pickup_seen_ms, theirs.pickup_seen_ms, "ms", False),
        ):
            if mine and other:
                better = mine / other if higher_better else other / mine
                result.append(
                    Verdict(
                        f"vs langgraph dev: {name}",
                        None,
                        f"ours {mine:.1f} {unit}, langgraph dev {other:.1f} {unit}: "
                        f"ours {better:.2f}x as good",
                    )
                )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="tiny counts, our side only: the suite's smoke run"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--postgresql", action="store_true", help="also measure pick-up on a local PostgreSQL (its binaries)"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    # Other work on the machine skews every figure: say how busy it was.
    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs", flush=True)
    theirs: Figures | None = None
    with tempfile.TemporaryDirectory(prefix="agent-server-bench-") as tmp:
        work = Path(tmp)
        with stub_llm(0, work / "stub.log") as llm:
            ours = measure_ours(plan, work, llm.url)
            print_figures(plan, ours)
            if args.postgresql:
                print_figures(plan, measure_postgresql_pickups(plan, work, llm.url))
            if args.quick:
                print("langgraph dev: skipped (--quick)")
            elif not LANGGRAPH_DEV.exists():
                print(f"langgraph dev: {LANGGRAPH_DEV} absent (lab/langgraph-dev.sh installs it); skipped")
            else:
                theirs = measure_langgraph_dev(plan, work, llm.url)
                print_figures(plan, theirs)
    print("targets:")
    results = verdicts(plan, ours, theirs)
    for verdict in results:
        label = {True: "PASS", False: "MISS", None: "    "}[verdict.passed]
        print(f"  {label} {verdict.name}: {verdict.detail}")
    print(f"load average at end: {os.getloadavg()}")
    print(f"total bench time {time.monotonic() - started:.0f} s")
    if args.json:
        figures = [asdict(ours)] + ([asdict(theirs)] if theirs else [])
        args.json.write_text(
            json.dumps({"figures": figures, "targets": [asdict(v) for v in results]}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
