"""Why a run failed, in terms an HTTP client and an operator can act on.

Middleware classify LLM and tool failures where they happen (so the type of the upstream error is
still known); ``to_http_error`` turns any run failure into the service's problem-details errors.
"""

from __future__ import annotations

import asyncio

import httpx
import openai

from langchain_platform.agents.state import StateUnavailable, describe_error, state_errors
from langchain_platform.errors import BadGateway, GatewayTimeout, PlatformError, ServiceUnavailable


class ToolTimeout(Exception):
    def __init__(self, tool: str, seconds: float) -> None:
        super().__init__(f"tool {tool} did not finish within {seconds:g}s (TOOL_TIMEOUT_SECONDS)")
        self.tool = tool


class LLMFailure(Exception):
    """An LLM call failed after the client's retries; ``kind`` labels llm_errors_total."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RunTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the run did not finish within {seconds:g}s (RUN_TIMEOUT_SECONDS)")


def classify_llm_error(exc: BaseException, timeout_seconds: float, retries: int | None = None) -> LLMFailure:
    """Name the upstream problem: timeout, HTTP status, unreachable, or an answer we cannot parse."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError) or "Timeout" in name:
        return LLMFailure("timeout", f"LLM did not answer within {timeout_seconds:g}s (LLM_TIMEOUT_SECONDS)")
    if isinstance(status, int):
        message = getattr(exc, "message", None) or str(exc)
        after = f" after {retries} retries (LLM_MAX_RETRIES)" if retries else ""
        return LLMFailure(f"http_{status}", f"LLM upstream answered HTTP {status}{after}: {message[:300]}")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError) or "Connection" in name:
        return LLMFailure("connection", f"LLM upstream unreachable: {describe_error(exc)[:300]}")
    return LLMFailure("bad_response", f"LLM upstream sent an unusable answer: {describe_error(exc)[:300]}")


def to_http_error(exc: BaseException) -> PlatformError | None:
    """The problem-details error for a failed run; None for a bug (let it surface as a 500)."""
    if isinstance(exc, PlatformError):
        return exc
    if isinstance(exc, RunTimeout | ToolTimeout):
        return GatewayTimeout(str(exc))
    if isinstance(exc, LLMFailure):
        return GatewayTimeout(str(exc)) if exc.kind == "timeout" else BadGateway(str(exc))
    if isinstance(exc, StateUnavailable):
        return ServiceUnavailable(str(exc), retry_after=5)
    if isinstance(exc, state_errors()):
        return ServiceUnavailable(f"the state store failed: {describe_error(exc)}", retry_after=5)
    if isinstance(exc, asyncio.CancelledError):
        return ServiceUnavailable("the run was cancelled because the service is stopping", retry_after=5)
    return None


def outcome_label(exc: BaseException | None) -> str:
    """``outcome`` label of agent_run_duration_seconds."""
    if exc is None:
        return "ok"
    if isinstance(exc, RunTimeout | ToolTimeout) or (isinstance(exc, LLMFailure) and exc.kind == "timeout"):
        return "timeout"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "error"
