"""Run-time switches that apply to every worker through the shared flags file."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, post

from langchain_platform.access import require_admin_scope
from langchain_platform.admin.schemas import (
    LogLevelRequest,
    LogLevelResponse,
    MaintenanceRequest,
    MaintenanceResponse,
)
from langchain_platform.context import platform_context
from langchain_platform.errors import error_responses
from langchain_platform.observability.logging import current_level, set_level

_log = structlog.get_logger("langchain_platform.admin")


class AdminController(Controller):
    path = "/api/admin"
    guards = [require_admin_scope]
    tags = ["admin"]

    @post("/log-level", status_code=200, sync_to_thread=True, responses=error_responses(400, 401, 403, 413))
    def log_level(self, data: LogLevelRequest, request: Request[Any, Any, Any]) -> LogLevelResponse:
        """Change the log level of every worker (other workers pick it up within a second)."""
        level = data.level.upper()
        previous = current_level()
        platform_context(request.app.state).flags.update(log_level=level)
        set_level(level)
        _log.warning("log level changed", level=level, previous=previous)
        return LogLevelResponse(level=level, previous=previous)

    @post("/maintenance", status_code=200, sync_to_thread=True, responses=error_responses(400, 401, 403, 413))
    def maintenance(self, data: MaintenanceRequest, request: Request[Any, Any, Any]) -> MaintenanceResponse:
        """Turn maintenance mode on or off: agent endpoints and readiness answer 503 while on."""
        flags_store = platform_context(request.app.state).flags
        changes: dict[str, object] = {"maintenance": data.enabled}
        if data.retry_after_seconds is not None:
            changes["retry_after_seconds"] = data.retry_after_seconds
        flags = flags_store.update(**changes)
        _log.warning(
            "maintenance mode changed",
            enabled=flags.maintenance,
            retry_after_seconds=flags.retry_after_seconds,
        )
        return MaintenanceResponse(
            maintenance=flags.maintenance, retry_after_seconds=flags.retry_after_seconds
        )
