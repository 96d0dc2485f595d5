"""HEAD wherever GET is served, and an ``Allow`` header that lists every method a path takes.

Litestar routes HEAD only to handlers declared for it, and the OPTIONS handler it adds to a path
lists the methods of the first handler registered there (``GET`` was missing on the threads path,
declared after ``DELETE``). Its 405 answers do list them all. So, in front of the router:

- HEAD runs the GET handler; uvicorn, which still sees HEAD, sends the headers without the body;
- OPTIONS answers 204 with the methods the router itself names for the path (404 if none);
- every ``Allow`` header (OPTIONS here, 405 in ``errors.py``) lists HEAD next to GET.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils import normalize_path

# ``Litestar.asgi_router.handle_routing``: (path, method) to a handler, or MethodNotAllowed / NotFound.
RoutingLookup = Callable[[str, Any], object]
# What the router sets on the scope it routes; copied back from HEAD's GET scope for the access log.
_ROUTED_KEYS = ("route_handler", "path_template", "path_params")
# No handler is declared for it, so asking the router for it makes it name the methods that are.
_UNDECLARED_METHOD = "ALLOWED-METHODS-PROBE"


def methods_of(allow: str) -> set[str]:
    return {method.strip() for method in allow.split(",") if method.strip()}


def allow_header(methods: set[str]) -> str:
    """The ``Allow`` value for ``methods``, HEAD included wherever GET is."""
    if "GET" in methods:
        methods = {*methods, "HEAD"}
    return ", ".join(sorted(methods))


class HttpMethods:
    """ASGI wrapper around the router (``routing``: the app's routing lookup)."""

    def __init__(self, app: ASGIApp, routing: RoutingLookup) -> None:
        self.app = app
        self._routing = routing

    def allowed_methods(self, path: str) -> set[str] | None:
        """The methods declared for ``path``; None if no route matches it."""
        try:
            self._routing(normalize_path(path), _UNDECLARED_METHOD)
        except MethodNotAllowedException as exc:
            return methods_of((exc.headers or {}).get("allow", ""))
        except NotFoundException:
            return None
        return None  # a mount answers any method itself

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS" and (allowed := self.allowed_methods(scope["path"])) is not None:
            allow = allow_header(allowed).encode("latin-1")
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if method != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get: Scope = {**scope, "method": "GET"}  # type: ignore[typeddict-item]
        try:
            await self.app(as_get, receive, send)
        finally:
            for key in _ROUTED_KEYS:
                if key in as_get:
                    scope[key] = as_get[key]  # type: ignore[literal-required]
