"""Per-request tracking: request id, one access-log line and the HTTP metrics, for every response.

It wraps Litestar's whole ASGI handler rather than sitting in the middleware list because Litestar
runs listed middleware only for matched routes: 404, 405 and requests rejected before routing
would otherwise go unlogged and uncounted.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from langchain_platform.observability.logging import request_id_var
from langchain_platform.observability.metrics import HttpMetrics

REQUEST_ID_HEADER = b"x-request-id"
# Accept a caller's id only if it is short and plain: it is echoed and logged verbatim.
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")  # the whole value: fullmatch
# Probes and scrapes arrive every few seconds; successful ones log at DEBUG to keep INFO readable.
_QUIET_PREFIXES = ("/health", "/metrics")
UNMATCHED_ROUTE = "unmatched"

ACCESS_LOGGER = "langchain_platform.access"
_log = structlog.get_logger(ACCESS_LOGGER)
# The stdlib logger structlog writes to: asking it whether DEBUG is on costs a cached dict lookup,
# while a dropped structlog call still builds and filters a whole event (a third of a probe's CPU).
_stdlib_log = logging.getLogger(ACCESS_LOGGER)


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _VALID_REQUEST_ID.fullmatch(value):
            return value.decode("ascii")
    return os.urandom(16).hex()


class RequestObserver:
    def __init__(self, app: ASGIApp, before_request: Callable[[], None]) -> None:
        self.app = app
        # Called before each request; the app uses it to pick up flags other workers changed.
        self.before_request = before_request
        self._metrics = HttpMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        self.before_request()
        request_id = _incoming_request_id(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode("ascii"))]
                message = {**message, "headers": headers}
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        # The template (/api/enterprise/agents/{name}/invoke) keeps metric labels bounded.
        route = scope.get("path_template") if scope.get("route_handler") else None
        route = route or UNMATCHED_ROUTE
        self._metrics.observe(method, route, status, seconds)
        quiet = status < 400 and scope["path"].startswith(_QUIET_PREFIXES)
        if quiet and not _stdlib_log.isEnabledFor(logging.DEBUG):
            return
        client = scope.get("client")
        log = _log.debug if quiet else _log.info
        log(
            "request",
            method=method,
            path=scope["path"],
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            client=client[0] if client else None,
        )
