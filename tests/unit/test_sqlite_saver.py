"""The SQLite checkpointer: LangGraph's own tables and format (files written by ``AsyncSqliteSaver``
keep working, and the other way round), every statement on its one thread, and a real graph's
history through it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_platform.state.sqlite_saver import ThreadedSqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph


class Counter(TypedDict):
    count: int


def _graph() -> StateGraph[Counter, Any, Counter, Counter]:
    graph = StateGraph(Counter)
    graph.add_node("add", lambda state: {"count": state["count"] + 1})
    graph.add_node("double", lambda state: {"count": state["count"] * 2})
    graph.add_edge(START, "add")
    graph.add_edge("add", "double")
    graph.add_edge("double", END)
    return graph


def _config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


async def test_a_graph_resumes_from_what_the_other_saver_wrote(tmp_path: Path) -> None:
    path = tmp_path / "state" / "checkpoints.sqlite"  # its directory is created
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "old.sqlite")) as old:
        assert (await _graph().compile(checkpointer=old).ainvoke({"count": 1}, _config("t")))["count"] == 4
    (tmp_path / "old.sqlite").rename(tmp_path / "moved.sqlite")
    saver = await ThreadedSqliteSaver.open(tmp_path / "moved.sqlite")
    try:
        graph = _graph().compile(checkpointer=saver)
        assert (await graph.aget_state(_config("t"))).values == {"count": 4}
        await graph.ainvoke({"count": 5}, _config("t"))
        history = [snapshot.values async for snapshot in graph.aget_state_history(_config("t"))]
        assert history[0] == {"count": 12}
        assert {"count": 4} in history
        await saver.adelete_thread("t")
        assert await saver.aget_tuple(_config("t")) is None
    finally:
        await saver.close()
    new = await ThreadedSqliteSaver.open(path)
    try:
        await _graph().compile(checkpointer=new).ainvoke({"count": 2}, _config("n"))
    finally:
        await new.close()
    async with AsyncSqliteSaver.from_conn_string(str(path)) as old:
        assert (await _graph().compile(checkpointer=old).aget_state(_config("n"))).values == {"count": 6}


async def test_statements_run_on_the_saver_thread_in_wal_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saver = await ThreadedSqliteSaver.open(tmp_path / "c.sqlite")
    threads: set[str] = set()
    original = saver.cursor

    def recording_cursor(transaction: bool = True) -> Any:
        threads.add(threading.current_thread().name)
        return original(transaction)

    monkeypatch.setattr(saver, "cursor", recording_cursor)
    try:
        await _graph().compile(checkpointer=saver).ainvoke({"count": 0}, _config("t"))
        assert [item async for item in saver.alist(_config("t"), limit=2)]
    finally:
        await saver.close()
    assert threads
    assert all(name.startswith("checkpointer") for name in threads), threads
    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
