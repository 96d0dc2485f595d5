"""The benchmark's ceiling: a bare Litestar app around the service's own compiled agent.

`POST /agent` awaits the compiled LangGraph agent the service would run for the same settings
(same model client, tools, middleware, SQLite checkpointer and CHECKPOINT_DURABILITY) with nothing
around it: no auth, no run guard, no thread index, no metrics, no usage accounting. `POST /agent-nostate`
awaits the same agent compiled without a checkpointer, the graph alone. `GET /constant` returns a
constant, the ceiling for the probes. Run by bench/service_bench.py as
`uvicorn bench.reference_app:create_app --factory`, configured by the same environment variables.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import msgspec
from langchain_core.messages import HumanMessage
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.settings import Settings
from litestar import Litestar, get, post
from litestar.datastructures import State

AGENT_NAME = "bench"


class AgentRequest(msgspec.Struct):
    input: str
    thread_id: str


class AgentAnswer(msgspec.Struct):
    output: str
    thread_id: str


@get("/constant", sync_to_thread=False)
def constant() -> dict[str, str]:
    return {"status": "ok"}


@post("/agent")
async def agent(data: AgentRequest, state: State) -> AgentAnswer:
    result = await state.graph.ainvoke(
        {"messages": [HumanMessage(data.input)]},
        {"configurable": {"thread_id": data.thread_id}},
        durability=state.durability,
    )
    return AgentAnswer(output=str(result["messages"][-1].content), thread_id=data.thread_id)


@post("/agent-nostate")
async def agent_without_state(data: AgentRequest, state: State) -> AgentAnswer:
    result = await state.stateless_graph.ainvoke({"messages": [HumanMessage(data.input)]})
    return AgentAnswer(output=str(result["messages"][-1].content), thread_id=data.thread_id)


def create_app() -> Litestar:
    settings = Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = await AgentRuntime.start(settings)
        app.state.graph = await runtime.compiled_graph(AGENT_NAME)
        app.state.stateless_graph = await runtime.compiled_graph(AGENT_NAME, stateless=True)
        app.state.durability = settings.checkpoint_durability
        try:
            yield
        finally:
            await runtime.close()

    return Litestar(
        route_handlers=[constant, agent, agent_without_state], lifespan=[lifespan], logging_config=None
    )
