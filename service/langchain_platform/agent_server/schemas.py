"""Request and response bodies of the Agent Server API, as ``langgraph_sdk`` (0.4) sends and reads them.

Every field the SDK may send is declared, so a body with any other field is refused (422) rather than
half understood. A field this server does not serve is typed to the one value that asks nothing of it
(``null``, ``false``), so the OpenAPI document admits exactly the bodies the server accepts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from langchain_platform.agents.schemas import THREAD_ID_PATTERN

ThreadId = Annotated[str, msgspec.Meta(pattern=THREAD_ID_PATTERN, description="letters, digits, . _ : -")]
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Offset = Annotated[int, msgspec.Meta(ge=0)]
SortOrder = Literal["asc", "desc"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
StreamModeName = Literal[
    "values", "messages", "updates", "events", "tasks", "checkpoints", "debug", "custom", "messages-tuple"
]
NodeNames = Literal["*"] | list[str]
# What the SDK sends for a field this server does not serve when its caller leaves it unset.
NotServed = Annotated[None, msgspec.Meta(description="not served by this server: null or absent")]


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    pass


# -- assistants ------------------------------------------------------------------------------------


class AssistantSearch(_Body):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: SortOrder | None = None
    select: list[str] | None = None


class AssistantCount(_Body):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None


class Assistant(msgspec.Struct):
    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    version: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class GraphSchema(msgspec.Struct):
    graph_id: str
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    state_schema: dict[str, Any] | None
    config_schema: dict[str, Any] | None
    context_schema: dict[str, Any] | None


# -- threads ---------------------------------------------------------------------------------------


class ThreadTtl(_Body):
    ttl: Annotated[float, msgspec.Meta(gt=0)]
    strategy: Literal["delete"] = "delete"


class ThreadCreate(_Body):
    thread_id: ThreadId | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    supersteps: NotServed = None
    ttl: ThreadTtl | None = None


class ThreadPatch(_Body):
    metadata: dict[str, Any]
    ttl: ThreadTtl | None = None


class ThreadSearch(_Body):
    metadata: dict[str, Any] | None = None
    values: NotServed = None
    ids: list[str] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] | None = None
    sort_order: SortOrder | None = None
    select: list[str] | None = None
    extract: dict[str, str] | None = None


class ThreadCount(_Body):
    metadata: dict[str, Any] | None = None
    values: NotServed = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None


class Thread(msgspec.Struct):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    status: str
    config: dict[str, Any]
    values: Any
    interrupts: dict[str, list[Any]]


class Checkpoint(msgspec.Struct):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None
    checkpoint_map: dict[str, Any] | None = None


class ThreadState(msgspec.Struct):
    values: Any
    next: list[str]
    tasks: list[dict[str, Any]]
    checkpoint: Checkpoint
    metadata: dict[str, Any]
    created_at: str | None
    parent_checkpoint: Checkpoint | None
    interrupts: list[dict[str, Any]]


class CheckpointRef(_Body):
    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class StateUpdate(_Body):
    values: dict[str, Any] | None  # the SDK's list of several updates is not served
    as_node: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None


class StateUpdated(msgspec.Struct):
    checkpoint: Checkpoint


class HistoryRequest(_Body):
    limit: Limit = 10
    before: str | CheckpointRef | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointRef | None = None
    select: list[str] | None = None


# -- runs ------------------------------------------------------------------------------------------


class RunCommand(_Body):
    resume: Any = None
    update: dict[str, Any] | list[Any] | None = None
    goto: Any = None


# A run's graph steps: LangGraph's own default is 25; a caller may ask for more, up to this bound (each step
# can call the model, and the run's time limit applies as well).
MAX_RECURSION_LIMIT = 200


class RunConfig(_Body):
    """The SDK's ``Config``: typed, so a wrong shape is a 422 instead of a failed run."""

    tags: list[str] = msgspec.field(default_factory=list)
    recursion_limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_RECURSION_LIMIT)] | None = None
    configurable: dict[str, Any] = msgspec.field(default_factory=dict)


class RunCreate(_Body):
    assistant_id: str
    input: dict[str, Any] | None = None
    command: RunCommand | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    stream_mode: StreamModeName | list[StreamModeName] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: NodeNames | None = None
    interrupt_after: NodeNames | None = None
    webhook: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    multitask_strategy: MultitaskStrategy | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    after_seconds: Annotated[int, msgspec.Meta(ge=0)] | None = None
    feedback_keys: NotServed = None
    strict_resume: Literal[False] | None = None
    langsmith_tracer: NotServed = None


class StatelessRunCreate(RunCreate):
    """A run without a thread: nothing of it is kept, so there is no checkpoint to start from and no
    thread to keep afterwards."""

    checkpoint: NotServed = None
    checkpoint_id: NotServed = None
    on_completion: Literal["delete"] | None = None


# Runs one POST /runs/batch may create: each is validated before any is stored.
MAX_BATCH_RUNS = 100


class BatchRunCreate(StatelessRunCreate):
    """An item of ``POST /runs/batch``: a stateless run (the SDK's ``RunCreate`` may name a thread
    id, which must then be null)."""

    thread_id: None = None


BatchRunsCreate = Annotated[list[BatchRunCreate], msgspec.Meta(max_length=MAX_BATCH_RUNS)]


class Run(msgspec.Struct):
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: str
    metadata: dict[str, Any]
    multitask_strategy: str
    kwargs: dict[str, Any] = msgspec.field(default_factory=dict)
