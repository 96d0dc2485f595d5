"""Service benchmark: the real `langchain-platform serve` against the loopback stub LLM.

Measures requests/s, latency percentiles, errors and server RSS for GET /health and for an agent run
(one scripted calculator call: model -> tool -> model) at several concurrencies, with 1 and 2
uvicorn workers and stub latencies of 0 and 200 ms. The same compiled agent awaited by a bare
Litestar app (bench/reference_app.py), on the same SQLite checkpointer ("agent") and without one
("nostate"), is the framework ceiling; a constant endpoint there is the ceiling for the probes
(/health, /health/live, /health/ready, in alternating bursts). Then cold start to /health/ready,
RSS over a long run, and the image's size. Each target from the benchmark issues is printed as PASS
or MISS.

    .venv/bin/python -m bench.service_bench            # full run, about 9 minutes
    .venv/bin/python -m bench.service_bench --quick    # smoke run, under a minute
    .venv/bin/python -m bench.service_bench --only probes --only cold   # some parts only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from bench.image_layers import image_split, tagged_ancestor
from bench.subjects import BENCH_AGENT, BENCH_API_KEY, platform_server, reference_app, service_env
from harness.loadgen import LoadConfig, LoadRun, Target, run_load
from harness.processes import ChildProcess, stub_llm, wait_for
from harness.procstats import tree_cpu_seconds, tree_rss_mb

AGENT_INPUT = "use tool calculator: (17 + 25) * 3"
LLM_CALLS_PER_RUN = 2  # the tool call, then the answer that quotes the tool's result


@dataclass(frozen=True)
class Plan:
    latencies_ms: tuple[int, ...]
    workers: tuple[int, ...]
    concurrencies: tuple[int, ...]
    duration_s: float
    max_requests: int
    rss_run_s: float
    cold_starts: int
    probe_rounds: int  # alternating /health and constant bursts, for their ratio
    probe_burst_s: float


FULL = Plan((0, 200), (1, 2), (1, 16, 64), 5.0, 100_000, 60.0, 5, 8, 1.5)
QUICK = Plan((0,), (1,), (1, 4), 1.0, 1500, 3.0, 1, 1, 0.3)
PROBE_CONCURRENCY = 16
COLD_START_TIMEOUT_S = 60.0
# What `--only` may pick; the image's size is always read (it costs a `docker inspect`).
PARTS = ("matrix", "probes", "cold", "rss")


@dataclass
class Point:
    system: str  # "service-1w", "service-2w", "reference"
    latency_ms: int
    endpoint: str  # "health", "agent", "constant"
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    rss_mb: float
    cpu_ms_per_req: float  # server CPU (all its processes) per request: robust to a busy machine
    # CPU per request of what shares the machine with the server: this process (the load generator)
    # and the stub LLM. On 2 cores, 2 workers get at most what these leave.
    load_cpu_ms_per_req: float
    ratio: float | None = None  # rps relative to the reference ("ceiling") at the same point
    failure_examples: list[dict[str, Any]] = field(default_factory=list)


def agent_target(path: str, tag: str) -> Target:
    # Distinct thread ids per request: the per-thread run guard would answer 409 to shared ones.
    body = json.dumps({"input": AGENT_INPUT, "thread_id": f"{tag}-SEQ"}).replace("SEQ", "{seq}")
    return Target("POST", path, body)


def measure(
    system: str,
    base_url: str,
    pid: int,
    stub_pid: int,
    latency: int,
    endpoint: str,
    target: Target,
    concurrency: int,
    plan: Plan,
) -> Point:
    def config(duration: float, max_requests: int) -> LoadConfig:
        return LoadConfig(
            base_url=base_url,
            targets=[target],
            headers={"X-API-Key": BENCH_API_KEY},
            concurrency=concurrency,
            duration_s=duration,
            max_requests=max_requests,
            timeout_s=30.0,
        )

    asyncio.run(run_load(config(min(2.0, plan.duration_s), 2 * concurrency)))  # warm-up: connections, caches
    cpu_before, load_before = tree_cpu_seconds(pid), time.process_time() + tree_cpu_seconds(stub_pid)
    summary = asyncio.run(run_load(config(plan.duration_s, plan.max_requests)))
    requests = max(1, summary["requests"])
    cpu_ms = (tree_cpu_seconds(pid) - cpu_before) * 1000 / requests
    load_ms = (time.process_time() + tree_cpu_seconds(stub_pid) - load_before) * 1000 / requests
    latency_ms = summary["latency_ms"]
    return Point(
        system=system,
        latency_ms=latency,
        endpoint=endpoint,
        concurrency=concurrency,
        rps=summary["rps"] or 0.0,
        p50_ms=latency_ms["p50"] or 0.0,
        p95_ms=latency_ms["p95"] or 0.0,
        p99_ms=latency_ms["p99"] or 0.0,
        requests=summary["requests"],
        errors=summary["failures"] + summary["conflicts_409"],
        rss_mb=tree_rss_mb(pid),
        cpu_ms_per_req=round(cpu_ms, 2),
        load_cpu_ms_per_req=round(load_ms, 2),
        failure_examples=summary["failure_examples"][:3],
    )


def print_point(point: Point) -> None:
    ratio = f"{point.ratio:6.2f}x" if point.ratio is not None else "      -"
    print(
        f"{point.system:<11} {point.latency_ms:>5} {point.endpoint:<8} {point.concurrency:>4} "
        f"{point.rps:>9.1f} {point.p50_ms:>8.1f} {point.p95_ms:>8.1f} {point.p99_ms:>8.1f} "
        f"{point.errors:>6} {point.rss_mb:>8.1f} {point.cpu_ms_per_req:>7.2f} {ratio} "
        f"{point.load_cpu_ms_per_req:>8.2f}",
        flush=True,
    )
    for example in point.failure_examples:
        print(f"    failure: {example}", flush=True)


SERVICE_ENDPOINTS = (
    ("health", "/health", "constant"),
    ("agent", f"/api/enterprise/agents/{BENCH_AGENT}/invoke", "agent"),
    # The same run through the OpenAI-compatible front (stateless), at the lowest and highest
    # concurrency only: compared with /invoke, not with the ceiling.
    ("openai", "/v1/chat/completions", "agent"),
)
OPENAI_BODY = json.dumps({"model": BENCH_AGENT, "messages": [{"role": "user", "content": AGENT_INPUT}]})
# "agent": the graph on the same SQLite checkpointer; "nostate": the graph alone, no checkpointer.
REFERENCE_ENDPOINTS = (("constant", "/constant"), ("agent", "/agent"), ("nostate", "/agent-nostate"))


def _target(endpoint: str, path: str) -> Target:
    if endpoint == "openai":
        return Target("POST", path, OPENAI_BODY)
    return agent_target(path, _tag()) if endpoint in ("agent", "nostate") else Target("GET", path)


def measure_reference(plan: Plan, work: Path, llm: ChildProcess, latency: int) -> list[Point]:
    data_dir = work / f"ref-{latency}"
    data_dir.mkdir()
    points = []
    with reference_app(service_env(llm.url, data_dir), work / "reference.log") as ref:
        for endpoint, path in REFERENCE_ENDPOINTS:
            for conc in plan.concurrencies:
                target = _target(endpoint, path)
                points.append(
                    measure("reference", ref.url, ref.pid, llm.pid, latency, endpoint, target, conc, plan)
                )
                print_point(points[-1])
    return points


def measure_service(
    plan: Plan,
    work: Path,
    llm: ChildProcess,
    latency: int,
    workers: int,
    ceiling: dict[tuple[str, int], float],
) -> list[Point]:
    data_dir = work / f"svc-{latency}-{workers}"
    data_dir.mkdir()
    points = []
    with platform_server(
        service_env(llm.url, data_dir), work / f"service-{latency}-{workers}w.log", workers
    ) as server:
        assert server.proc is not None
        wait_for(f"{server.url}/health/ready")
        for endpoint, path, ref_endpoint in SERVICE_ENDPOINTS:
            for conc in plan.concurrencies:
                if endpoint == "openai" and conc not in (min(plan.concurrencies), max(plan.concurrencies)):
                    continue
                target = _target(endpoint, path)
                system = f"service-{workers}w"
                point = measure(
                    system, server.url, server.proc.pid, llm.pid, latency, endpoint, target, conc, plan
                )
                ref_rps = ceiling.get((ref_endpoint, conc))
                point.ratio = round(point.rps / ref_rps, 3) if ref_rps else None
                points.append(point)
                print_point(point)
    return points


def run_matrix(plan: Plan, work: Path) -> list[Point]:
    points: list[Point] = []
    print(
        "system       stub endpoint conc     req/s   p50 ms   p95 ms   p99 ms errors   rss MB"
        " cpu/req vs-ceiling gen+stub"
    )
    for latency in plan.latencies_ms:
        with stub_llm(latency, work / f"stub-{latency}.log") as llm:
            reference = measure_reference(plan, work, llm, latency)
            ceiling = {(p.endpoint, p.concurrency): p.rps for p in reference}
            points += reference
            for workers in plan.workers:
                points += measure_service(plan, work, llm, latency, workers, ceiling)
    return points


# The service's side of the alternating bursts: the report operators read, and the two probes a
# balancer and Docker call every few seconds on every backend.
PROBE_PATHS = {"health": "/health", "live": "/health/live", "ready": "/health/ready"}


def probes_vs_constant(plan: Plan, work: Path) -> dict[str, dict[str, float]]:
    """/health, /health/live and /health/ready of the service against the bare constant endpoint.

    Both servers run side by side and take turns in short bursts, so a change of CPU clock or a
    neighbour's load during the run hits every side alike: the separate matrix points above drift
    by 30% between runs.
    """
    data_dir, ref_dir = work / "probe-svc", work / "probe-ref"
    data_dir.mkdir()
    ref_dir.mkdir()
    with (
        stub_llm(0, work / "stub-probe.log") as llm,
        reference_app(service_env(llm.url, ref_dir), work / "reference-probe.log") as ref,
        platform_server(service_env(llm.url, data_dir), work / "service-probe.log", 1) as server,
    ):
        assert server.proc is not None
        wait_for(f"{server.url}/health/ready")
        sides = {name: (server.url, path, server.proc.pid) for name, path in PROBE_PATHS.items()}
        sides["constant"] = (ref.url, "/constant", ref.pid)
        totals = {name: {"requests": 0.0, "seconds": 0.0, "cpu_s": 0.0, "errors": 0.0} for name in sides}
        for round_no in range(plan.probe_rounds + 1):
            for name, (url, path, pid) in sides.items():
                config = LoadConfig(
                    base_url=url,
                    targets=[Target("GET", path)],
                    concurrency=PROBE_CONCURRENCY,
                    duration_s=plan.probe_burst_s,
                    max_requests=plan.max_requests,
                )
                cpu_before = tree_cpu_seconds(pid)
                summary = asyncio.run(run_load(config))
                if round_no == 0:
                    continue  # warm-up round
                total = totals[name]
                total["requests"] += summary["requests"]
                total["seconds"] += summary["elapsed_s"]
                total["cpu_s"] += tree_cpu_seconds(pid) - cpu_before
                total["errors"] += summary["failures"]
    constant_rps = totals["constant"]["requests"] / totals["constant"]["seconds"]
    return {
        name: {
            "rps": round(t["requests"] / t["seconds"], 1),
            "ratio": round(t["requests"] / t["seconds"] / constant_rps, 3),
            "cpu_ms_per_req": round(t["cpu_s"] * 1000 / max(1.0, t["requests"]), 4),
            "errors": t["errors"],
        }
        for name, t in totals.items()
    }


def print_probes(probes: dict[str, dict[str, float]]) -> None:
    print(f"probes vs the bare constant endpoint, alternating bursts at c={PROBE_CONCURRENCY}, 1 worker:")
    print("  endpoint          req/s  vs-constant  cpu/req ms  errors")
    for name, figures in probes.items():
        path = PROBE_PATHS.get(name, "/constant (bare)")
        print(
            f"  {path:<16} {figures['rps']:>6.0f} {figures['ratio']:>11.0%} "
            f"{figures['cpu_ms_per_req']:>11.3f} {figures['errors']:>7.0f}"
        )


def _tag() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


def _poll_ready(client: httpx.Client, url: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll `url` every 20 ms until it answers 200, on one client.

    A client per poll (``httpx.get``) builds a TLS context each time, about 60 ms of CPU: polling
    that way keeps a core busy beside the server whose start it times, on a machine of two.
    """
    deadline = time.monotonic() + COLD_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before {url} answered")
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url} did not answer 200 within {COLD_START_TIMEOUT_S} s")


