"""``/threads``: conversations on the platform's state store, kept to the key owner that made them."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from langchain_platform.agent_server.controllers.error_docs import BODY_ERRORS, LOOKUP_ERRORS
from langchain_platform.agent_server.schemas import (
    HistoryRequest,
    StateUpdate,
    StateUpdated,
    Thread,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadSearch,
    ThreadState,
)
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.agents.schemas import THREAD_ID_PATTERN
from langchain_platform.principals import Principal

ThreadIdPath = Annotated[str, Parameter(pattern=THREAD_ID_PATTERN, description="letters, digits, . _ : -")]


class ThreadsController(Controller):
    path = "/threads"
    tags = ["agent-server"]

    @post("/", status_code=200, summary="Create a thread", responses=BODY_ERRORS)
    async def create(self, data: ThreadCreate, agent_server: AgentServer, principal: Principal) -> Thread:
        return await agent_server.threads.create(data, principal)

    @post("/search", status_code=200, summary="Search threads", responses=BODY_ERRORS)
    async def search(
        self, data: ThreadSearch, agent_server: AgentServer, principal: Principal
    ) -> list[Thread]:
        return await agent_server.threads.search(data, principal)

    @post("/count", status_code=200, summary="Count threads", responses=BODY_ERRORS)
    async def count(self, data: ThreadCount, agent_server: AgentServer, principal: Principal) -> int:
        return await agent_server.threads.count(data, principal)

    @get("/{thread_id:str}", summary="Get a thread", responses=LOOKUP_ERRORS)
    async def get_thread(
        self, thread_id: ThreadIdPath, agent_server: AgentServer, principal: Principal
    ) -> Thread:
        return await agent_server.threads.get(thread_id, principal)

    @patch("/{thread_id:str}", summary="Update a thread's metadata", responses=BODY_ERRORS)
    async def update(
        self, thread_id: ThreadIdPath, data: ThreadPatch, agent_server: AgentServer, principal: Principal
    ) -> Thread:
        return await agent_server.threads.patch(thread_id, data, principal)

    @delete(
        "/{thread_id:str}",
        status_code=204,
        summary="Delete a thread and its checkpoints",
        responses=LOOKUP_ERRORS,
    )
    async def delete_thread(
        self, thread_id: ThreadIdPath, agent_server: AgentServer, principal: Principal
    ) -> None:
        await agent_server.threads.delete(thread_id, principal)

    @post(
        "/{thread_id:str}/copy",
        status_code=200,
        summary="Copy a thread with its checkpoints",
        responses=LOOKUP_ERRORS,
    )
    async def copy(self, thread_id: ThreadIdPath, agent_server: AgentServer, principal: Principal) -> Thread:
        return await agent_server.threads.copy(thread_id, principal)

    @get("/{thread_id:str}/state", summary="A thread's current state", responses=LOOKUP_ERRORS)
    async def state(
        self, thread_id: ThreadIdPath, agent_server: AgentServer, principal: Principal
    ) -> ThreadState:
        return await agent_server.threads.state(thread_id, principal)

    @get(
        "/{thread_id:str}/state/{checkpoint_id:str}",
        summary="A thread's state at a checkpoint",
        responses=LOOKUP_ERRORS,
    )
    async def state_at(
        self, thread_id: ThreadIdPath, checkpoint_id: str, agent_server: AgentServer, principal: Principal
    ) -> ThreadState:
        return await agent_server.threads.state(thread_id, principal, checkpoint_id)

    @post(
        "/{thread_id:str}/state",
        status_code=200,
        summary="Update a thread's state values",
        responses=BODY_ERRORS,
    )
    async def update_state(
        self, thread_id: ThreadIdPath, data: StateUpdate, agent_server: AgentServer, principal: Principal
    ) -> StateUpdated:
        return await agent_server.threads.update_state(thread_id, data, principal)

    @post(
        "/{thread_id:str}/history",
        status_code=200,
        summary="A thread's past states, newest first",
        responses=BODY_ERRORS,
    )
    async def history(
        self, thread_id: ThreadIdPath, data: HistoryRequest, agent_server: AgentServer, principal: Principal
    ) -> list[ThreadState]:
        return await agent_server.threads.history(thread_id, data, principal)
