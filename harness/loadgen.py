"""Bounded HTTP load generator: the one used by benchmarks and the fleet tests.

Sends requests from a fixed set of targets with a fixed number of concurrent workers until a duration
limit, a request-count limit, or an explicit stop (whichever comes first), records every response and
summarises them as JSON: counts, failures, 409 conflicts, latency percentiles, and which upstream
answered (when the balancer names it in a response header).

Library use while something else runs (a playbook, a fault)::

    with LoadRun(LoadConfig(base_url="http://127.0.0.1:18080", targets=[Target("GET", "/health")])) as run:
        run_playbook(PROJECT / "playbooks" / "deploy.yml", inventory)
    summary = run.result()

CLI use::

    python -m harness.loadgen http://127.0.0.1:8000 --target "GET /health" --duration 10 --max-requests 500

Load goes only to loopback unless a host is named with ``--allow-host`` (the project's own test hosts).

Each worker speaks HTTP/1.1 over its own keep-alive connection with the small client below rather than
httpx: httpx spent 1.5 ms of CPU per request at concurrency 1 and 10 ms at 64 (pool contention), so
the generator, not the server, set the figures on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

# What a transport failure looks like to a worker: refused, reset, closed early, timed out, garbled.
TRANSPORT_ERRORS = (OSError, EOFError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError)

# Placeholder replaced in a target's body by the request's sequence number, so that concurrent
# agent invocations can use distinct thread ids instead of colliding (409) on one thread.
SEQ_PLACEHOLDER = "{seq}"


class TargetNotAllowedError(ValueError):
    """The base URL names a host that is neither loopback nor explicitly allowed."""


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    body: str | None = None  # JSON text; may hold SEQ_PLACEHOLDER

    @classmethod
    def parse(cls, spec: str) -> Target:
        """Parse ``"METHOD /path [json body]"``, the CLI form."""
        parts = spec.strip().split(" ", 2)
        if len(parts) < 2 or not parts[1].startswith("/"):
            raise ValueError(f"target {spec!r}: expected 'METHOD /path [json body]'")
        body = parts[2] if len(parts) == 3 else None
        if body is not None:
            json.loads(body.replace(SEQ_PLACEHOLDER, "0"))  # fail early on a malformed body
        return cls(parts[0].upper(), parts[1], body)

    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Sample:
    target: str
    started: float  # seconds since the run started
    latency_s: float
    status: int | None  # None: no HTTP response (transport error)
    error: str | None = None
    upstream: str | None = None

    @property
    def is_conflict(self) -> bool:
        return self.status == 409

    @property
    def is_failure(self) -> bool:
        """A transport error or a non-2xx answer; a 409 (busy thread) is counted apart."""
        if self.status is None:
            return True
        return not (200 <= self.status < 300) and not self.is_conflict


@dataclass
class LoadConfig:
    base_url: str
    targets: Sequence[Target]
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 4
    duration_s: float = 30.0
    max_requests: int = 1000
    timeout_s: float = 10.0
    rate_per_s: float | None = None  # aggregate cap; None: as fast as the workers go
    upstream_header: str = "X-Served-By"
    allow_hosts: Sequence[str] = ()

    def validate(self) -> None:
        if not self.targets:
            raise ValueError("at least one target is needed")
        if self.concurrency < 1 or self.max_requests < 1:
            raise ValueError("concurrency and max_requests must be >= 1")
        if not 0 < self.duration_s <= 3600:
            raise ValueError("duration_s must be in (0, 3600]")
        if self.rate_per_s is not None and self.rate_per_s <= 0:
            raise ValueError("rate_per_s must be > 0")
        if urlsplit(self.base_url).scheme != "http":
            raise ValueError(f"{self.base_url!r}: only http:// is supported (a test host or balancer)")
        check_host_allowed(self.base_url, self.allow_hosts)


def check_host_allowed(base_url: str, allow_hosts: Sequence[str]) -> None:
    """Refuse to load anything but loopback or a host the operator named explicitly."""
    host = urlsplit(base_url).hostname
    if host is None:
        raise TargetNotAllowedError(f"{base_url!r} has no host")
    if host == "localhost" or host in allow_hosts:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise TargetNotAllowedError(f"{host} is not loopback; name it with --allow-host if it is a test host")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def unavailable_seconds(samples: Sequence[Sample]) -> float:
    """How long the target failed requests: each outage runs from the start of a failed request to
    the start of the next successful one (or to the end of the last failure, if none came)."""
    total, since, last_end = 0.0, None, 0.0
    for sample in sorted(samples, key=lambda s: s.started):
        if sample.is_failure:
            since = sample.started if since is None else since
            last_end = max(last_end, sample.started + sample.latency_s)
        elif since is not None:
            total += sample.started - since
            since = None
    if since is not None:
        total += last_end - since
    return total


def summarize(samples: Sequence[Sample], elapsed_s: float) -> dict[str, Any]:
    latencies = [s.latency_s for s in samples]
    failures = [s for s in samples if s.is_failure]
    return {
        "requests": len(samples),
        "ok": sum(1 for s in samples if s.status is not None and 200 <= s.status < 300),
        "failures": len(failures),
        "conflicts_409": sum(1 for s in samples if s.is_conflict),
        "transport_errors": sum(1 for s in samples if s.status is None),
        "status_counts": {str(k): v for k, v in sorted(Counter(s.status for s in samples).items(), key=str)},
        "upstreams": dict(sorted(Counter(s.upstream or "-" for s in samples).items())),
        "latency_ms": {
            "p50": _ms(percentile(latencies, 50)),
            "p95": _ms(percentile(latencies, 95)),
            "p99": _ms(percentile(latencies, 99)),
            "max": _ms(max(latencies, default=None)),
        },
        "elapsed_s": round(elapsed_s, 3),
        "unavailable_s": round(unavailable_seconds(samples), 3),
        "rps": round(len(samples) / elapsed_s, 2) if elapsed_s > 0 else None,
        # The first failures say what went wrong without flooding the output.
        "failure_examples": [
            {
                "target": s.target,
                "status": s.status,
                "error": s.error,
                "upstream": s.upstream,
                "at_s": s.started,
            }
            for s in failures[:10]
        ],
    }


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection, opened on first use and again after any failure."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self._fixed_headers = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host_header, **headers}.items())
        self._timeout_s = timeout_s
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: str | None) -> Response:
        try:
            return await asyncio.wait_for(self._exchange(method, path, body), self._timeout_s)
        except BaseException:
            self.close()  # the connection is in an unknown state after any failure
            raise

    async def _exchange(self, method: str, path: str, body: str | None) -> Response:
        # A connection the server closed while idle (keep-alive timeout, balancer reload) is not reused.
        if self._streams is not None and self._streams[0].at_eof():
            self.close()
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        payload = body.encode() if body is not None else b""
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\n{self._fixed_headers}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + payload)
        response = await self._read_response(reader, head_only=method == "HEAD")
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader, head_only: bool) -> Response:
        status_line = await reader.readline()
        if not status_line:
            raise EOFError("server closed the connection without an answer")
        version, _, rest = status_line.decode("latin-1").partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (204, 304) or status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while size := int((await reader.readline()).split(b";", 1)[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            while await reader.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:  # delimited by the server closing the connection
            body = await reader.read()
            headers["connection"] = "close"
        return Response(status, headers, body)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def run_load(config: LoadConfig, stop: threading.Event | None = None) -> dict[str, Any]:
    """Run the load until a limit or ``stop`` is reached; return the summary."""
    config.validate()
    stop = stop or threading.Event()
    samples: list[Sample] = []
    issued = 0
    start = time.monotonic()
    deadline = start + config.duration_s
    upstream_header = config.upstream_header.lower()

    def next_seq() -> int | None:
        # Single event loop: no lock needed between the check and the increment.
        nonlocal issued
        if stop.is_set() or issued >= config.max_requests or time.monotonic() >= deadline:
            return None
        issued += 1
        return issued - 1

    async def one(connection: Connection, seq: int) -> None:
        target = config.targets[seq % len(config.targets)]
        body = target.body.replace(SEQ_PLACEHOLDER, str(seq)) if target.body is not None else None
        sent = time.monotonic()
        try:
            response = await connection.request(target.method, target.path, body)
        except TRANSPORT_ERRORS as exc:
            timed_out = isinstance(exc, asyncio.TimeoutError)
            reason = str(exc) or ("no answer in time" if timed_out else "connection failed")
            samples.append(
                Sample(
                    target.label(),
                    sent - start,
                    time.monotonic() - sent,
                    None,
                    f"{type(exc).__name__}: {reason}",
                )
            )
            return
        ok = 200 <= response.status < 300
        samples.append(
            Sample(
                target.label(),
                sent - start,
                time.monotonic() - sent,
                response.status,
                None if ok else response.body[:200].decode(errors="replace"),
                response.headers.get(upstream_header),
            )
        )

    async def worker() -> None:
        connection = Connection(config.base_url, config.headers, config.timeout_s)
        try:
            while (seq := next_seq()) is not None:
                if config.rate_per_s is not None:
                    await asyncio.sleep(max(0.0, start + seq / config.rate_per_s - time.monotonic()))
                    if stop.is_set():
                        return
                await one(connection, seq)
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(config.concurrency)))
    samples.sort(key=lambda s: s.started)
    return summarize(samples, time.monotonic() - start)


class LoadRun:
    """Run the load in a background thread for the duration of a ``with`` block."""

    def __init__(self, config: LoadConfig) -> None:
        config.validate()
        self._config = config
        self._stop = threading.Event()
        self._result: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="loadgen", daemon=True)

    def _main(self) -> None:
        try:
            self._result = asyncio.run(run_load(self._config, self._stop))
        except BaseException as exc:  # re-raised in result(); a thread cannot raise to its caller
            self._error = exc

    def __enter__(self) -> LoadRun:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        # In-flight requests finish within the per-request timeout.
        self._thread.join(self._config.timeout_s + 5)

    def result(self) -> dict[str, Any]:
        if self._thread.is_alive():
            raise RuntimeError("load run still going: leave the with block (or call stop()) first")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def _parse_args(argv: Sequence[str]) -> LoadConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--target",
        action="append",
        required=True,
        help="'METHOD /path [json body]'; repeat for a mix; {seq} in a body becomes the request number",
    )
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--api-key", help="sent as X-API-Key")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds, at most 3600")
    parser.add_argument("--max-requests", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--rate", type=float, help="aggregate requests per second cap")
    parser.add_argument("--upstream-header", default="X-Served-By")
    parser.add_argument("--allow-host", action="append", default=[], help="a non-loopback test host")
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    if args.api_key:
        headers["X-API-Key"] = args.api_key
    return LoadConfig(
        base_url=args.base_url,
        targets=[Target.parse(t) for t in args.target],
        headers=headers,
        concurrency=args.concurrency,
        duration_s=args.duration,
        max_requests=args.max_requests,
        timeout_s=args.timeout,
        rate_per_s=args.rate,
        upstream_header=args.upstream_header,
        allow_hosts=args.allow_host,
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = _parse_args(sys.argv[1:] if argv is None else argv)
        config.validate()
    except ValueError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    summary = asyncio.run(run_load(config))
    print(json.dumps(summary, indent=2))
    return 0 if summary["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
