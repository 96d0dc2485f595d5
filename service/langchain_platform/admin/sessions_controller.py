"""``/api/admin/sessions/clear`` (RB-003): free stuck conversations without a restart."""

from __future__ import annotations

from litestar import Controller, post

from langchain_platform.access import require_admin_scope
from langchain_platform.admin.schemas import ClearSessionsRequest, ClearSessionsResponse
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.errors import error_responses
from langchain_platform.state.sessions import clear_sessions


class SessionsController(Controller):
    path = "/api/admin/sessions"
    guards = [require_admin_scope]
    tags = ["admin"]

    @post(
        "/clear",
        status_code=200,
        summary="Delete stuck or idle conversations and expired thread leases",
        description="A thread a run holds is not deleted: it is listed in busy_thread_ids instead.",
        responses=error_responses(400, 401, 403, 413, 503),
    )
    async def clear(
        self, runtime: AgentRuntime, data: ClearSessionsRequest | None = None
    ) -> ClearSessionsResponse:
        body = data or ClearSessionsRequest()  # no body: expired leases only
        cleared = await clear_sessions(runtime.state, body.older_than_seconds, body.thread_ids)
        return ClearSessionsResponse(
            cleared=len(cleared.thread_ids) + cleared.stale_locks_released,
            thread_ids=cleared.thread_ids,
            stale_locks_released=cleared.stale_locks_released,
            busy_thread_ids=cleared.busy_thread_ids,
        )
