"""The state backend chosen by ``CHECKPOINTER_URL``: a LangGraph checkpointer plus the platform store.

A database that is down at start must not stop the service: the backend starts "not ready", the
health report says why, and the next ping or request tries again, so the service recovers by itself
once the database is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from langchain_platform.state.errors import StateUnavailable, describe_error, state_errors, store_failed
from langchain_platform.state.run_guard import release_leases_of_previous_boots
from langchain_platform.state.sqlite_saver import ThreadedSqliteSaver
from langchain_platform.state.store import PlatformStore
from langchain_platform.state.store_memory import MemoryStore
from langchain_platform.state.store_sqlite import SqliteStore
from langchain_platform.state.url import parse_checkpointer_url

if TYPE_CHECKING:
    from langchain_platform.state.store_postgres import Pool

POOL_WAIT_SECONDS = 5.0
POOL_MAX_SIZE = 10
# The pool retries a lost database with growing back-off; giving up early makes the next request
# start a fresh attempt at once, so recovery after an outage takes seconds, not minutes.
POOL_RECONNECT_GIVE_UP_SECONDS = 10.0
# Serializes schema migrations of replicas starting together against one database.
_SETUP_ADVISORY_LOCK = 0x6C61_6E67_7374_6174
_SETUP_LOCK_RETRY_SECONDS = 0.05

_T = TypeVar("_T")


class StateBackend:
    def __init__(self, url: str) -> None:
        self._target = parse_checkpointer_url(url)
        self.backend = self._target.backend
        self._saver: BaseCheckpointSaver[Any] | None = None
        self._store: PlatformStore | None = None
        self._pool: Pool | None = None
        self._ready = False
        self._connect_lock = asyncio.Lock()
        self.ok = False
        self.last_error: str | None = None

    async def start(self) -> None:
        """Build the backend and try to connect once; failure is recorded, not raised."""
        if self.backend == "postgresql":
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
            from psycopg.rows import dict_row
            from psycopg_pool import AsyncConnectionPool

            from langchain_platform.state.store_postgres import PostgresStore

            assert self._target.dsn is not None
            # The pool connects in the background and keeps retrying; requests wait at most
            # POOL_WAIT_SECONDS for a connection, so a dead database answers 503 quickly.
            self._pool = AsyncConnectionPool(
                self._target.dsn,
                open=False,
                min_size=1,
                max_size=POOL_MAX_SIZE,
                timeout=POOL_WAIT_SECONDS,
                reconnect_timeout=POOL_RECONNECT_GIVE_UP_SECONDS,
                check=AsyncConnectionPool.check_connection,
                kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            )
            await self._pool.open(wait=False)
            self._saver = AsyncPostgresSaver(self._pool)
            self._store = PostgresStore(self._pool)
        await self.connect()

    async def connect(self) -> bool:
        """Open and migrate what is missing; True when the backend can serve."""
        async with self._connect_lock:
            if self._ready:
                return True
            try:
                if self.backend == "memory":
                    self._saver, self._store = InMemorySaver(), MemoryStore()
                elif self.backend == "sqlite":
                    await self._open_sqlite()
                else:
                    await self._setup_postgres()
                assert self._store is not None
                # Their holders died with the previous start: free those threads now, not at expiry.
                await release_leases_of_previous_boots(self._store)
            except state_errors() as exc:
                self.ok, self.last_error = False, describe_error(exc)
                return False
            self._ready, self.ok, self.last_error = True, True, None
            return True

    async def _open_sqlite(self) -> None:
        assert self._target.path is not None
        saver = await ThreadedSqliteSaver.open(self._target.path)
        store: SqliteStore | None = None
        try:
            store = await SqliteStore.open(self._target.path)
            await store.setup()
        except BaseException:
            await saver.close()
            if store is not None:
                await store.close()
            raise
        self._saver, self._store = saver, store

    async def _setup_postgres(self) -> None:
        assert self._pool is not None
        assert self._saver is not None
        assert self._store is not None
        async with self._pool.connection() as conn:
            # Tried, not waited for: a session waiting in pg_advisory_lock holds a snapshot, and the
            # checkpointer's migrations run CREATE INDEX CONCURRENTLY (on another pooled connection of
            # the holder), which waits for every older snapshot. Two processes starting together on a
            # new database then waited on each other for ever, through the holder's process where
            # PostgreSQL's deadlock detector cannot see it.
            while True:
                if await self._try_setup_lock(conn):
                    break
                await asyncio.sleep(_SETUP_LOCK_RETRY_SECONDS)
            try:
                await self._saver.setup()  # type: ignore[attr-defined]
                await self._store.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_ADVISORY_LOCK,))

    @staticmethod
    async def _try_setup_lock(conn: Any) -> bool:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (_SETUP_ADVISORY_LOCK,))
        row = await cursor.fetchone()
        return bool(row and row["locked"])

    async def ping(self) -> bool:
        """A real query against the store; records the outcome in ``ok``."""
        if not self._ready:
            return await self.connect()
        assert self._store is not None
        try:
            await self._store.ping()
        except state_errors() as exc:
            self.ok, self.last_error = False, describe_error(exc)
            return False
        self.ok, self.last_error = True, None
        return True

    @property
    def pool(self) -> Pool | None:
        """The PostgreSQL connection pool (None for the other backends), for tables of other packages."""
        return self._pool

    @property
    def saver(self) -> BaseCheckpointSaver[Any] | None:
        """The checkpointer once connected, else None."""
        return self._saver if self._ready else None

    async def require(self) -> tuple[BaseCheckpointSaver[Any], PlatformStore]:
        """The saver and store, connecting first if needed; raise ``StateUnavailable`` otherwise."""
        if not self._ready and not await self.connect():
            raise StateUnavailable(f"the {self.backend} state store is unavailable ({self.last_error})")
        assert self._saver is not None
        assert self._store is not None
        return self._saver, self._store

    async def call(self, coro: Awaitable[_T]) -> _T:
        """Await a store or checkpointer call, turning a database failure into ``StateUnavailable``."""
        try:
            return await coro
        except state_errors() as exc:
            self.record_failure(exc)
            raise store_failed(exc) from exc

    def record_failure(self, exc: BaseException) -> None:
        """A request hit a database error: health shows it until the next successful ping."""
        self.ok, self.last_error = False, describe_error(exc)

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
        if isinstance(self._saver, ThreadedSqliteSaver):
            await self._saver.close()
        if self._pool is not None:
            await self._pool.close()
        self._ready = False
