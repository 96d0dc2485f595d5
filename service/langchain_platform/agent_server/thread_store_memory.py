"""``ThreadStore`` for ``memory://``: one process, kept as long as it runs, like its checkpoints; the
same selection as the SQL store, in Python."""

from __future__ import annotations

from dataclasses import replace

from langchain_platform.agent_server.assistants import matches
from langchain_platform.agent_server.thread_store import ExpiryKey, ThreadFilter, ThreadOrder, ThreadRow


def _selects(selected: ThreadFilter, row: ThreadRow) -> bool:
    return (
        not row.expired(selected.now)
        and (selected.owner is None or row.owner in (None, selected.owner))
        and (selected.ids is None or row.thread_id in selected.ids)
        and matches(row.metadata, selected.metadata)
        and selected.status in (None, "busy" if row.busy else row.outcome)
    )


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

    async def search(self, selected: ThreadFilter, order: ThreadOrder) -> list[ThreadRow]:
        found = [row for row in self._rows.values() if _selects(selected, row)]
        found.sort(key=lambda row: (getattr(row, order.field), row.thread_id), reverse=order.descending)
        return found[order.offset : order.offset + order.limit]

    async def count(self, selected: ThreadFilter) -> int:
        return sum(1 for row in self._rows.values() if _selects(selected, row))

    async def expired(self, now: float, after: ExpiryKey | None, limit: int) -> list[ExpiryKey]:
        found = sorted(
            (expires_at, row.thread_id)
            for row in self._rows.values()
            if row.expired(now) and (expires_at := row.expires_at) is not None
        )
        return [pair for pair in found if after is None or pair > after][:limit]

    async def save(self, row: ThreadRow) -> None:
        self._rows[row.thread_id] = replace(row, busy=False)

    async def delete(self, thread_id: str) -> None:
        self._rows.pop(thread_id, None)
