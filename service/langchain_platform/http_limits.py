"""Request-head size limits and slow-sender timeouts, in uvicorn's httptools protocol.

Port 8000 may face clients directly (no proxy in front to enforce them), and uvicorn's httptools
protocol has neither: it accepts headers of any size (httptools grows a header value by
concatenation, so a huge one also costs quadratic CPU) and waits forever for a head or body sent
a byte at a time. ``LimitedHttpToolsProtocol`` adds, per connection:

- HTTP_MAX_HEADER_LINE_BYTES: a header line (``name: value``) longer than this → 431; a request
  target (URL) longer than this → 414.
- HTTP_MAX_HEADER_BYTES: the whole head (request line and header lines with their CRLFs, plus the
  closing CRLF) larger than this → 431. While the head is unfinished, the bytes received count
  (whitespace included), so reading stops within one socket read of the limit, whatever the size of
  what is being sent.
- HTTP_HEADER_TIMEOUT_SECONDS: the head must be complete this long after the connection opens or,
  on a kept-alive connection, after the request's first byte → 408 (a connection that never sent a
  byte is closed without one).
- HTTP_BODY_TIMEOUT_SECONDS: the body must be complete this long after the head → 408 if no
  response has started, else the connection is just closed. The time counts while the application
  is not reading the body too; this service reads bodies (at most MAX_REQUEST_BYTES) at once.

Each refusal is problem+json with ``Connection: close``; the connection is then half-closed and
closed after LINGER_SECONDS (or as soon as the client closes), what arrives meanwhile discarded.
If an earlier response on the connection (HTTP pipelining) is still being written, it finishes
first and the connection closes after it, without an answer to the refused request.

Cost on the request path: a few additions and comparisons in callbacks the parser makes anyway,
and one timer per connection (the first request's head deadline, armed at accept) while requests
arrive whole; timers are only re-armed for a head or body that spans several reads.

uvicorn is given this class by its import path, so every worker process loads it itself.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from langchain_platform.errors import PROBLEM_JSON, problem_details
from langchain_platform.settings import Settings

# "METHOD SP target SP HTTP/1.1 CRLF" beyond the method and the target.
_REQUEST_LINE_OVERHEAD = len(b"  HTTP/1.1\r\n")
_HEADER_LINE_OVERHEAD = len(b": ")
_CRLF = 2
LINGER_SECONDS = 2.0

_log = structlog.get_logger("langchain_platform.http_limits")


@dataclass(frozen=True)
class HttpLimits:
    max_header_line_bytes: int
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            settings.http_max_header_line_bytes,
            settings.http_max_header_bytes,
            settings.http_header_timeout_seconds,
            settings.http_body_timeout_seconds,
        )


@functools.cache
def process_limits() -> HttpLimits:
    """This process's limits: uvicorn builds protocols itself, so they cannot be passed in."""
    return HttpLimits.from_settings(Settings.from_env())


