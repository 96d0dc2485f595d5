"""What the service's request path costs, without the network: direct ASGI calls, CPU per request.

Calls the service app (its lifespan run, SQLite state in a temporary directory, auth on) and a bare
Litestar app with one constant endpoint straight through ASGI, many times, and prints the CPU
microseconds per request, the best of several rounds. Without uvicorn and sockets in the figure, what
is left is the framework, our request observer (request id, metrics), the API-key gate and the
handler, which is where `/health` loses to the bare constant endpoint in bench/service_bench.py.

    .venv/bin/python -m bench.request_path [--requests 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Message

from bench.subjects import BENCH_AGENTS, BENCH_API_KEY


@get("/constant", sync_to_thread=False)
def constant() -> dict[str, str]:
    return {"status": "ok"}


async def cpu_us_per_request(app: ASGIApp, path: str, requests: int) -> float:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", BENCH_API_KEY.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(requests):
        await app(dict(scope), receive, send)  # type: ignore[arg-type]
    spent = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"{path} answered {sorted(set(statuses))}, not only 200")
    return spent / requests * 1e6


async def measure(requests: int, rounds: int) -> dict[str, float]:
    from langchain_platform.app import create_app

    service = create_app()
    bare = Litestar(route_handlers=[constant], logging_config=None)
    cases: list[tuple[str, ASGIApp, str]] = [
        ("bare Litestar, constant", bare, "/constant"),
        ("service /health/live", service, "/health/live"),
        ("service /health/ready", service, "/health/ready"),
        ("service /health", service, "/health"),
        ("service /api/enterprise/agents", service, "/api/enterprise/agents"),
    ]
    best: dict[str, float] = {}
    async with AsyncTestClient(service):  # runs the lifespan: runtime, state, probe
        for round_no in range(rounds + 1):  # round 0 warms caches up and is not counted
            for name, app, path in cases:
                figure = await cpu_us_per_request(app, path, requests)
                if round_no > 0:
                    best[name] = min(figure, best.get(name, figure))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="request-path-") as tmp:
        os.environ.update(
            {
                "DATA_DIR": tmp,
                "CHECKPOINTER_URL": f"sqlite:///{Path(tmp) / 'state.sqlite'}",
                "API_KEY": BENCH_API_KEY,
                "OPENAI_API_KEY": "sk-bench-not-secret",  # no LLM call is made
                "AGENTS_CONFIG": str(BENCH_AGENTS),
                "LOG_LEVEL": "WARNING",
            }
        )
        best = asyncio.run(measure(args.requests, args.rounds))
    bare = best["bare Litestar, constant"]
    print(f"CPU per request, best of {args.rounds} rounds of {args.requests} direct ASGI calls:")
    for name, figure in best.items():
        print(f"  {name:<34} {figure:7.1f} us  (+{figure - bare:5.1f} us over the bare constant)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
