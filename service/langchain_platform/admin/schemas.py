"""Request and response bodies of the admin endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from langchain_platform.agents.schemas import ThreadId

# Any case, as LOG_LEVEL takes it: the schema lists exactly what the endpoint accepts.
LogLevelName = Literal[
    "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "critical", "error", "warning", "info", "debug"
]


class LogLevelRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    level: LogLevelName


class LogLevelResponse(msgspec.Struct, kw_only=True):
    level: str
    previous: str


class MaintenanceRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool
    retry_after_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] | None = None


class MaintenanceResponse(msgspec.Struct, kw_only=True):
    maintenance: bool
    retry_after_seconds: int


class ClearSessionsRequest(msgspec.Struct, forbid_unknown_fields=True):
    older_than_seconds: Annotated[int, msgspec.Meta(ge=0)] | None = None
    thread_ids: list[ThreadId] | None = None


class ClearSessionsResponse(msgspec.Struct):
    cleared: int
    thread_ids: list[str]
    stale_locks_released: int
    busy_thread_ids: list[str]
