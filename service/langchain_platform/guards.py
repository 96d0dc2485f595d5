"""Guards the agent, chain and webhook controllers attach: ``guards=[require_agents_available]``."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from langchain_platform.agents.errors import STOPPING_RETRY_AFTER_SECONDS
from langchain_platform.context import platform_context
from langchain_platform.errors import ServiceUnavailable


def require_agents_available(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """503 with ``Retry-After`` while maintenance mode is on (any worker set it) or this process drains."""
    context = platform_context(connection.app.state)
    flags = context.flags.current()
    if flags.maintenance:
        raise ServiceUnavailable(
            "Maintenance mode is on: agent endpoints are paused; retry later",
            retry_after=flags.retry_after_seconds,
        )
    if context.draining:
        raise ServiceUnavailable(
            "This instance is shutting down; retry shortly", retry_after=STOPPING_RETRY_AFTER_SECONDS
        )
