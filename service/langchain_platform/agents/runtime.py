"""``AgentRuntime``: everything the agent, chain, thread, session and webhook endpoints of one process share.

It starts whatever the configuration allows: without an LLM key, with a broken agents file or with
the database down it still starts, reports why in ``health().reasons`` and refuses only the
requests that cannot work (``AgentsUnavailable``, ``StateUnavailable``), so operators see the
cause instead of a crash loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any
from uuid import UUID, uuid4

import httpx
import msgspec
import structlog
from langchain.agents import create_agent
from langchain_core.tools import BaseTool
from langchain_core.tracers.langchain import wait_for_all_tracers
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from langchain_platform.agents.agent_run import AgentRun, InFlight
from langchain_platform.agents.chains import build_chain, chain_variables, invoke_chain
from langchain_platform.agents.errors import AgentsUnavailable, ThreadNotFound, UnknownAgent, UnknownChain
from langchain_platform.agents.llm import LLMFactory
from langchain_platform.agents.middleware import (
    HistoryTrimMiddleware,
    LLMFailureMiddleware,
    ModelSettings,
    RunModelSettingsMiddleware,
    ToolTimeoutMiddleware,
)
from langchain_platform.agents.registry import AgentSpec, ChainSpec, Registry, RegistryError, load_registry
from langchain_platform.agents.run_deadlines import RunDeadlines
from langchain_platform.agents.schemas import (
    AgentInfo,
    AgentList,
    ChainInfo,
    ChainList,
    ChainResponse,
    ThreadView,
)
from langchain_platform.agents.threads import load_messages, to_thread_messages
from langchain_platform.agents.tools import build_tools
from langchain_platform.principals import Principal
from langchain_platform.settings import Settings
from langchain_platform.state.backend import StateBackend
from langchain_platform.state.run_guard import Lease, RunGuard
from langchain_platform.state.store import PlatformStore

IDLE_POLL_SECONDS = 0.05
# What /health tells a caller without a key about agents file problems (the file's path and
# contents are for operators).
AGENTS_FILE_INVALID = "the agents file is invalid: run `langchain-platform check-config`"

_log = structlog.get_logger("langchain_platform.agents")

Graph = CompiledStateGraph[Any, Any, Any, Any]


class RuntimeHealth(msgspec.Struct):
    agents_loaded: bool
    chains_loaded: bool
    agents_count: int
    chains_count: int
    checkpointer_backend: str
    checkpointer_ok: bool
    reasons: list[str]


class AgentRuntime:
    def __init__(
        self,
        settings: Settings,
        registry: Registry | None,
        registry_problems: list[str],
        state: StateBackend,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._registry_problems = registry_problems
        self._state = state
        self._http: httpx.AsyncClient | None = None
        self._llm = LLMFactory(settings)
        self._tools: dict[str, BaseTool] = build_tools(
            self.http_client, settings.http_tool_allowlist, settings.tool_timeout_seconds
        )
        # Keyed by agent and whether the graph is stateless (compiled without a checkpointer).
        self._graphs: dict[tuple[str, bool], tuple[BaseCheckpointSaver[Any] | None, Graph]] = {}
        self._chains: dict[str, Any] = {}
        self._in_flight = InFlight()
        self._deadlines = RunDeadlines()
        self._runs_stopped = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: Settings) -> AgentRuntime:
        registry: Registry | None = None
        problems: list[str] = []
        try:
            registry = load_registry(settings.agents_config)
        except RegistryError as exc:
            problems = exc.messages
            _log.error("failed to load agents file", file=str(settings.agents_config), problems=problems)
        state = StateBackend(settings.checkpointer_url)
        await state.start()
        if not state.ok:
            _log.error("state store unavailable at start", backend=state.backend, error=state.last_error)
        runtime = cls(settings, registry, problems, state)
        if runtime._llm.unavailable_reason:
            _log.warning("agents not loaded", reason=runtime._llm.unavailable_reason)
        else:
            runtime._build_all()
        return runtime

    def _build_all(self) -> None:
        """Build every model, agent graph and chain now, so "ready" means ready.

        The first model alone costs a few hundred ms (HTTP clients, SSL contexts, lazy imports),
        which the first run would otherwise pay. Agents whose state store is still down are built
        on their first run instead.
        """
        if self._registry is None:
            return
        saver = self._state.saver
        if saver is not None:
            for agent in self._registry.agents.values():
                self._graph(agent, saver)
        for chain in self._registry.chains.values():
            self._chain_runnable(chain)

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def state(self) -> StateBackend:
        return self._state

    def http_client(self) -> httpx.AsyncClient:
        # Created on first use: its SSL context costs tens of ms at start, and only the http_get
        # tool and webhook callbacks need it.
        if self._http is None:
            timeout = self._settings.tool_timeout_seconds
            self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        return self._http

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
        await self._state.close()
        # Traces are sent in the background; flush them so a stopping instance loses none.
        await asyncio.to_thread(wait_for_all_tracers)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` in the background; ``wait_idle`` waits for it and ``close`` cancels it."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def in_flight_runs(self) -> int:
        return self._in_flight.count

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109  # the contract names it so
        """Wait until no run executes and no webhook task is pending; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self._in_flight.count or self._deadlines or any(not task.done() for task in self._tasks):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(IDLE_POLL_SECONDS)
        return True

    def stop_runs(self) -> int:
        """End every agent and chain run now with ``RunCancelled``; return how many were running."""
        self._runs_stopped = True
        return self._deadlines.stop_all()

    @property
    def runs_stopped(self) -> bool:
        """Whether this process ended its runs because it stops: a run failing now did not fail on its own."""
        return self._runs_stopped

    # -- health ------------------------------------------------------------------------------------

    async def ping_checkpointer(self) -> bool:
        return await self._state.ping()

    def _unavailable_reason(self) -> str | None:
        if self._registry is None:
            return AGENTS_FILE_INVALID
        return self._llm.unavailable_reason

    def health(self, detailed: bool = True) -> RuntimeHealth:
        """The runtime's state; without ``detailed``, reasons carry no paths, errors or file contents."""
        if detailed:
            reasons = list(self._registry_problems)
        else:
            reasons = [AGENTS_FILE_INVALID] if self._registry_problems else []
        if self._llm.unavailable_reason:
            reasons.append(self._llm.unavailable_reason)
        if not self._state.ok:
            error = (self._state.last_error or "not connected") if detailed else "unavailable"
            reasons.append(f"{self._state.backend} state store: {error}")
        usable = self._unavailable_reason() is None
        agents = len(self._registry.agents) if self._registry else 0
        chains = len(self._registry.chains) if self._registry else 0
        return RuntimeHealth(
            agents_loaded=usable and agents > 0,
            chains_loaded=usable and chains > 0,
            agents_count=agents if usable else 0,
            chains_count=chains if usable else 0,
            checkpointer_backend=self._state.backend,
            checkpointer_ok=self._state.ok,
            reasons=reasons,
        )

    # -- lookups -----------------------------------------------------------------------------------

    def agent(self, name: str) -> AgentSpec:
        spec = self._registry.agents.get(name) if self._registry else None
        if spec is None:
            raise UnknownAgent(f"unknown agent {name!r}: GET /api/enterprise/agents lists them")
        return spec

    def _chain(self, name: str) -> ChainSpec:
        spec = self._registry.chains.get(name) if self._registry else None
        if spec is None:
            raise UnknownChain(f"unknown chain {name!r}: GET /api/chains lists them")
        return spec

    def _require_llm(self) -> None:
        reason = self._unavailable_reason()
        if reason is not None:
            raise AgentsUnavailable(f"agents are not loaded: {reason}")

    def list_agents(self) -> AgentList:
        reason = self._unavailable_reason()
        state = "unavailable" if reason else "ready"
        agents = [
            AgentInfo(
                name=spec.name,
                description=spec.description,
                model=self._llm.model_name(spec.overrides),
                tools=list(spec.tools),
                state=state,
            )
            for spec in (self._registry.agents.values() if self._registry else [])
        ]
        return AgentList(
            status="unavailable" if reason else "ok", agents=agents, reasons=[reason] if reason else []
        )

    def list_chains(self) -> ChainList:
        reason = self._unavailable_reason()
        state = "unavailable" if reason else "ready"
        chains = [
            ChainInfo(
                name=spec.name,
                description=spec.description,
                model=self._llm.model_name(spec.overrides),
                input_variables=list(spec.input_variables),
                state=state,
            )
            for spec in (self._registry.chains.values() if self._registry else [])
        ]
        return ChainList(
            status="unavailable" if reason else "ok", chains=chains, reasons=[reason] if reason else []
        )

    # -- agent runs --------------------------------------------------------------------------------

    async def compiled_graph(self, name: str, *, stateless: bool = False) -> Graph:
        """The compiled LangGraph agent the service runs for ``name``, with its checkpointer (none when
        ``stateless``, as for stateless runs).

        Raises ``UnknownAgent``, ``AgentsUnavailable`` without an LLM, ``StateUnavailable`` while
        the state store is down.
        """
        spec = self.agent(name)
        self._require_llm()
        saver, _ = await self._state.require()
        return self._graph(spec, None if stateless else saver)

    def _graph(self, spec: AgentSpec, saver: BaseCheckpointSaver[Any] | None) -> Graph:
        """The agent's graph checkpointing to ``saver``; with None, one that keeps no state at all."""
        key = (spec.name, saver is None)
        cached = self._graphs.get(key)
        if cached is not None and cached[0] is saver:
            return cached[1]
        s = self._settings
        graph: Graph = create_agent(
            model=self._llm.chat_model(spec.overrides),
            tools=[self._tools[name] for name in spec.tools],
            system_prompt=spec.system_prompt,
            middleware=[
                LLMFailureMiddleware(s.llm_timeout_seconds, s.llm_max_retries),
                HistoryTrimMiddleware(s.max_history_messages),
                ToolTimeoutMiddleware(s.tool_timeout_seconds),
                RunModelSettingsMiddleware(),
            ],
            checkpointer=saver,
            name=spec.name,
        )
        self._graphs[key] = (saver, graph)
        return graph

    async def prepare_run(
        self,
        name: str,
        thread_id: str | None,
        model_settings: ModelSettings | None = None,
        *,
        principal: Principal,
    ) -> AgentRun:
        """Check the agent, the LLM and the store, and take the thread's lease (``ThreadBusy`` if busy).

        The lease also records the thread as ``name``'s and ``principal``'s, or refuses it if another
        agent owns it (``ThreadBusy``) or another key owner does (``ThreadHidden``, a 404).
        """
        spec = self.agent(name)
        self._require_llm()
        saver, store = await self._state.require()
        thread_id = thread_id or uuid4().hex
        graph = self._graph(spec, saver)
        run_id = uuid4()
        lease = await self._state.call(
            RunGuard(store).acquire(thread_id, str(run_id), agent=name, principal=principal)
        )
        return self._new_run(spec, graph, thread_id, run_id, lease, store, model_settings)

    async def prepare_stateless_run(self, name: str, model_settings: ModelSettings | None = None) -> AgentRun:
        """A run whose input is the whole conversation and which stores nothing.

        No checkpointer, no thread lease, no thread-index row: its thread id only labels logs and
        traces. The agent's stateless graph is compiled on its first such run (start builds only
        the graphs every deployment uses).
        """
        spec = self.agent(name)
        self._require_llm()
        _, store = await self._state.require()
        graph = self._graph(spec, None)
        return self._new_run(spec, graph, uuid4().hex, uuid4(), None, store, model_settings)

    def _new_run(
        self,
        spec: AgentSpec,
        graph: Graph,
        thread_id: str,
        run_id: UUID,
        lease: Lease | None,
        store: PlatformStore,
        model_settings: ModelSettings | None,
    ) -> AgentRun:
        return AgentRun(
            spec=spec,
            graph=graph,
            model=self._llm.model_name(spec.overrides),
            thread_id=thread_id,
            run_id=run_id,
            lease=lease,
            store=store,
            state=self._state,
            in_flight=self._in_flight,
            deadlines=self._deadlines,
            run_timeout_seconds=self._settings.run_timeout_seconds,
            llm_timeout_seconds=self._settings.llm_timeout_seconds,
            model_settings=model_settings,
            # A stateless run has no checkpointer, and LangGraph warns about a durability without one.
            durability=self._settings.checkpoint_durability if lease is not None else None,
        )

    # -- threads -----------------------------------------------------------------------------------

    async def _visible_thread(self, name: str, thread_id: str, principal: Principal) -> None:
        """Raise ``ThreadNotFound`` unless ``name`` has the thread and ``principal`` may use it.

        Another owner's thread gets the very answer of a missing one: its existence is not revealed.
        """
        _, store = await self._state.require()
        record = await self._state.call(store.thread_record(thread_id))
        if record is None or record.agent != name or not principal.may_use(record.owner):
            raise ThreadNotFound(f"agent {name} has no thread {thread_id}")

    async def thread(self, name: str, thread_id: str, principal: Principal) -> ThreadView:
        self.agent(name)
        saver, _ = await self._state.require()
        await self._visible_thread(name, thread_id, principal)
        messages = await self._state.call(load_messages(saver, thread_id))
        if not messages:
            raise ThreadNotFound(f"agent {name} has no thread {thread_id}")
        return ThreadView(thread_id=thread_id, agent=name, messages=to_thread_messages(messages))

    async def delete_thread(self, name: str, thread_id: str, principal: Principal) -> None:
        self.agent(name)
        saver, store = await self._state.require()
        await self._visible_thread(name, thread_id, principal)
        # Hold the thread's lease while deleting, so a running conversation is not cut in half.
        lease = await self._state.call(RunGuard(store).acquire(thread_id, f"delete-{uuid4()}"))
        try:
            await self._state.call(saver.adelete_thread(thread_id))
            await self._state.call(store.forget_threads([thread_id]))
        finally:
            await self._state.call(lease.release())

    # -- chains ------------------------------------------------------------------------------------

    def chain_variable_sets(self) -> list[tuple[str, ...]]:
        """The template variables of each loaded chain (for the OpenAPI document)."""
        return [spec.input_variables for spec in (self._registry.chains.values() if self._registry else [])]

    def _chain_runnable(self, spec: ChainSpec) -> Any:
        chain = self._chains.get(spec.name)
        if chain is None:
            chain = self._chains[spec.name] = build_chain(spec, self._llm.chat_model(spec.overrides))
        return chain

    async def invoke_chain(self, name: str, value: str | dict[str, Any]) -> ChainResponse:
        spec = self._chain(name)
        self._require_llm()
        variables = chain_variables(spec, value)
        return await invoke_chain(
            spec,
            self._chain_runnable(spec),
            variables,
            model=self._llm.model_name(spec.overrides),
            run_timeout_seconds=self._settings.run_timeout_seconds,
            llm_timeout_seconds=self._settings.llm_timeout_seconds,
            llm_max_retries=self._settings.llm_max_retries,
            deadlines=self._deadlines,
        )
