"""Request and response bodies of the agent, chain and thread endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Union

import msgspec

from langchain_platform.agents.usage import Usage
from langchain_platform.openapi_schema import CHAIN_INPUT
from langchain_platform.patterns import anchored

THREAD_ID_PATTERN = anchored(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
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
ChainInput = Annotated[Union[str, dict[str, str]], CHAIN_INPUT]  # noqa: UP007


class ChainRequest(msgspec.Struct, forbid_unknown_fields=True):
    input: ChainInput


class ChainResponse(msgspec.Struct):
    output: str
    run_id: str
    usage: Usage