def cold_start(plan: Plan, work: Path) -> tuple[list[float], list[float]]:
    """Seconds from spawning `langchain-platform serve` to the first 200 from /health/ready.

    Also the CPU seconds the server used until then: on an idle machine the wall time is about
    that, on a busy one the wall time mostly measures the neighbours.
    """
    times, cpu = [], []
    with stub_llm(0, work / "stub-cold.log") as llm, httpx.Client(timeout=1.0) as client:
        data_dir = work / "cold"
        data_dir.mkdir()
        for _ in range(plan.cold_starts):
            server = platform_server(service_env(llm.url, data_dir), work / "cold.log", 1)
            started = time.monotonic()
            server.start(wait=False)
            try:
                assert server.proc is not None
                _poll_ready(client, f"{server.url}/health/ready", server.proc)
                times.append(round(time.monotonic() - started, 3))
                cpu.append(round(tree_cpu_seconds(server.proc.pid), 2))
            finally:
                server.stop()
    return times, cpu


def rss_over_time(plan: Plan, work: Path) -> list[tuple[float, float]]:
    """(seconds, RSS MB) of one worker under agent load at concurrency 16 for `plan.rss_run_s`."""
    samples: list[tuple[float, float]] = []
    with stub_llm(0, work / "stub-rss.log") as llm:
        data_dir = work / "rss"
        data_dir.mkdir()
        with platform_server(service_env(llm.url, data_dir), work / "rss.log", 1) as server:
            assert server.proc is not None
            pid = server.proc.pid
            config = LoadConfig(
                base_url=server.url,
                targets=[agent_target(f"/api/enterprise/agents/{BENCH_AGENT}/invoke", _tag())],
                headers={"X-API-Key": BENCH_API_KEY},
                concurrency=16,
                duration_s=plan.rss_run_s,
                max_requests=10_000_000,
                timeout_s=30.0,
            )
            start = time.monotonic()
            done = threading.Event()
            with LoadRun(config) as run:
                while time.monotonic() - start < plan.rss_run_s and not done.is_set():
                    samples.append((round(time.monotonic() - start, 1), tree_rss_mb(pid)))
                    done.wait(1.0)
            summary = run.result()
            print(
                f"rss run: {summary['requests']} agent runs, {summary['failures']} failures, "
                f"{summary['rps']} req/s over {summary['elapsed_s']} s"
            )
    return samples


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool | None  # None: could not be measured, or a figure printed for the reader only
    detail: str
    info: bool = False  # not a target of the issue


