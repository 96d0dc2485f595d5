"""Background runs: create (on a thread or stateless), list, get, delete, join, join the stream, cancel."""

from __future__ import annotations

import contextlib
from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from litestar.params import Parameter
from litestar.response import Response, Stream

from langchain_platform.agent_server import run_batches
from langchain_platform.agent_server.controllers.error_docs import BODY_ERRORS, LOOKUP_ERRORS
from langchain_platform.agent_server.controllers.responses import (
    ThreadIdPath,
    created_response,
    join_response,
    join_stream_response,
    run_body,
)
from langchain_platform.agent_server.schemas import (
    MAX_BATCH_RUNS,
    BatchRunsCreate,
    Run,
    RunCreate,
    StatelessRunCreate,
)
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.principals import Principal

RunIdPath = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the run's id")]


def _last_event_id(value: str | None) -> int:
    with contextlib.suppress(ValueError):
        return int(value or "")
    return -1


class BackgroundThreadRunsController(Controller):
    path = "/threads/{thread_id:str}/runs"
    tags = ["agent-server"]

    @post("/", status_code=200, summary="Create a background run on a thread", responses=BODY_ERRORS)
    async def create(
        self, thread_id: ThreadIdPath, data: RunCreate, agent_server: AgentServer, principal: Principal
    ) -> Response[Run]:
        return created_response(await agent_server.background.create(thread_id, data, principal))

    @get("/", summary="A thread's runs, newest first", responses=LOOKUP_ERRORS)
    async def list_runs(
        self,
        thread_id: ThreadIdPath,
        agent_server: AgentServer,
        principal: Principal,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 10,
        offset: Annotated[int, Parameter(ge=0)] = 0,
        status: Literal["pending", "running", "error", "success", "timeout", "interrupted"] | None = None,
    ) -> list[Run]:
        rows = await agent_server.background.list(thread_id, principal, limit, offset, status)
        return [run_body(row) for row in rows]

    @get("/{run_id:str}", summary="A run", responses=LOOKUP_ERRORS)
    async def get_run(
        self, thread_id: ThreadIdPath, run_id: RunIdPath, agent_server: AgentServer, principal: Principal
    ) -> Run:
        return run_body(await agent_server.background.get(thread_id, run_id, principal))

    @delete("/{run_id:str}", status_code=204, summary="Delete a run that ended", responses=LOOKUP_ERRORS)
    async def delete_run(
        self, thread_id: ThreadIdPath, run_id: RunIdPath, agent_server: AgentServer, principal: Principal
    ) -> None:
        background = agent_server.background
        await background.delete(await background.get(thread_id, run_id, principal))

    @post(
        "/{run_id:str}/cancel",
        status_code=204,
        summary="Cancel a run; with wait=1, answer once it ended",
        responses=LOOKUP_ERRORS,
    )
    async def cancel(
        self,
        thread_id: ThreadIdPath,
        run_id: RunIdPath,
        agent_server: AgentServer,
        principal: Principal,
        wait: Annotated[int, Parameter(ge=0, le=1)] = 0,
        action: Literal["interrupt", "rollback"] = "interrupt",
    ) -> None:
        background = agent_server.background
        row = await background.get(thread_id, run_id, principal)
        await background.cancel(row, action)
        if wait:
            await background.wait_final(run_id)

    @get("/{run_id:str}/join", summary="Wait for a run and answer its final values", responses=LOOKUP_ERRORS)
    async def join(
        self, thread_id: ThreadIdPath, run_id: RunIdPath, agent_server: AgentServer, principal: Principal
    ) -> Stream:
        background = agent_server.background
        return join_response(background, await background.get(thread_id, run_id, principal))

    @get(
        "/{run_id:str}/stream",
        summary="Join a run's event stream (after Last-Event-ID if given)",
        responses=LOOKUP_ERRORS,
    )
    async def join_stream(
        self,
        thread_id: ThreadIdPath,
        run_id: RunIdPath,
        agent_server: AgentServer,
        principal: Principal,
        last_event_id: Annotated[str | None, Parameter(header="Last-Event-ID")] = None,
        stream_mode: list[str] | None = None,
        cancel_on_disconnect: bool = False,
    ) -> Stream:
        background = agent_server.background
        row = await background.get(thread_id, run_id, principal)
        return join_stream_response(
            background,
            row,
            _last_event_id(last_event_id),
            modes=stream_mode,
            cancel_on_disconnect=cancel_on_disconnect,
        )


class BackgroundStatelessRunsController(Controller):
    path = "/runs"
    tags = ["agent-server"]

    @post("/", status_code=200, summary="Create a background run without a thread", responses=BODY_ERRORS)
    async def create(
        self, data: StatelessRunCreate, agent_server: AgentServer, principal: Principal
    ) -> Response[Run]:
        return created_response(await agent_server.background.create(None, data, principal))

    @post(
        "/batch",
        status_code=200,
        summary=f"Create up to {MAX_BATCH_RUNS} background runs without a thread, all or none",
        # Not in the document: an item naming an assistant that does not exist refuses the whole batch
        # as a 422 (where one run answers 404), and no schema can say which names exist, so the
        # document would admit batches the server refuses.
        include_in_schema=False,
    )
    async def create_batch(
        self, data: BatchRunsCreate, agent_server: AgentServer, principal: Principal
    ) -> list[Run]:
        return [run_body(row) for row in await run_batches.create_batch(agent_server, data, principal)]
