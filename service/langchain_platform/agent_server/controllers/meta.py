"""``GET /ok`` and ``GET /info``: what the SDK and LangGraph tooling probe first."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Controller, get

from langchain_platform import __version__


def _langgraph_version() -> str | None:
    try:
        return version("langgraph")
    except PackageNotFoundError:
        return None


class MetaController(Controller):
    tags = ["agent server"]

    @get("/ok", summary="Liveness of the Agent Server API")
    async def ok(self) -> dict[str, bool]:
        return {"ok": True}

    @get("/info", summary="Server version and features")
    async def info(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "langgraph_py_version": _langgraph_version(),
            "flags": {"assistants": True, "crons": False, "langsmith": False, "thread_ttl": False},
            "host": {
                "kind": "langchain-platform",
                "project_id": None,
                "revision_id": None,
                "tenant_id": None,
            },
        }
