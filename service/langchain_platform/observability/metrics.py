"""Prometheus metrics: the objects other modules update, and the ``/metrics`` exposition.

With several uvicorn workers each process holds its own counters, so when ``PROMETHEUS_MULTIPROC_DIR``
is set (``langchain-platform serve --workers N`` sets it) prometheus_client writes them to files there
and ``/metrics`` merges every worker's files, whichever worker answers the scrape.
"""

from __future__ import annotations

import os

from litestar import Response, get
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from langchain_platform.observability.metrics_dir import MULTIPROC_ENV

# The *_created series double the output and no dashboard here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)

http_requests_total = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
http_request_duration_seconds = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
agent_run_duration_seconds = Histogram(
    "agent_run_duration_seconds",
    "Duration of a whole agent run; outcome is ok, error, timeout or cancelled",
    ["agent", "outcome"],
    buckets=_RUN_BUCKETS,
)
llm_call_duration_seconds = Histogram(
    "llm_call_duration_seconds", "Latency of one LLM call", ["model"], buckets=_RUN_BUCKETS
)
llm_errors_total = Counter("llm_errors_total", "Failed LLM calls, by error kind", ["model", "kind"])
llm_tokens_total = Counter(
    "llm_tokens_total", "LLM tokens used; direction is input or output", ["model", "direction"]
)
agent_runs_in_flight = Gauge("agent_runs_in_flight", "Agent runs executing now", multiprocess_mode="livesum")


class HttpMetrics:
    """The two per-request series, with each label set's child looked up once.

    ``labels()`` validates and locks on every call; routes are templates and statuses few, so the
    children are cached for the life of the process.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], Counter] = {}
        self._durations: dict[tuple[str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = http_requests_total.labels(method=method, route=route, status=str(status))
            self._counts[(method, route, status)] = count
        count.inc()
        duration = self._durations.get((method, route))
        if duration is None:
            duration = http_request_duration_seconds.labels(method=method, route=route)
            self._durations[(method, route)] = duration
        duration.observe(seconds)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def mark_worker_dead(pid: int) -> None:
    """Drop a stopping worker's live gauges from the merged view."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def render() -> bytes:
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_endpoint() -> Response[bytes]:
    return Response(content=render(), media_type=CONTENT_TYPE_LATEST)
