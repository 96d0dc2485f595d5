"""harness/loadgen.py: its statistics, its guards, and a bounded run against a real loopback server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harness import loadgen


def sample(status: int | None, latency_s: float = 0.01, upstream: str | None = None) -> object:
    return loadgen.Sample("GET /x", 0.0, latency_s, status, None if status == 200 else "e", upstream)


# --- statistics -------------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert loadgen.percentile(values, 0) == 1.0
    assert loadgen.percentile(values, 100) == 10.0
    assert loadgen.percentile(values, 50) == pytest.approx(5.5)
    # rank = 9 * 0.95 = 8.55 -> 9 + 0.55 * (10 - 9)
    assert loadgen.percentile(values, 95) == pytest.approx(9.55)
    assert loadgen.percentile(values, 99) == pytest.approx(9.91)


def test_percentile_is_order_independent_and_handles_edges() -> None:
    assert loadgen.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert loadgen.percentile([7.0], 99) == 7.0
    assert loadgen.percentile([], 50) is None
    with pytest.raises(ValueError, match="q must be"):
        loadgen.percentile([1.0], 101)


def test_summary_separates_failures_conflicts_and_transport_errors() -> None:
    samples = [
        sample(200, 0.010, "app1_1"),
        sample(201, 0.020, "app2_1"),
        sample(409, 0.030, "app1_1"),
        sample(503, 0.040, "app2_1"),
        sample(None, 0.050),
        sample(302, 0.060, "app1_1"),
    ]
    summary = loadgen.summarize(samples, elapsed_s=2.0)
    assert summary["requests"] == 6
    assert summary["ok"] == 2
    assert summary["conflicts_409"] == 1
    assert summary["transport_errors"] == 1
    # 503, the transport error and the 302 fail; the 409 does not.
    assert summary["failures"] == 3
    assert summary["status_counts"] == {"200": 1, "201": 1, "302": 1, "409": 1, "503": 1, "None": 1}
    assert summary["upstreams"] == {"-": 1, "app1_1": 3, "app2_1": 2}
    assert summary["latency_ms"]["p50"] == pytest.approx(35.0)
    assert summary["latency_ms"]["max"] == pytest.approx(60.0)
    assert summary["rps"] == 3.0
    assert [f["status"] for f in summary["failure_examples"]] == [503, None, 302]


def test_unavailability_spans_each_run_of_failures() -> None:
    def at(started: float, status: int | None, latency_s: float = 0.1) -> object:
        return loadgen.Sample("GET /x", started, latency_s, status)

    # Out from 1.0 until the 409 at 2.5 (an answer: the service is up, the thread busy); from 3.0
    # until the success at 3.5; from 5.0 to the end of the last failure (6.0 + 0.5).
    samples = [at(0.0, 200), at(1.0, 503), at(2.0, None), at(2.5, 409), at(3.0, 502), at(3.5, 200)]
    samples += [at(4.0, 200), at(5.0, None), at(6.0, None, 0.5)]
    assert loadgen.unavailable_seconds(samples[::-1]) == pytest.approx(1.5 + 0.5 + 1.5)
    assert loadgen.summarize(samples, elapsed_s=7.0)["unavailable_s"] == pytest.approx(3.5)
    assert loadgen.unavailable_seconds([at(0.0, 200), at(1.0, 200)]) == 0.0


def test_summary_of_nothing() -> None:
    summary = loadgen.summarize([], elapsed_s=0.0)
    assert summary["requests"] == 0
    assert summary["failures"] == 0
    assert summary["latency_ms"]["p99"] is None
    assert summary["rps"] is None


# --- guards -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:80"])
def test_loopback_targets_are_allowed(url: str) -> None:
    loadgen.check_host_allowed(url, ())


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "https://example.com", "http://172.18.0.3"])
def test_other_hosts_are_refused_unless_named(url: str) -> None:
    with pytest.raises(loadgen.TargetNotAllowedError):
        loadgen.check_host_allowed(url, ())
    host = url.split("//")[1].split(":")[0]
    loadgen.check_host_allowed(url, (host,))


def test_target_parsing() -> None:
    target = loadgen.Target.parse('post /api/x {"input": "hi", "thread_id": "t-{seq}"}')
    assert (target.method, target.path) == ("POST", "/api/x")
    assert target.body == '{"input": "hi", "thread_id": "t-{seq}"}'
    assert loadgen.Target.parse("GET /health").body is None
    with pytest.raises(ValueError, match="expected"):
        loadgen.Target.parse("GET health")
    with pytest.raises(json.JSONDecodeError):
        loadgen.Target.parse("POST /x {not json")


def test_config_limits_are_checked() -> None:
    base = {"base_url": "http://127.0.0.1:1", "targets": [loadgen.Target("GET", "/")]}
    with pytest.raises(ValueError, match="duration"):
        loadgen.LoadConfig(**base, duration_s=0).validate()
    with pytest.raises(ValueError, match="concurrency"):
        loadgen.LoadConfig(**base, concurrency=0).validate()
    with pytest.raises(ValueError, match="target"):
        loadgen.LoadConfig(base_url="http://127.0.0.1:1", targets=[]).validate()


# --- a real run against a loopback server -----------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[bytes] = []

    def _answer(self, status: int) -> None:
        payload = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Served-By", "stub_1")
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer({"/ok": 200, "/busy": 409}.get(self.path, 500))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(self.rfile.read(length))
        self._answer(200 if self.headers.get("X-API-Key") == "k" else 401)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    _Handler.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_request_limit_bounds_a_run(server_url: str) -> None:
    config = loadgen.LoadConfig(
        base_url=server_url,
        targets=[
            loadgen.Target("GET", "/ok"),
            loadgen.Target("GET", "/busy"),
            loadgen.Target("POST", "/invoke", '{"thread_id": "t-{seq}"}'),
        ],
        headers={"X-API-Key": "k"},
        concurrency=3,
        max_requests=30,
        duration_s=30,
    )
    summary = asyncio.run(loadgen.run_load(config))
    assert summary["requests"] == 30
    assert summary["status_counts"] == {"200": 20, "409": 10}
    assert summary["failures"] == 0
    assert summary["upstreams"] == {"stub_1": 30}
    # Each POST carried its own sequence number.
    assert sorted(_Handler.bodies) == sorted(f'{{"thread_id": "t-{n}"}}'.encode() for n in range(2, 30, 3))


def test_load_run_stops_when_the_block_ends_and_counts_transport_errors(server_url: str) -> None:
    config = loadgen.LoadConfig(
        base_url=server_url,
        targets=[loadgen.Target("GET", "/ok")],
        concurrency=2,
        max_requests=100_000,
        duration_s=60,
        rate_per_s=50,
    )
    began = time.monotonic()
    with loadgen.LoadRun(config) as run:
        time.sleep(0.5)
    summary = run.result()
    assert time.monotonic() - began < 5
    assert 5 <= summary["requests"] <= 40  # ~25 at 50/s for 0.5 s, well under the request limit
    assert summary["failures"] == 0

    # Nothing listens on port 1: every request is a transport error, and a failure.
    dead = loadgen.LoadConfig(
        base_url="http://127.0.0.1:1", targets=[loadgen.Target("GET", "/")], max_requests=3, concurrency=1
    )
    with loadgen.LoadRun(dead) as run:
        pass
    failed = run.result()
    assert failed["requests"] <= 3
    assert failed["transport_errors"] == failed["failures"] == failed["requests"]


def test_cli_prints_json_and_exit_code_reflects_failures(
    server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert loadgen.main([server_url, "--target", "GET /ok", "--max-requests", "5", "--concurrency", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] == 5
    assert loadgen.main([server_url, "--target", "GET /nope", "--max-requests", "2"]) == 1
    capsys.readouterr()
    assert loadgen.main(["http://192.0.2.1:80", "--target", "GET /"]) == 2
    assert "not loopback" in capsys.readouterr().err


# --- the HTTP/1.1 client: framing, keep-alive and reconnects, against a raw socket server ---------

_RAW_ANSWERS = {
    b"/length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Served-By: a\r\n\r\nhello",
    b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=1\r\nlo\r\n0\r\n\r\n",
    b"/close": b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbusy, try later",
    b"/garbage": b"SSH-2.0-OpenSSH\r\n\r\n",
}


class _RawServer:
    """Answers canned bytes per path; counts connections; `/hang` never answers; `/drop` closes."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while request_line := await reader.readline():
                while await reader.readline() not in (b"\r\n", b""):
                    pass
                path = request_line.split()[1]
                if path == b"/drop":
                    break
                if path == b"/hang":
                    await asyncio.sleep(30)
                writer.write(_RAW_ANSWERS[path])
                await writer.drain()
                if path in (b"/close", b"/garbage"):
                    break
        finally:
            writer.close()


