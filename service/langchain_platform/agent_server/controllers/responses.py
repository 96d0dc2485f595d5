"""Answers the run endpoints share: a waited result with keep-alive bytes, a run's body and location,
and joining a background run (its result, or its stored event stream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar.params import Parameter
from litestar.response import Response, Stream

from langchain_platform.agent_server.background import BackgroundRuns
from langchain_platform.agent_server.run_store import RunRow
from langchain_platform.agent_server.schemas import Run
from langchain_platform.agent_server.serialization import to_json
from langchain_platform.agent_server.sse import KEEP_ALIVE
from langchain_platform.agent_server.stream_modes import join_modes
from langchain_platform.agents.schemas import THREAD_ID_PATTERN

ThreadIdPath = Annotated[str, Parameter(pattern=THREAD_ID_PATTERN, description="letters, digits, . _ : -")]
# Well inside HAProxy's and most proxies' idle timeouts (30 s and more).
KEEP_ALIVE_SECONDS = 5.0


async def _waited(task: asyncio.Future[object]) -> AsyncIterator[bytes]:
    """Keep-alive bytes while the run goes on, then its values (leading whitespace is valid JSON)."""
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=KEEP_ALIVE_SECONDS)
            if done:
                yield to_json(task.result())
                return
            yield KEEP_ALIVE
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def waited_response(task: asyncio.Future[object], content_location: str) -> Stream:
    return Stream(
        _waited(task), media_type="application/json", headers={"Content-Location": content_location}
    )


def run_location(row: RunRow) -> str:
    return f"/threads/{row.thread_id or row.run_id}/runs/{row.run_id}"


def run_body(row: RunRow) -> Run:
    """A stateless run answers to its own id as thread id (it has no thread)."""
    return Run(
        run_id=row.run_id,
        thread_id=row.thread_id or row.run_id,
        assistant_id=row.assistant_id,
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        updated_at=datetime.fromtimestamp(row.updated_at, UTC),
        status=row.status,
        metadata=row.metadata,
        multitask_strategy=row.multitask_strategy,
        kwargs=row.kwargs,
    )


def created_response(row: RunRow) -> Response[Run]:
    return Response(run_body(row), status_code=200, headers={"Content-Location": run_location(row)})


async def join_result(background: BackgroundRuns, run_id: str) -> Any:
    """What ``join`` answers: the run's final values, ``{"__error__": ...}`` if it failed, or ``{}``
    if it was cancelled (or rolled back, and so deleted)."""
    row = await background.wait_final(run_id)
    if row is None or row.result is None:
        return {}
    return row.result


def join_response(background: BackgroundRuns, row: RunRow) -> Stream:
    task = asyncio.ensure_future(join_result(background, row.run_id))
    return waited_response(task, run_location(row))


def _frame(event: str, data: bytes, event_id: int) -> bytes:
    return b"event: %s\ndata: %s\nid: %d\n\n" % (event.encode(), data, event_id)


def join_stream_response(
    background: BackgroundRuns,
    row: RunRow,
    after: int,
    *,
    modes: list[str] | None = None,
    cancel_on_disconnect: bool = False,
) -> Stream:
    # The SDK sends an absent stream_mode as an empty value: every stored event then.
    wanted = join_modes(modes or [])

    async def frames() -> AsyncIterator[bytes]:
        finished = False
        try:
            events = background.events(row.run_id, after)
            while True:
                next_event = asyncio.ensure_future(anext(events))
                while not next_event.done():
                    done, _ = await asyncio.wait({next_event}, timeout=KEEP_ALIVE_SECONDS)
                    if not done:
                        yield KEEP_ALIVE
                try:
                    seq, event, data = next_event.result()
                except StopAsyncIteration:
                    finished = True
                    return
                if wanted is None or wanted.sends(event):
                    yield _frame(event, data, seq)
        finally:
            if cancel_on_disconnect and not finished:
                await asyncio.shield(background.cancel(row, "interrupt"))

    return Stream(
        frames(),
        media_type="text/event-stream",
        headers={
            "Content-Location": run_location(row),
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        },
    )
