"""``POST /runs/batch``: stateless background runs created in one call, all or none.

Every run of the batch passes the checks a single create makes (fields this server does not serve,
the assistant, the webhook) before the first one is stored, so one bad run refuses the whole batch
with its index, and nothing of it runs.
"""

from __future__ import annotations

import msgspec

from langchain_platform.agent_server.assistants import agent_name
from langchain_platform.agent_server.errors import AgentServerError, BatchItemRefused, Unsupported
from langchain_platform.agent_server.run_store import RunRow
from langchain_platform.agent_server.runs import refuse_unsupported
from langchain_platform.agent_server.schemas import MAX_BATCH_RUNS, BatchRunCreate, RunCreate
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.principals import Principal


def _as_run(item: BatchRunCreate) -> RunCreate:
    """The item as the run body a single create takes (stored with the run, without ``thread_id``)."""
    fields = msgspec.structs.asdict(item)
    del fields["thread_id"]
    return RunCreate(**fields)


async def _check(server: AgentServer, body: RunCreate) -> None:
    refuse_unsupported(body, stateless=True, background=True)
    agent_name(server.runtime, body.assistant_id)
    await server.runs.webhooks.check(body.webhook)


async def create_batch(
    server: AgentServer, items: list[BatchRunCreate], principal: Principal
) -> list[RunRow]:
    if len(items) > MAX_BATCH_RUNS:
        raise Unsupported(f"a batch holds at most {MAX_BATCH_RUNS} runs, this one {len(items)}")
    runs = [_as_run(item) for item in items]
    for index, body in enumerate(runs):
        try:
            await _check(server, body)
        except AgentServerError as exc:
            raise BatchItemRefused(index, exc) from exc
    return [await server.background.create(None, body, principal) for body in runs]