def _find(points: list[Point], system: str, latency: int, endpoint: str, conc: int) -> Point | None:
    return next(
        (
            p
            for p in points
            if (p.system, p.latency_ms, p.endpoint, p.concurrency) == (system, latency, endpoint, conc)
        ),
        None,
    )


def verdicts(
    plan: Plan,
    points: list[Point],
    cold: list[float],
    cold_cpu: list[float],
    rss: list[tuple[float, float]],
    image: dict[str, Any] | None,
    probes: dict[str, dict[str, float]],
) -> list[Verdict]:
    result = []
    low, high = min(plan.concurrencies), max(plan.concurrencies)
    for latency in plan.latencies_ms:
        svc = _find(points, "service-1w", latency, "agent", low)
        ref = _find(points, "reference", latency, "agent", low)
        if svc and ref:
            stub_ms = LLM_CALLS_PER_RUN * latency
            ours, bare = svc.p50_ms - stub_ms, ref.p50_ms - stub_ms
            result.append(
                Verdict(
                    f"agent-run overhead within 10% of bare ceiling (stub {latency} ms, c={low})",
                    ours <= 1.10 * bare,
                    f"service p50 {svc.p50_ms:.1f} ms - stub {stub_ms} ms = {ours:.1f} ms; "
                    f"bare {ref.p50_ms:.1f} - {stub_ms} = {bare:.1f} ms; "
                    f"ratio {ours / bare if bare else float('nan'):.2f}",
                )
            )
            # Server CPU per run, for the reader: not the target, and only as steady as the CPU
            # clock between the reference's turn and the service's (it moved 15% between runs here).
            result.append(
                Verdict(
                    f"  (info) server CPU per run (stub {latency} ms, c={low})",
                    None,
                    f"{svc.cpu_ms_per_req:.1f} vs {ref.cpu_ms_per_req:.1f} ms = "
                    f"{svc.cpu_ms_per_req / ref.cpu_ms_per_req if ref.cpu_ms_per_req else float('nan'):.2f}x",
                    info=True,
                )
            )
    result += bare_graph_verdicts(plan, points)
    result += openai_front_verdicts(plan, points)
    for name, path in PROBE_PATHS.items() if probes else ():
        probe, const = probes[name], probes["constant"]
        result.append(
            Verdict(
                f"{path} rate >= 90% of bare constant endpoint (alternating bursts, c={PROBE_CONCURRENCY}, "
                "1 worker)",
                probe["ratio"] >= 0.9 and probe["errors"] == 0,
                f"{probe['rps']:.0f} vs {const['rps']:.0f} req/s = {probe['ratio']:.0%}",
            )
        )
        probe_cpu, const_cpu = probe["cpu_ms_per_req"], const["cpu_ms_per_req"]
        measured = probe_cpu > 0 and const_cpu > 0  # a smoke run is shorter than a clock tick
        result.append(
            Verdict(
                "  same, by server CPU per request",
                const_cpu >= 0.9 * probe_cpu if measured else None,
                f"{path} {probe_cpu:.3f} ms vs constant {const_cpu:.3f} ms"
                + (f": at most {const_cpu / probe_cpu:.0%} of its rate" if measured else ""),
            )
        )
    at_high = [p for p in points if p.concurrency == high and p.system.startswith("service")]
    errors = sum(p.errors for p in at_high)
    if at_high:
        result.append(
            Verdict(
                f"no errors at concurrency {high}", errors == 0, f"{errors} errors over {len(at_high)} runs"
            )
        )
    if len(rss) >= 3:
        start, middle, end = rss[0][1], rss[len(rss) // 2][1], rss[-1][1]
        # Start-to-middle includes warm-up (imports, caches); growth after that is what leaks.
        flat = end <= middle * 1.05 + 5
        result.append(
            Verdict(
                f"RSS flat over a {plan.rss_run_s:.0f} s agent run (end <= middle + 5% + 5 MB)",
                flat,
                f"start {start} MB, middle {middle} MB, end {end} MB",
            )
        )
    if cold:
        median = statistics.median(cold)
        result.append(
            Verdict(
                "cold start to /health/ready <= 2.0 s (median)",
                median <= 2.0,
                f"median {median:.2f} s of {cold}; server CPU median {statistics.median(cold_cpu):.2f} s",
            )
        )
    if image is None:
        result.append(Verdict("app layer <= 150 MB", None, "image not built (run lab/setup.sh)"))
    else:
        result.append(
            Verdict(
                "app layer <= 150 MB",
                image["app_mb"] <= 150,
                f"{image['image']}: {image['total_mb']} MB = base {image['base']} {image['base_mb']} MB "
                f"+ app {image['app_mb']} MB",
            )
        )
    if 2 in plan.workers:
        latency = min(plan.latencies_ms)
        two = _find(points, "service-2w", latency, "agent", high)
        ref = _find(points, "reference", latency, "agent", high)
        if two and ref:
            result.append(
                Verdict(
                    f"2 workers agent rate at c={high} >= 1.8x 1-worker bare ceiling (stub {latency} ms)",
                    two.rps >= 1.8 * ref.rps,
                    f"{two.rps:.1f} vs {ref.rps:.1f} req/s = {two.rps / ref.rps:.2f}x",
                )
            )
            # What this machine allows: 2 cores shared by the workers, the load generator and the stub.
            per_run = two.cpu_ms_per_req + two.load_cpu_ms_per_req
            if per_run > 0:
                most = 2000 / per_run
                result.append(
                    Verdict(
                        "  (info) 2 cores at most, for the server's and the load's CPU per run",
                        None,
                        f"{two.cpu_ms_per_req:.1f} + {two.load_cpu_ms_per_req:.1f} ms: {most:.1f} req/s "
                        f"= {most / ref.rps:.2f}x",
                        info=True,
                    )
                )
    return result


def bare_graph_verdicts(plan: Plan, points: list[Point]) -> list[Verdict]:
    """One worker against the bare graph: p50 and rate against the graph without state, and the rate
    against the graph on the same SQLite checkpointer (the service should add nothing beyond state)."""
    result = []
    low, high = min(plan.concurrencies), max(plan.concurrencies)
    for latency in plan.latencies_ms:
        svc_low, svc_high = (_find(points, "service-1w", latency, "agent", c) for c in (low, high))
        bare_low, bare_high = (_find(points, "reference", latency, "nostate", c) for c in (low, high))
        sqlite_high = _find(points, "reference", latency, "agent", high)
        if svc_low and bare_low and bare_low.p50_ms:
            ratio = svc_low.p50_ms / bare_low.p50_ms
            result.append(
                Verdict(
                    f"agent p50 <= 1.15x the graph without state (stub {latency} ms, c={low})",
                    ratio <= 1.15,
                    f"{svc_low.p50_ms:.1f} vs {bare_low.p50_ms:.1f} ms = {ratio:.2f}x",
                )
            )
        if svc_high and bare_high and bare_high.rps:
            ratio = svc_high.rps / bare_high.rps
            result.append(
                Verdict(
                    f"agent rate >= 0.9x the graph without state (stub {latency} ms, c={high})",
                    ratio >= 0.9,
                    f"{svc_high.rps:.1f} vs {bare_high.rps:.1f} req/s = {ratio:.2f}x",
                )
            )
        if svc_high and sqlite_high and sqlite_high.rps:
            ratio = svc_high.rps / sqlite_high.rps
            result.append(
                Verdict(
                    f"agent rate >= 1.0x the graph on its SQLite checkpointer (stub {latency} ms, c={high})",
                    ratio >= 1.0,
                    f"{svc_high.rps:.1f} vs {sqlite_high.rps:.1f} req/s = {ratio:.2f}x",
                )
            )
    return result


def openai_front_verdicts(plan: Plan, points: list[Point]) -> list[Verdict]:
    """/v1/chat/completions against /invoke on one worker: p50 at the lowest concurrency, rate at the highest.

    Both ratios read "how much slower the OpenAI front is"; the target is at most 1.05.
    """
    result = []
    low, high = min(plan.concurrencies), max(plan.concurrencies)
    for latency in plan.latencies_ms:
        for conc, figure in ((low, "p50"), (high, "rate")):
            invoke = _find(points, "service-1w", latency, "agent", conc)
            front = _find(points, "service-1w", latency, "openai", conc)
            if not (invoke and front and invoke.p50_ms and front.rps):
                continue  # not measured, or nothing answered
            if figure == "p50":
                ratio, detail = front.p50_ms / invoke.p50_ms, f"{front.p50_ms:.1f} vs {invoke.p50_ms:.1f} ms"
            else:
                ratio, detail = invoke.rps / front.rps, f"{front.rps:.1f} vs {invoke.rps:.1f} req/s"
            result.append(
                Verdict(
                    f"/v1/chat/completions {figure} within 1.05x of /invoke (stub {latency} ms, c={conc})",
                    ratio <= 1.05,
                    f"{detail} = {ratio:.2f}x",
                )
            )
    return result


def image_figures() -> dict[str, Any] | None:
    image = f"langchain-platform:{version('langchain-platform')}"
    base = tagged_ancestor(image)
    split = image_split(image, base) if base else None
    if split is None:
        return None
    return {**asdict(split), "app_mb": split.app_mb}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run for the test suite")
    parser.add_argument("--duration", type=float, help="seconds per measured point")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="measure only this part (repeatable); default: all"
    )
    args = parser.parse_args(argv)
    parts = set(args.only or PARTS)
    plan = QUICK if args.quick else FULL
    if args.duration:
        plan = Plan(**{**asdict(plan), "duration_s": args.duration})
    started = time.monotonic()
    # Other work on the machine skews every figure: say how busy it was.
    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="service-bench-") as tmp:
        work = Path(tmp)
        points = run_matrix(plan, work) if "matrix" in parts else []
        probes = probes_vs_constant(plan, work) if "probes" in parts else {}
        if probes:
            print_probes(probes)
        cold, cold_cpu = cold_start(plan, work) if "cold" in parts else ([], [])
        if cold:
            print(f"cold start to /health/ready (s): {cold}; median {statistics.median(cold):.2f}")
            print(f"cold start server CPU (s): {cold_cpu}; median {statistics.median(cold_cpu):.2f}")
        rss = rss_over_time(plan, work) if "rss" in parts else []
        if rss:
            start, middle, end = rss[0], rss[len(rss) // 2], rss[-1]
            print(f"RSS over the run (s, MB): start {start}, middle {middle}, end {end}")
    image = image_figures()
    if image is None:
        print("image: langchain-platform image or its base not found; size split skipped")
    else:
        print(
            f"image {image['image']}: {image['total_mb']} MB; "
            f"base {image['base']} {image['base_mb']} MB; app {image['app_mb']} MB"
        )
        for created, size in image["app_layers"]:
            print(f"    {size:>8.1f} MB  {created}")
    print("targets:")
    results = verdicts(plan, points, cold, cold_cpu, rss, image, probes)
    for verdict in results:
        label = "    " if verdict.info else {True: "PASS", False: "MISS", None: "N/A "}[verdict.passed]
        print(f"  {label} {verdict.name}: {verdict.detail}")
    print(f"load average at end: {os.getloadavg()}")
    print(f"total bench time {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "points": [asdict(p) for p in points],
                    "cold_start_s": cold,
                    "cold_start_cpu_s": cold_cpu,
                    "rss": rss,
                    "probes_vs_constant": probes,
                    "image": image,
                    "targets": [asdict(v) for v in results],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