def _raw_run(targets: list[str], **overrides: Any) -> tuple[dict[str, Any], _RawServer]:
    raw = _RawServer()

    async def main() -> dict[str, Any]:
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = loadgen.LoadConfig(
            base_url=f"http://127.0.0.1:{port}",
            targets=[loadgen.Target("GET", t) for t in targets],
            **{"concurrency": 1, "max_requests": 6, "duration_s": 30, **overrides},
        )
        async with server:
            summary: dict[str, Any] = await loadgen.run_load(config)
        return summary

    return asyncio.run(main()), raw


def test_client_reads_length_and_chunked_bodies_over_one_connection() -> None:
    summary, raw = _raw_run(["/length", "/chunked"])
    assert summary["status_counts"] == {"200": 6}
    assert summary["upstreams"] == {"-": 3, "a": 3}
    assert raw.connections == 1  # keep-alive: one connection for the whole run


def test_client_reconnects_after_the_server_closes() -> None:
    summary, raw = _raw_run(["/close", "/length"])
    assert summary["status_counts"] == {"200": 3, "503": 3}
    assert summary["failure_examples"][0]["error"] == "busy, try later"
    # Runs: close / length, close / length, close / length: a new connection after each close.
    assert raw.connections == 4


def test_client_reports_transport_failures_and_carries_on() -> None:
    summary, _ = _raw_run(["/drop", "/garbage", "/length"])
    assert summary["status_counts"] == {"200": 2, "None": 4}
    assert summary["transport_errors"] == 4
    errors = {e["error"].split(":")[0] for e in summary["failure_examples"]}
    assert errors == {"EOFError", "ValueError"}

    hung, _ = _raw_run(["/hang"], max_requests=1, timeout_s=0.3)
    assert hung["transport_errors"] == 1
    assert hung["failure_examples"][0]["error"] == "TimeoutError: no answer in time"


def test_only_plain_http_is_accepted() -> None:
    with pytest.raises(ValueError, match="only http://"):
        loadgen.LoadConfig(base_url="https://127.0.0.1:1", targets=[loadgen.Target("GET", "/")]).validate()
