"""``ThreadStore`` for ``memory://``: one process, kept as long as it runs, like its checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from langchain_platform.agent_server.thread_store import ThreadRow


class MemoryThreadStore:
    def __init__(self) -> None:
        self._rows: dict[str, ThreadRow] = {}

    async def setup(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def insert(self, row: ThreadRow) -> bool:
        if row.thread_id in self._rows:
            return False
        self._rows[row.thread_id] = row
        return True

    async def get(self, thread_id: str) -> ThreadRow | None:
        return self._rows.get(thread_id)

    async def rows(self, owner: str | None, ids: Sequence[str] | None = None) -> list[ThreadRow]:
        wanted = set(ids) if ids is not None else None
        found = [
            row
            for row in self._rows.values()
            if (owner is None or row.owner in (None, owner)) and (wanted is None or row.thread_id in wanted)
        ]
        return sorted(found, key=lambda row: row.updated_at, reverse=True)

    async def save(self, row: ThreadRow) -> None:
        self._rows[row.thread_id] = replace(row, busy=False)

    async def delete(self, thread_id: str) -> None:
        self._rows.pop(thread_id, None)
