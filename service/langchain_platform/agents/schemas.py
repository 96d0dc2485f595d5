"""Request and response bodies of the agent, chain, thread, session and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Union

import msgspec

from langchain_platform.agents.usage import Usage
from langchain_platform.openapi_schema import CHAIN_INPUT

THREAD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
ThreadId = Annotated[str, msgspec.Meta(pattern=THREAD_ID_PATTERN, description="letters, digits, . _ : -")]
UserInput = Annotated[str, msgspec.Meta(min_length=1)]


class InvokeRequest(msgspec.Struct, forbid_unknown_fields=True):
    input: UserInput
    thread_id: ThreadId | None = None


class InvokeResponse(msgspec.Struct):
    output: str
    thread_id: str
    run_id: str
    usage: Usage


class AgentInfo(msgspec.Struct):
    name: str
    description: str
    model: str
    tools: list[str]
    state: str


class AgentList(msgspec.Struct):
    status: str
    agents: list[AgentInfo]
    reasons: list[str]


class ThreadMessage(msgspec.Struct, omit_defaults=True):
    role: str
    content: str
    tool_calls: list[dict[str, Any]] = msgspec.field(default_factory=list)
    name: str | None = None


class ThreadView(msgspec.Struct):
    thread_id: str
    agent: str
    messages: list[ThreadMessage]


class ClearSessionsRequest(msgspec.Struct, forbid_unknown_fields=True):
    older_than_seconds: Annotated[int, msgspec.Meta(ge=0)] | None = None
    thread_ids: list[ThreadId] | None = None


class ClearSessionsResponse(msgspec.Struct):
    cleared: int
    thread_ids: list[str]
    stale_locks_released: int


class ChainInfo(msgspec.Struct):
    name: str
    description: str
    model: str
    input_variables: list[str]
    state: str


class ChainList(msgspec.Struct):
    status: str
    chains: list[ChainInfo]
    reasons: list[str]


# typing.Union, not "|": Litestar keys plugin-made schemas by the annotation's name, which
# types.UnionType lacks.
ChainInput = Annotated[Union[str, dict[str, Any]], CHAIN_INPUT]  # noqa: UP007


class ChainRequest(msgspec.Struct, forbid_unknown_fields=True):
    input: ChainInput


class ChainResponse(msgspec.Struct):
    output: str
    run_id: str
    usage: Usage


class WebhookEvent(msgspec.Struct, forbid_unknown_fields=True):
    input: UserInput
    thread_id: ThreadId | None = None
    callback_url: str | None = None


class WebhookAccepted(msgspec.Struct):
    run_id: str
    thread_id: str
    status: str
    status_url: str


class RunView(msgspec.Struct):
    run_id: str
    agent: str
    thread_id: str | None
    status: str
    result: dict[str, Any] | None
    error: str | None
    callback: str | None
    created_at: datetime
    updated_at: datetime
