"""The one SQL interface the Agent Server's tables (runs, threads) are written against, for SQLite and
PostgreSQL alike: named ``:name`` parameters, each call its own transaction, and the few clauses the
two engines spell differently (``Dialect``). Everything else in the stores' SQL is one text."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Dialect:
    # Appended to the run claim's sub-select ("FOR UPDATE SKIP LOCKED" where the engine has it).
    claim_lock: str
    # Unix seconds of a time column of the platform's own tables (``{column}``): REAL seconds on
    # SQLite, TIMESTAMPTZ on PostgreSQL.
    seconds: str
    # "Now" for a run lease of the platform's tables, on the clock that took it (the caller's
    # ``:now`` on SQLite, the database's on PostgreSQL).
    lease_now: str
    # ``{column}`` (JSON text of an object, or NULL) holds every key of the JSON object ``:metadata``
    # with an equal value: SQLite's json_each, PostgreSQL's jsonb_each.
    metadata_matches: str


class Sql(Protocol):
    """One database connection or pool; ``:name`` parameters; each call is its own transaction."""

    dialect: Dialect

    async def setup(self, statements: Sequence[str]) -> None: ...

    async def fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]: ...

    async def execute(self, sql: str, params: dict[str, Any]) -> int:
        """Run a statement; the number of rows it changed."""

    async def announce(self) -> None:
        """Tell every process's ``watch`` that the run table changed (a no-op where ``watch`` sees
        every commit by itself)."""

    async def watch(self, wake: Callable[[], None], probe: str) -> None:
        """Call ``wake`` whenever another process may have made work (``probe``, a query, returns
        rows when there is some) until cancelled; return at once where one process has it all."""

    async def close(self) -> None: ...


def psycopg_params(sql: str) -> str:
    """``:name`` parameters as psycopg's ``%(name)s``."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


def in_list(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:name_0, :name_1, ...)`` and its parameters: an ``IN`` list both engines take. ``values``
    must not be empty (``IN ()`` is no SQL)."""
    params = {f"{name}_{n}": value for n, value in enumerate(values)}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params
