"""LangGraph's SQLite checkpointer with each call one trip to a thread of its own.

``AsyncSqliteSaver`` goes through aiosqlite, where every statement, cursor, fetch and commit is a
trip to aiosqlite's thread and back (a queue put, a thread wake-up, a loop callback): 3 per
checkpoint written, 4 per task's writes, 6 per checkpoint read, about 30 per agent run. This saver
is LangGraph's own synchronous ``SqliteSaver`` (the same tables, SQL, serialisation and version
ids, so existing files keep working) whose async methods run the synchronous ones whole on one
dedicated thread: one trip per call. The thread owns the connection, so calls never interleave on
it; a cancelled caller leaves the call to finish there, never a transaction half done.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from langchain_platform.state.store_sqlite import BUSY_TIMEOUT_MS

_T = TypeVar("_T")


def _connect(path: Path) -> sqlite3.Connection:
    """The settings of ``store_sqlite.open_sqlite`` (WAL, synchronous=NORMAL, busy timeout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False only so that the loop's thread may close it if the thread is gone;
    # every statement runs on the saver's thread.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


class ThreadedSqliteSaver(SqliteSaver):
    """Use ``open``; ``close`` when done."""

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        super().__init__(conn)
        self._thread = thread

    @classmethod
    async def open(cls, path: Path) -> ThreadedSqliteSaver:
        """Connect and create (or migrate) the checkpoint tables."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpointer")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(thread, _connect, path)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        saver = cls(conn, thread)
        try:
            await saver._run(saver.setup)
        except BaseException:
            await saver.close()
            raise
        return saver

    async def _run(self, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, lambda: call(*args, **kwargs))

    async def close(self) -> None:
        try:
            await self._run(self.conn.close)
        finally:
            self._thread.shutdown(wait=False)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await self._run(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._run(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._run(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(self.delete_thread, thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._run(self.get_delta_channel_history, config=config, channels=channels)
