"""Response bodies of the health endpoints (names fixed by docs/architecture.md)."""

from __future__ import annotations

from typing import Literal

import msgspec

HealthStatus = Literal["healthy", "degraded", "unhealthy", "maintenance"]


class CheckpointerHealth(msgspec.Struct, kw_only=True):
    backend: str
    ok: bool


class LlmHealth(msgspec.Struct, kw_only=True):
    provider: str | None
    configured: bool


class HealthReport(msgspec.Struct, kw_only=True):
    status: HealthStatus
    version: str
    uptime_seconds: float
    enterprise_agents_loaded: bool
    chains_loaded: bool
    agents_count: int
    chains_count: int
    checkpointer: CheckpointerHealth
    llm: LlmHealth
    reasons: list[str]


class ProbeStatus(msgspec.Struct, kw_only=True):
    status: str
