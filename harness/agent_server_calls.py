"""What tests and benchmarks send to, and read from, the Agent Server API through langgraph-sdk."""

from __future__ import annotations

from typing import Any


def user(text: str) -> dict[str, Any]:
    """A run's input: one user message."""
    return {"messages": [{"role": "user", "content": text}]}


def last_text(values: dict[str, Any]) -> str:
    """The text of a thread's or run's last message."""
    return str(values["messages"][-1]["content"])


def contents(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Each message of the values as (type, content)."""
    return [(m["type"], m["content"]) for m in values["messages"]]
