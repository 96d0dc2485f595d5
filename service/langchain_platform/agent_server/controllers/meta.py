"""``GET /ok`` and ``GET /info``: what the SDK and LangGraph tooling probe first."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Controller, get

from langchain_platform import __version__
from langchain_platform.agent_server.controllers.error_docs import META_ERRORS


def _langgraph_version() -> str | None:
    try:
        return version("langgraph")
    except PackageNotFoundError:
        return None


class MetaController(Controller):
    tags = ["agent-server"]

    @get("/ok", summary="Liveness of the Agent Server API", responses=META_ERRORS)
    async def ok(self) -> dict[str, bool]:
        return {"ok": True}

    @get("/info", summary="Server version and features", responses=META_ERRORS)
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
