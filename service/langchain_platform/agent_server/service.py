"""The Agent Server API's per-process services, built on the process's ``AgentRuntime`` at first use."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from langchain_platform.agent_server.background import BackgroundRuns
from langchain_platform.agent_server.run_store import RunStore
from langchain_platform.agent_server.run_store_sqlite import SqliteSql
from langchain_platform.agent_server.runs import Runs
from langchain_platform.agent_server.sql import Sql
from langchain_platform.agent_server.sweeper import Sweeper
from langchain_platform.agent_server.thread_store import ThreadStore
from langchain_platform.agent_server.thread_store_memory import MemoryThreadStore
from langchain_platform.agent_server.thread_store_sql import SqlThreadStore
from langchain_platform.agent_server.threads import Threads
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.state.errors import StateUnavailable
from langchain_platform.state.url import parse_checkpointer_url

_log = structlog.get_logger("langchain_platform.agent_server")
# How often a process whose state store was down at start tries again to start its worker loop.
START_RETRY_SECONDS = 2.0


def stores_for(runtime: AgentRuntime) -> tuple[ThreadStore, Sql]:
    target = parse_checkpointer_url(runtime.settings.checkpointer_url)
    if target.backend == "memory":
        return MemoryThreadStore(), SqliteSql(None)
    if target.backend == "sqlite" and target.path is not None:
        # A connection each: thread reads need not queue behind the run table's statements.
        return SqlThreadStore(SqliteSql(target.path)), SqliteSql(target.path)
    # Here, not at the top: the PostgreSQL driver is imported only for a postgresql:// URL.
    from langchain_platform.agent_server.run_store_postgres import PostgresSql

    pool = runtime.state.pool
    if pool is None or target.dsn is None:
        raise StateUnavailable(f"the {target.backend} state store has no connection pool")
    return SqlThreadStore(PostgresSql(pool, target.dsn)), PostgresSql(pool, target.dsn)


class AgentServer:
    def __init__(self, runtime: AgentRuntime, store: ThreadStore, run_store: RunStore) -> None:
        self.runtime = runtime
        self.store = store
        self.threads = Threads(runtime, store)
        self.runs = Runs(runtime, self.threads)
        settings = runtime.settings
        self.background = BackgroundRuns(
            runtime,
            self.threads,
            self.runs,
            run_store,
            lease_seconds=settings.background_run_lease_seconds,
            retry_lost=settings.background_run_retry_lost,
            poll_seconds=settings.background_run_poll_seconds,
            per_process=settings.background_runs_per_process,
        )
        self.sweeper = Sweeper(runtime, self.threads, run_store)


class AgentServerHolder:
    """Builds the services once the runtime exists (after the app's lifespan started) and closes them."""

    def __init__(self) -> None:
        self._server: AgentServer | None = None
        self._lock = asyncio.Lock()
        self._starter: asyncio.Task[None] | None = None

    async def get(self, runtime: AgentRuntime) -> AgentServer:
        if self._server is None:
            async with self._lock:
                if self._server is None:
                    # The platform tables it joins exist once the state backend is connected.
                    await runtime.state.require()
                    store, sql = stores_for(runtime)
                    run_store = RunStore(sql)
                    await runtime.state.call(store.setup())
                    await runtime.state.call(run_store.setup())
                    server = AgentServer(runtime, store, run_store)
                    server.background.start()
                    server.sweeper.start()
                    self._server = server
        return self._server

    def start(self, runtime: AgentRuntime) -> None:
        """Start the background-run worker loop now, not at the first request, so every process takes
        runs; a state store that is down delays it until it answers."""

        async def start() -> None:
            while self._server is None:
                try:
                    await self.get(runtime)
                except StateUnavailable as exc:
                    _log.warning("agent server waits for the state store", error=exc.detail)
                    await asyncio.sleep(START_RETRY_SECONDS)

        self._starter = asyncio.create_task(start(), name="agent-server-start")

    async def close(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
        if self._server is not None:
            server, self._server = self._server, None
            await server.sweeper.stop()
            await server.background.stop(server.runtime.settings.shutdown_grace_seconds)
            await server.background.store.close()
            await server.store.close()
