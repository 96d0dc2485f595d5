"""Why a run failed, in terms an HTTP client and an operator can act on.

Middleware classify LLM and tool failures where they happen (so the type of the upstream error is
still known); ``run_failure`` names any run failure as a domain error, which ``errors.py`` answers.
"""

from __future__ import annotations

import asyncio

import httpx
import openai

from langchain_platform.agents.errors import LLMFailure, LLMTimeout, RunCancelled, RunTimeout, ToolTimeout
from langchain_platform.domain_errors import DomainError
from langchain_platform.state.errors import describe_error, state_errors, store_failed


def classify_llm_error(exc: BaseException, timeout_seconds: float, retries: int | None = None) -> LLMFailure:
    """Name the upstream problem: timeout, HTTP status, unreachable, or an answer we cannot parse."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError) or "Timeout" in name:
        return LLMTimeout(timeout_seconds)
    if isinstance(status, int):
        message = getattr(exc, "message", None) or str(exc)
        after = f" after {retries} retries (LLM_MAX_RETRIES)" if retries else ""
        return LLMFailure(f"http_{status}", f"LLM upstream answered HTTP {status}{after}: {message[:300]}")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError) or "Connection" in name:
        return LLMFailure("connection", f"LLM upstream unreachable: {describe_error(exc)[:300]}")
    return LLMFailure("bad_response", f"LLM upstream sent an unusable answer: {describe_error(exc)[:300]}")


def run_failure(exc: BaseException) -> DomainError | None:
    """The domain error a failed run answers with; None for a bug (let it surface as a 500)."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, state_errors()):
        return store_failed(exc)
    if isinstance(exc, asyncio.CancelledError):
        return RunCancelled()
    return None


def outcome_label(exc: BaseException | None) -> str:
    """``outcome`` label of agent_run_duration_seconds."""
    if exc is None:
        return "ok"
    if isinstance(exc, RunTimeout | ToolTimeout | LLMTimeout):
        return "timeout"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "error"
