"""Request-head size limits and slow senders, with raw sockets against a real `serve` process.

Each class of hostile input is checked on both sides of its limit where it has one: a header line,
the request target, the whole head (many headers, or very many tiny ones), a 96 MiB header (the
server must stop reading, so its memory does not grow); a silent connection, a head or a body sent
a byte at a time (on a new or a kept-alive connection, with Content-Length or chunked), twenty of
them at once while `/health/live` keeps answering other clients.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from langchain_platform.http_limits import LINGER_SECONDS
from langchain_platform.settings import Settings

from harness.platform_server import PlatformServer
from harness.procstats import rss_bytes
from tests.conftest import API_KEY, Launcher

LINE = Settings().http_max_header_line_bytes
TOTAL = Settings().http_max_header_bytes
HEAD_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
# Scheduling on a busy two-core machine: the limits themselves are what is asserted.
SLACK = 3.0
TRICKLE_INTERVAL = 0.1
INVOKE = "/api/enterprise/agents/assistant/invoke"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(HTTP_HEADER_TIMEOUT_SECONDS=str(HEAD_TIMEOUT), HTTP_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT))


# -- building heads of an exact size -------------------------------------------------------------


def request_head(target: str = "/health/live", headers: list[tuple[str, str]] | None = None) -> bytes:
    """A GET head in the canonical form (`name: value`, CRLF), which the limits count exactly."""
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def line_of(length: int, name: str = "X-Pad") -> tuple[str, str]:
    """A header whose line `name: value` is `length` bytes."""
    return name, "a" * (length - len(name) - 2)


def head_of(total: int) -> bytes:
    """A head of exactly `total` bytes, padded with header lines of at most LINE bytes each."""
    pads: list[tuple[str, str]] = []
    while True:
        missing = total - len(request_head(headers=pads))
        if missing == 0:
            return request_head(headers=pads)
        name = f"X-Pad-{len(pads)}"
        # A new line costs its length plus CRLF; keep the last one long enough to be well formed.
        length = min(LINE, missing - 2)
        assert length > len(name) + 2, "padding left too small to be a header line"
        pads.append(line_of(length, name))


def target_of(length: int) -> str:
    path = "/health/live?q="
    return path + "a" * (length - len(path))


# -- raw exchanges -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def read_answer(sock: socket.socket) -> Answer:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return Answer(response.status, response.headers, response.read())


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the server still accepts: it may answer and stop reading before the end."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def exchange(server: PlatformServer, data: bytes) -> Answer:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sender = threading.Thread(target=send_quietly, args=(sock, data))
        sender.start()
        answer = read_answer(sock)
        sender.join(timeout=30)
    return answer


def assert_refused(answer: Answer, status: int, detail: str) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    assert detail in answer.body.decode()


# -- sizes ---------------------------------------------------------------------------------------

BOUNDARIES = [
    pytest.param(request_head(headers=[line_of(LINE)]), 200, "", id="header line at the limit"),
    pytest.param(request_head(headers=[line_of(LINE + 1)]), 431, "HTTP_MAX_HEADER_LINE_BYTES", id="line +1"),
    pytest.param(request_head(headers=[line_of(LINE, "X-" + "n" * (LINE - 4))]), 200, "", id="long name"),
    pytest.param(
        request_head(headers=[line_of(LINE + 1, "X-" + "n" * (LINE - 3))]),
        431,
        "HTTP_MAX_HEADER_LINE_BYTES",
        id="long name +1",
    ),
    pytest.param(request_head(target_of(LINE)), 200, "", id="target at the limit"),
    pytest.param(request_head(target_of(LINE + 1)), 414, "HTTP_MAX_HEADER_LINE_BYTES", id="target +1"),
    pytest.param(head_of(TOTAL), 200, "", id="head at the limit"),
    pytest.param(head_of(TOTAL + 1), 431, "HTTP_MAX_HEADER_BYTES", id="head +1"),
    pytest.param(
        request_head(headers=[(f"h{i}", "") for i in range(TOTAL // 4)]),
        431,
        "HTTP_MAX_HEADER_BYTES",
        id="very many empty headers",
    ),
    pytest.param(
        request_head(headers=[line_of(LINE, f"X-{i}") for i in range(40)]),
        431,
        "HTTP_MAX_HEADER_BYTES",
        id="many long headers",
    ),
]


@pytest.mark.parametrize(("data", "status", "detail"), BOUNDARIES)
def test_head_size_limits(server: PlatformServer, data: bytes, status: int, detail: str) -> None:
    answer = exchange(server, data)

    if status == 200:
        assert answer.status == 200, answer.body
    else:
        assert_refused(answer, status, detail)


def test_a_96_mib_header_is_refused_without_reading_it(server: PlatformServer) -> None:
    assert server.proc is not None
    exchange(server, request_head())  # warm: the first request's own allocations do not count
    before = rss_bytes(server.proc.pid)
    data = request_head()[:-2] + b"X-Huge: " + b"a" * (96 * 1024 * 1024) + b"\r\n\r\n"

    started = time.monotonic()
    answer = exchange(server, data)

    assert_refused(answer, 431, "HTTP_MAX_HEADER")
    assert time.monotonic() - started < SLACK
    grown = rss_bytes(server.proc.pid) - before
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB"


# -- slow senders --------------------------------------------------------------------------------


@dataclass
class SlowSender:
    """A connection that sends `prefix` at once, then `trickle` one byte every TRICKLE_INTERVAL."""

    prefix: bytes
    trickle: bytes
    limit: float
    answer_status: int | None  # None: the server closes without answering

    def run(self, port: int) -> tuple[float, int | None]:
        """Seconds from the start of the limited phase until the server answered or closed."""
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            started = time.monotonic()
            if self.prefix:
                sock.sendall(self.prefix)
            pending = iter(self.trickle)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # dropped mid-send
                while not select.select([sock], [], [], TRICKLE_INTERVAL)[0]:
                    assert time.monotonic() - started < self.limit + 2 * SLACK, "never dropped"
                    byte = next(pending, None)
                    if byte is not None:
                        sock.sendall(bytes([byte]))
            elapsed = time.monotonic() - started
            try:
                head = sock.recv(1, socket.MSG_PEEK)
            except ConnectionResetError:
                return elapsed, None  # closed without an answer, with request bytes unread
            status = read_answer(sock).status if head else None
            self._assert_fully_closed(sock)
        return elapsed, status

    @staticmethod
    def _assert_fully_closed(sock: socket.socket) -> None:
        # After its answer the server reads on for LINGER_SECONDS at most, then closes for good.
        deadline = time.monotonic() + LINGER_SECONDS + SLACK
        while time.monotonic() < deadline:
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                return
            time.sleep(TRICKLE_INTERVAL)
        raise AssertionError("the server kept the connection open after answering")


ENDLESS_HEAD = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
POST_HEAD = (
    f"POST {INVOKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\nContent-Type: application/json\r\n"
).encode()
KEPT_ALIVE = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
SLOW_SENDERS = {
    "silent connection": SlowSender(b"", b"", HEAD_TIMEOUT, None),
    "head byte by byte": SlowSender(b"", ENDLESS_HEAD, HEAD_TIMEOUT, 408),
    "stray line ends": SlowSender(b"", b"\r\n" * 5_000, HEAD_TIMEOUT, None),
    "body byte by byte": SlowSender(
        POST_HEAD + b"Content-Length: 10000\r\n\r\n", b'{"input": "' + b"a" * 10_000, BODY_TIMEOUT, 408
    ),
    "chunked body byte by byte": SlowSender(
        POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\na\r\n" * 10_000, BODY_TIMEOUT, 408
    ),
}


def _sender_on_kept_alive_connection(port: int) -> tuple[float, int | None]:
    """The second request's head sent slowly, after a first one answered on the same connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(KEPT_ALIVE)
        first = http.client.HTTPResponse(sock)
        first.begin()
        first.read()
        assert first.status == 200
        started = time.monotonic()
        for byte in ENDLESS_HEAD:
            if select.select([sock], [], [], TRICKLE_INTERVAL)[0]:
                break
            sock.sendall(bytes([byte]))
        elapsed = time.monotonic() - started
        return elapsed, read_answer(sock).status


