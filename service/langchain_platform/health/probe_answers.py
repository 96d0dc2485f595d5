"""``/health/live`` and ``/health/ready`` answered in front of the router while all is well.

A balancer, Docker and monitoring call the probes every few seconds on every backend, so their cost
is paid thousands of times a day per replica. While the process is alive, not draining, not in
maintenance, not missing agents it must serve, and the last checkpointer ping (at most
``checkpointer_probe.MAX_AGE_SECONDS`` old) answered, the two probes get the bytes the Litestar
handlers would send, encoded once, without routing, dependency resolution or the API-key gate.
Every other case (a stale ping, draining, maintenance, missing agents, another method) goes on to
the handlers in ``controller.py``, which ping, refuse with problem details (and ``Retry-After``
where waiting helps), or answer 405 as before: the fast path changes only the cost.

It sits inside the request observer, so request ids, metrics and logs see probes as before. It is
only used for a probe path that needs no key (``AUTH_EXEMPT_PATHS``): otherwise the gate decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from langchain_platform.context import PlatformContext
from langchain_platform.health.schemas import ProbeStatus

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
_PROBE_METHODS = ("GET", "HEAD")  # uvicorn drops the body of a HEAD answer itself

# ``Litestar.asgi_router.handle_routing``: (path, method) to (app, handler, path, params, template).
RoutingLookup = Callable[[str, Any], tuple[Any, ...]]


def _answer(status: ProbeStatus) -> tuple[HTTPResponseStartEvent, HTTPResponseBodyEvent]:
    body = msgspec.json.encode(status)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return (
        {"type": "http.response.start", "status": 200, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    )


_ALIVE = _answer(ProbeStatus(status="alive"))
_READY = _answer(ProbeStatus(status="ready"))


class ProbeAnswers:
    """ASGI wrapper: the common answers of the two probes; everything else goes on to ``app``."""

    def __init__(
        self, app: ASGIApp, context: PlatformContext, routing: RoutingLookup, paths: tuple[str, ...]
    ) -> None:
        self.app = app
        self._context = context
        # What the router would set on the scope, so metrics label probes with their route.
        self._routed = {path: routing(path, "GET") for path in paths}

    def _ready(self) -> bool:
        context = self._context
        probe = context.checkpointer_probe
        return (
            not context.draining
            and context.agents_missing is None
            and probe is not None
            and probe.fresh_ok()
            and not context.flags.current().maintenance
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] not in _PROBE_METHODS:
            await self.app(scope, receive, send)
            return
        routed = self._routed.get(scope["path"])
        if routed is None:
            await self.app(scope, receive, send)
            return
        if scope["path"] == LIVE_PATH:
            start, body = _ALIVE
        elif self._ready():
            start, body = _READY
        else:
            await self.app(scope, receive, send)
            return
        scope["route_handler"], scope["path_template"] = routed[1], routed[4]
        await send(start)
        await send(body)
