"""Runs that answer when done (``/wait``) or stream their events (``/stream``), on a thread or stateless."""

from __future__ import annotations

import asyncio

from litestar import Controller, post
from litestar.response import Stream

from langchain_platform.agent_server.controllers.error_docs import BODY_ERRORS
from langchain_platform.agent_server.controllers.responses import (
    ThreadIdPath,
    join_response,
    join_stream_response,
    waited_response,
)
from langchain_platform.agent_server.runs import PreparedRun, Runs
from langchain_platform.agent_server.schemas import RunCreate, StatelessRunCreate
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.agent_server.sse import frames
from langchain_platform.principals import Principal


def _wait_response(runs: Runs, prepared: PreparedRun) -> Stream:
    # Started now, not when the answer is first read, so the held lease is released whatever happens.
    return waited_response(asyncio.ensure_future(runs.wait(prepared)), prepared.content_location)


def _queued(data: RunCreate) -> bool:
    """Runs that may wait for their thread, start later or be streamed again go through the run table
    (which keeps their events)."""
    return (
        data.multitask_strategy not in (None, "reject") or bool(data.after_seconds) or data.stream_resumable
    )


async def _queued_wait(
    agent_server: AgentServer, thread_id: str | None, data: RunCreate, principal: Principal
) -> Stream:
    background = agent_server.background
    return join_response(background, await background.create(thread_id, data, principal))


async def _queued_stream(
    agent_server: AgentServer, thread_id: str | None, data: RunCreate, principal: Principal
) -> Stream:
    background = agent_server.background
    row = await background.create(thread_id, data, principal)
    return join_stream_response(background, row, -1, cancel_on_disconnect=data.on_disconnect != "continue")


def _stream_response(runs: Runs, prepared: PreparedRun) -> Stream:
    return Stream(
        frames(runs.stream(prepared)),
        media_type="text/event-stream",
        # Proxies must not buffer the stream, or events arrive all at once at the end.
        headers={
            "Content-Location": prepared.content_location,
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        },
    )


class ThreadRunsController(Controller):
    path = "/threads/{thread_id:str}/runs"
    tags = ["agent-server"]

    @post(
        "/wait", status_code=200, summary="Run on a thread and answer its final values", responses=BODY_ERRORS
    )
    async def wait(
        self, thread_id: ThreadIdPath, data: RunCreate, agent_server: AgentServer, principal: Principal
    ) -> Stream:
        if _queued(data):
            return await _queued_wait(agent_server, thread_id, data, principal)
        prepared = await agent_server.runs.prepare(thread_id, data, principal)
        return _wait_response(agent_server.runs, prepared)

    @post(
        "/stream",
        status_code=200,
        summary="Run on a thread, streaming server-sent events",
        responses=BODY_ERRORS,
    )
    async def stream(
        self, thread_id: ThreadIdPath, data: RunCreate, agent_server: AgentServer, principal: Principal
    ) -> Stream:
        if _queued(data):
            return await _queued_stream(agent_server, thread_id, data, principal)
        prepared = await agent_server.runs.prepare(thread_id, data, principal)
        return _stream_response(agent_server.runs, prepared)


class StatelessRunsController(Controller):
    path = "/runs"
    tags = ["agent-server"]

    @post(
        "/wait",
        status_code=200,
        summary="Run without a thread and answer its final values",
        responses=BODY_ERRORS,
    )
    async def wait(self, data: StatelessRunCreate, agent_server: AgentServer, principal: Principal) -> Stream:
        if _queued(data):
            return await _queued_wait(agent_server, None, data, principal)
        prepared = await agent_server.runs.prepare(None, data, principal)
        return _wait_response(agent_server.runs, prepared)

    @post(
        "/stream",
        status_code=200,
        summary="Run without a thread, streaming server-sent events",
        responses=BODY_ERRORS,
    )
    async def stream(
        self, data: StatelessRunCreate, agent_server: AgentServer, principal: Principal
    ) -> Stream:
        if _queued(data):
            return await _queued_stream(agent_server, None, data, principal)
        prepared = await agent_server.runs.prepare(None, data, principal)
        return _stream_response(agent_server.runs, prepared)