@pytest.mark.parametrize("kind", SLOW_SENDERS)
def test_slow_senders_are_dropped(server: PlatformServer, kind: str) -> None:
    sender = SLOW_SENDERS[kind]

    elapsed, status = sender.run(server.port)

    assert status == sender.answer_status
    assert sender.limit - TRICKLE_INTERVAL <= elapsed < sender.limit + SLACK, elapsed


def test_a_slow_head_on_a_kept_alive_connection_is_dropped(server: PlatformServer) -> None:
    elapsed, status = _sender_on_kept_alive_connection(server.port)

    assert status == 408
    # uvicorn's keep-alive timeout stops at the next request's first byte; the head timeout runs
    # from there.
    assert HEAD_TIMEOUT - TRICKLE_INTERVAL <= elapsed < HEAD_TIMEOUT + SLACK, elapsed


def test_twenty_slow_senders_are_all_dropped_while_probes_answer(server: PlatformServer) -> None:
    kinds = list(SLOW_SENDERS.values())
    senders: list[Callable[[int], tuple[float, int | None]]] = [kinds[i % len(kinds)].run for i in range(19)]
    senders.append(_sender_on_kept_alive_connection)
    results: list[tuple[float, int | None] | BaseException] = []

    def run(sender: Callable[[int], tuple[float, int | None]]) -> None:
        try:
            results.append(sender(server.port))
        except BaseException as exc:  # reported below, with the others' results
            results.append(exc)

    threads = [threading.Thread(target=run, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    probes = list(_probe_while(lambda: any(t.is_alive() for t in threads), server))
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == len(senders)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert all(r[0] < max(HEAD_TIMEOUT, BODY_TIMEOUT) + SLACK for r in results if isinstance(r, tuple))
    assert len(probes) >= 5
    assert max(probes) < 1.0, f"/health/live took {max(probes):.2f}s while slow senders were connected"


def _probe_while(condition: Callable[[], bool], server: PlatformServer) -> Iterator[float]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        while condition():
            started = time.monotonic()
            assert client.get("/health/live").status_code == 200
            yield time.monotonic() - started
            time.sleep(0.2)


def test_limits_hold_with_two_workers(launch: Launcher) -> None:
    server = launch(workers=2)

    assert exchange(server, head_of(TOTAL)).status == 200
    assert_refused(exchange(server, head_of(TOTAL + 1)), 431, "HTTP_MAX_HEADER_BYTES")
