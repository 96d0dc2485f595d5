"""The tool catalog agents may name in ``agents.yaml``: calculator, current_time, http_get, ask_human.

Problems the model can fix (a bad expression, a refused URL) come back to it as tool errors; the
per-call time limit is enforced for every tool by ``middleware.ToolTimeoutMiddleware``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.types import interrupt

from langchain_platform.agents.calculator import CalculatorError, calculate

TOOL_NAMES = ("calculator", "current_time", "http_get", "ask_human")
HTTP_MAX_BYTES = 256 * 1024
HTTP_MAX_CHARS = 8000


def _calculator(timeout_seconds: float) -> BaseTool:
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression, e.g. '(2 + 3) * 4 ** 2 / sqrt(16)'.

        Supports + - * / // % **, abs round min max sqrt log log10 exp sin cos tan floor ceil, pi e tau.
        """
        try:
            # The evaluation stops by itself when the tool call's time limit passes.
            return str(calculate(expression, deadline=time.monotonic() + timeout_seconds))
        except CalculatorError as exc:
            raise ToolException(f"cannot evaluate {expression!r}: {exc}") from exc

    return StructuredTool.from_function(calculator, handle_tool_error=True)


def _current_time() -> BaseTool:
    def current_time(timezone: str | None = None) -> str:
        """Return the current date and time in ISO 8601: UTC, or an IANA timezone like 'Europe/Paris'."""
        now = datetime.now(UTC)
        if not timezone:
            return now.isoformat()
        try:
            return now.astimezone(ZoneInfo(timezone)).isoformat()
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ToolException(f"unknown timezone {timezone!r}: use an IANA name like 'UTC'") from exc

    return StructuredTool.from_function(current_time, handle_tool_error=True)


HttpClientSource = Callable[[], httpx.AsyncClient]


def _http_get(client: HttpClientSource, allowlist: tuple[str, ...]) -> BaseTool:
    allowed = frozenset(host.lower() for host in allowlist)

    async def http_get(url: str) -> str:
        """Fetch an http(s) URL with GET and return the status code and the start of the body text."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise ToolException(f"refused {url!r}: only absolute http(s) URLs can be fetched")
        if host not in allowed:
            raise ToolException(f"refused {url!r}: host {host} is not in HTTP_TOOL_ALLOWLIST")
        try:
            async with client().stream("GET", url) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) >= HTTP_MAX_BYTES:
                        break
                text = bytes(body[:HTTP_MAX_BYTES]).decode(response.encoding or "utf-8", errors="replace")
        except httpx.HTTPError as exc:
            raise ToolException(f"fetching {url} failed: {type(exc).__name__}: {exc}") from exc
        truncated = len(text) > HTTP_MAX_CHARS or len(body) >= HTTP_MAX_BYTES
        shown = text[:HTTP_MAX_CHARS] + ("\n[truncated]" if truncated else "")
        return f"status: {response.status_code}\n\n{shown}"

    return StructuredTool.from_function(coroutine=http_get, name="http_get", handle_tool_error=True)


def _ask_human() -> BaseTool:
    def ask_human(question: str) -> str:
        """Ask the human user a question (e.g. to approve an action) and wait for the answer."""
        # Pauses the run (LangGraph interrupt): the thread is "interrupted" until a run resumes it with
        # command={"resume": answer}, which becomes this call's result.
        return str(interrupt({"question": question}))

    return StructuredTool.from_function(ask_human, handle_tool_error=True)


def build_tools(
    client: HttpClientSource, http_allowlist: tuple[str, ...], timeout_seconds: float
) -> dict[str, BaseTool]:
    """One instance of every catalog tool, keyed by the name agents.yaml uses.

    ``client`` returns the shared HTTP client, so it is only created once a tool needs it.
    """
    tools = {
        "calculator": _calculator(timeout_seconds),
        "current_time": _current_time(),
        "http_get": _http_get(client, http_allowlist),
        "ask_human": _ask_human(),
    }
    assert tuple(tools) == TOOL_NAMES  # the catalog and its names must not drift apart
    return tools
