"""Scopes and owners at the HTTP edge: the guards that check a key's scope, and the ``principal``
dependency handlers pass down so the runtime can keep threads and runs to their owners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from langchain_platform.context import platform_context
from langchain_platform.principals import ADMIN, AGENTS, OPERATOR, Principal

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Whom the API-key gate authenticated; with API_KEY_ENABLED=false every caller is the operator."""
    user = connection.scope.get("user")
    if isinstance(user, Principal):
        return user
    if not platform_context(connection.app.state).settings.api_key_enabled:
        return OPERATOR
    # Only a route under AUTH_EXEMPT_PATHS gets here without a key: it cannot act for an owner.
    raise NotAuthorizedException("Invalid or missing API key")


def _require(scope: str) -> Guard:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal_of(connection).allows(scope):
            raise PermissionDeniedException(f"this API key lacks the {scope} scope")

    guard.__name__ = f"require_{scope}_scope"
    return guard


require_admin_scope = _require(ADMIN)
require_agents_scope = _require(AGENTS)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency ``principal``."""
    return principal_of(request)