class _Phase(enum.Enum):
    WAITING = "waiting for a request"
    HEAD = "receiving a request head"
    BODY = "receiving a request body"


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = process_limits()
        self._phase = _Phase.WAITING
        # Bytes received while the current head is unfinished; the canonical size of its parsed parts.
        self._head_received = 0
        self._head_size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_phase = _Phase.WAITING
        self._refused = False

    # -- connection -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(_Phase.HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._phase is not _Phase.BODY:
            self._head_received += len(data)
        super().data_received(data)
        if self._refused or self.transport.is_closing():
            return
        if self._phase is _Phase.HEAD and self._head_received > self._limits.max_header_bytes:
            self._refuse_head(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"request headers larger than {self._limits.max_header_bytes} bytes (HTTP_MAX_HEADER_BYTES)",
            )
            return
        self._follow(self._phase)

    # -- parser callbacks -------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = _Phase.HEAD
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        if len(self.url) + len(url) > self._limits.max_header_line_bytes:
            self._refuse_head(
                HTTPStatus.REQUEST_URI_TOO_LONG,
                f"request target longer than {self._limits.max_header_line_bytes} bytes "
                "(HTTP_MAX_HEADER_LINE_BYTES)",
            )
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        line = len(name) + _HEADER_LINE_OVERHEAD + len(value)
        self._head_size += line + _CRLF
        if line > self._limits.max_header_line_bytes:
            shown = name[:64].decode("latin-1")
            self._refuse_head(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"header line {shown!r} longer than {self._limits.max_header_line_bytes} bytes "
                "(HTTP_MAX_HEADER_LINE_BYTES)",
            )
        elif self._head_size > self._limits.max_header_bytes:
            self._refuse_head(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"request headers larger than {self._limits.max_header_bytes} bytes (HTTP_MAX_HEADER_BYTES)",
            )
        else:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        request_line = len(self.parser.get_method()) + len(self.url) + _REQUEST_LINE_OVERHEAD
        if request_line + self._head_size + _CRLF > self._limits.max_header_bytes:
            self._refuse_head(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"request headers larger than {self._limits.max_header_bytes} bytes (HTTP_MAX_HEADER_BYTES)",
            )
            return
        self._phase = _Phase.BODY
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._phase = _Phase.WAITING
        self._head_received = 0
        super().on_message_complete()

    # -- deadlines --------------------------------------------------------------------------------

    def _follow(self, phase: _Phase) -> None:
        """Keep the timer that matches where the connection stands after a read."""
        if phase is _Phase.WAITING:
            if self.cycle is not None and not self.cycle.response_complete:
                # A request is being answered: uvicorn's keep-alive timeout takes over after it.
                self._disarm()
                return
            phase = _Phase.HEAD  # bytes arrived, but no request yet (stray line ends)
        if self._timer is None or self._timer_phase is not phase:
            self._disarm()
            self._arm(phase)

    def _arm(self, phase: _Phase) -> None:
        seconds = (
            self._limits.header_timeout_seconds if phase is _Phase.HEAD else self._limits.body_timeout_seconds
        )
        self._timer_phase = phase
        self._timer = self.loop.call_later(seconds, self._deadline_passed)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _deadline_passed(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self._timer_phase is _Phase.BODY:
            detail = f"request body not received within {self._limits.body_timeout_seconds:g}s"
            self._refuse_body(f"{detail} (HTTP_BODY_TIMEOUT_SECONDS)")
        elif self._phase is _Phase.HEAD:
            detail = f"request headers not received within {self._limits.header_timeout_seconds:g}s"
            self._refuse_head(HTTPStatus.REQUEST_TIMEOUT, f"{detail} (HTTP_HEADER_TIMEOUT_SECONDS)")
        else:
            self._refused = True
            self.transport.close()  # never sent a request: nothing to answer

    # -- refusals ---------------------------------------------------------------------------------

    def _refuse_head(self, status: HTTPStatus, detail: str) -> None:
        self._refused = True
        self._disarm()
        _log.warning("request refused", status=int(status), reason=detail, client=self._client_text())
        if self.cycle is not None and not self.cycle.response_complete:
            # The previous (pipelined) request's answer is still being written: let it finish
            # and close after it; what follows on this connection is not read.
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        self._answer_and_close(status, detail)

    def _refuse_body(self, detail: str) -> None:
        self._refused = True
        _log.warning(
            "request refused",
            status=HTTPStatus.REQUEST_TIMEOUT.value,
            reason=detail,
            client=self._client_text(),
        )
        cycle = self.cycle
        if cycle.response_started:
            self.transport.close()
            return
        # The application sees a disconnect and its answer, if any, is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self._answer_and_close(HTTPStatus.REQUEST_TIMEOUT, detail)

    def _answer_and_close(self, status: HTTPStatus, detail: str) -> None:
        body = msgspec.json.encode(problem_details(status, detail))
        lines = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [
            b"content-type: " + PROBLEM_JSON.encode(),
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # Closing a socket with unread request bytes makes the kernel send a reset, which can
        # destroy this answer before the client reads it: half-close, discard what still comes
        # (data_received drops it) and close after LINGER_SECONDS or when the client does.
        self.transport.write_eof()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _client_text(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
