"""``AgentRuntime``: everything the agent, chain, thread and webhook endpoints of one process share.

It starts whatever the configuration allows: without an LLM key, with a broken agents file or with
the database down it still starts, reports why in ``health().reasons`` and refuses only the
requests that cannot work (503), so operators see the cause instead of a crash loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import msgspec
import structlog
from langchain.agents import create_agent
from langchain_core.tools import BaseTool
from langchain_core.tracers.langchain import wait_for_all_tracers
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from litestar.exceptions import ClientException

from langchain_platform.agents.agent_run import AgentRun, InFlight
from langchain_platform.agents.callback_policy import CallbackPolicy, CallbackRefused
from langchain_platform.agents.chains import build_chain, chain_variables, invoke_chain
from langchain_platform.agents.failures import to_http_error
from langchain_platform.agents.llm import LLMFactory
from langchain_platform.agents.middleware import (
    HistoryTrimMiddleware,
    LLMFailureMiddleware,
    ToolTimeoutMiddleware,
)
from langchain_platform.agents.registry import AgentSpec, ChainSpec, Registry, RegistryError, load_registry
from langchain_platform.agents.run_guard import RunGuard
from langchain_platform.agents.schemas import (
    AgentInfo,
    AgentList,
    ChainInfo,
    ChainList,
    ChainResponse,
    ClearSessionsResponse,
    RunView,
    ThreadView,
)
from langchain_platform.agents.state import StateBackend, StateUnavailable, state_errors
from langchain_platform.agents.store import PlatformStore
from langchain_platform.agents.threads import load_messages, to_thread_messages
from langchain_platform.agents.tools import build_tools
from langchain_platform.agents.webhooks import deliver
from langchain_platform.errors import NotFound, ServiceUnavailable
from langchain_platform.settings import Settings

IDLE_POLL_SECONDS = 0.05
STATE_RETRY_AFTER_SECONDS = 5

_log = structlog.get_logger("langchain_platform.agents")

Graph = CompiledStateGraph[Any, Any, Any, Any]
_T = TypeVar("_T")


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
        self._tools: dict[str, BaseTool] = build_tools(self._http_client, settings.http_tool_allowlist)
        self._graphs: dict[str, tuple[BaseCheckpointSaver[Any], Graph]] = {}
        self._chains: dict[str, Any] = {}
        self._in_flight = InFlight()
        self._tasks: set[asyncio.Task[None]] = set()
        self._callback_policy = CallbackPolicy.from_allowlist(settings.webhook_callback_allowlist)

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

    def _http_client(self) -> httpx.AsyncClient:
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

    def in_flight_runs(self) -> int:
        return self._in_flight.count

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109  # the contract names it so
        """Wait until no run executes and no webhook task is pending; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self._in_flight.count or any(not task.done() for task in self._tasks):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(IDLE_POLL_SECONDS)
        return True

    # -- health ------------------------------------------------------------------------------------

    async def ping_checkpointer(self) -> bool:
        return await self._state.ping()

    def _unavailable_reason(self) -> str | None:
        if self._registry is None:
            return "the agents file is invalid: run `langchain-platform check-config`"
        return self._llm.unavailable_reason

    def health(self) -> RuntimeHealth:
        reasons = list(self._registry_problems)
        if self._llm.unavailable_reason:
            reasons.append(self._llm.unavailable_reason)
        if not self._state.ok:
            reasons.append(f"{self._state.backend} state store: {self._state.last_error or 'not connected'}")
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

    def _agent(self, name: str) -> AgentSpec:
        spec = self._registry.agents.get(name) if self._registry else None
        if spec is None:
            raise NotFound(f"unknown agent {name!r}: GET /api/enterprise/agents lists them")
        return spec

    def _chain(self, name: str) -> ChainSpec:
        spec = self._registry.chains.get(name) if self._registry else None
        if spec is None:
            raise NotFound(f"unknown chain {name!r}: GET /api/chains lists them")
        return spec

    def _require_llm(self) -> None:
        reason = self._unavailable_reason()
        if reason is not None:
            raise ServiceUnavailable(f"agents are not loaded: {reason}")

    async def _require_state(self) -> tuple[BaseCheckpointSaver[Any], PlatformStore]:
        try:
            return await self._state.require()
        except StateUnavailable as exc:
            raise ServiceUnavailable(str(exc), retry_after=STATE_RETRY_AFTER_SECONDS) from exc

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

    async def compiled_graph(self, name: str) -> Graph:
        """The compiled LangGraph agent the service runs for ``name``, with its checkpointer.

        Raises 404 for an unknown agent, 503 without an LLM or while the state store is down.
        """
        spec = self._agent(name)
        self._require_llm()
        saver, _ = await self._require_state()
        return self._graph(spec, saver)

    def _graph(self, spec: AgentSpec, saver: BaseCheckpointSaver[Any]) -> Graph:
        cached = self._graphs.get(spec.name)
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
            ],
            checkpointer=saver,
            name=spec.name,
        )
        self._graphs[spec.name] = (saver, graph)
        return graph

    async def _state_call(self, coro: Awaitable[_T]) -> _T:
        """Await a store/checkpointer call, turning a database failure into a 503."""
        try:
            return await coro
        except state_errors() as exc:
            self._state.record_failure(exc)
            error = to_http_error(exc)
            assert error is not None
            raise error from exc

    async def prepare_run(self, name: str, thread_id: str | None) -> AgentRun:
        """Check the agent, the LLM and the store, and take the thread's lease (409 if busy).

        The lease also records the thread as ``name``'s, or refuses it (409) if another agent owns it.
        """
        spec = self._agent(name)
        self._require_llm()
        saver, store = await self._require_state()
        thread_id = thread_id or uuid4().hex
        graph = self._graph(spec, saver)
        run_id = uuid4()
        lease = await self._state_call(RunGuard(store).acquire(thread_id, str(run_id), agent=name))
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
            run_timeout_seconds=self._settings.run_timeout_seconds,
            llm_timeout_seconds=self._settings.llm_timeout_seconds,
        )

    # -- threads and sessions ----------------------------------------------------------------------

    async def thread(self, name: str, thread_id: str) -> ThreadView:
        self._agent(name)
        saver, store = await self._require_state()
        owner = await self._state_call(store.thread_agent(thread_id))
        messages = await self._state_call(load_messages(saver, thread_id)) if owner == name else None
        if not messages:
            raise NotFound(f"agent {name} has no thread {thread_id}")
        return ThreadView(thread_id=thread_id, agent=name, messages=to_thread_messages(messages))

    async def delete_thread(self, name: str, thread_id: str) -> None:
        self._agent(name)
        saver, store = await self._require_state()
        if await self._state_call(store.thread_agent(thread_id)) != name:
            raise NotFound(f"agent {name} has no thread {thread_id}")
        # Hold the thread's lease while deleting, so a running conversation is not cut in half.
        lease = await self._state_call(RunGuard(store).acquire(thread_id, f"delete-{uuid4()}"))
        try:
            await self._state_call(saver.adelete_thread(thread_id))
            await self._state_call(store.forget_threads([thread_id]))
        finally:
            await self._state_call(lease.release())

    async def clear_sessions(
        self, older_than_seconds: int | None, thread_ids: list[str] | None
    ) -> ClearSessionsResponse:
        """Delete the named and/or idle threads with their leases; always drop expired leases."""
        saver, store = await self._require_state()
        stale = await self._state_call(store.clear_expired_run_locks())
        targets = set(thread_ids or [])
        if older_than_seconds is not None:
            targets.update(await self._state_call(store.threads_older_than(older_than_seconds)))
        for thread_id in sorted(targets):
            await self._state_call(saver.adelete_thread(thread_id))
        if targets:
            await self._state_call(store.forget_threads(sorted(targets)))
        _log.info("sessions cleared", threads=len(targets), stale_locks=stale)
        return ClearSessionsResponse(
            cleared=len(targets) + stale, thread_ids=sorted(targets), stale_locks_released=stale
        )

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
        )

    # -- webhooks ----------------------------------------------------------------------------------

    def webhook_secret(self) -> str:
        secret = self._settings.webhook_secret
        if not secret:
            raise ServiceUnavailable("webhooks are disabled: set WEBHOOK_SECRET to enable them")
        return secret

    async def submit_webhook(
        self, name: str, text: str, thread_id: str | None, callback_url: str | None
    ) -> AgentRun:
        """Accept a webhook event: check the callback, take the thread, run in the background."""
        self._agent(name)
        if callback_url is not None:
            try:
                await self._callback_policy.check(callback_url)
            except CallbackRefused as exc:
                raise ClientException(str(exc)) from exc
        run = await self.prepare_run(name, thread_id)
        try:
            await self._state_call(run.store.create_run(str(run.run_id), name, run.thread_id))
        except BaseException:
            await run.release()
            raise
        task = asyncio.create_task(self._webhook_task(run, text, callback_url), name=f"webhook-{run.run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def _webhook_task(self, run: AgentRun, text: str, callback_url: str | None) -> None:
        run_id = str(run.run_id)
        store = run.store
        payload: dict[str, Any] = {"run_id": run_id, "agent": run.spec.name, "thread_id": run.thread_id}
        try:
            await store.update_run(run_id, status="running")
            result = msgspec.to_builtins(await run.invoke(text))
            await store.update_run(run_id, status="succeeded", result=result)
            payload.update(status="succeeded", result=result)
        except asyncio.CancelledError:
            with contextlib.suppress(*state_errors()):
                await asyncio.shield(
                    store.update_run(run_id, status="failed", error="cancelled: service stopped")
                )
            raise
        except Exception as exc:
            error = to_http_error(exc)
            detail = error.detail if error is not None else "internal error; see the service log"
            if error is None:
                _log.exception("webhook run failed", run_id=run_id)
            with contextlib.suppress(*state_errors()):
                await store.update_run(run_id, status="failed", error=detail)
            payload.update(status="failed", error=detail)
        finally:
            await run.release()
        if callback_url is not None:
            outcome = await deliver(
                self._http_client(),
                self._callback_policy,
                url=callback_url,
                secret=self.webhook_secret(),
                payload=payload,
                max_attempts=self._settings.webhook_callback_max_attempts,
                timeout_seconds=self._settings.webhook_callback_timeout_seconds,
            )
            _log.info("webhook callback", run_id=run_id, outcome=outcome)
            with contextlib.suppress(*state_errors()):
                await store.set_run_callback(run_id, outcome)

    async def run_status(self, run_id: str) -> RunView:
        _, store = await self._require_state()
        record = await self._state_call(store.get_run(run_id))
        if record is None:
            raise NotFound(f"no run {run_id}")
        return RunView(
            run_id=record.run_id,
            agent=record.agent,
            thread_id=record.thread_id,
            status=record.status,
            result=record.result,
            error=record.error,
            callback=record.callback,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
