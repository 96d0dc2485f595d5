"""A run as the webhook front shows it: ``GET /api/runs/{id}`` (``RunView``) and the body of the callback
of a run that a webhook event started.

Webhook runs are Agent Server background runs; this module turns such a run's status and stored result
(its final graph values, or ``{"__error__": {error, message, status}}``) into the answer the webhook
front has always given. Statuses map as follows:

- ``pending`` -> ``queued``; ``running`` -> ``running`` (a run retried after its process died is
  ``running`` again, not a new run);
- ``success`` -> ``succeeded``, with ``result`` = ``{output, thread_id, run_id, usage}`` as ``/invoke``
  answers it: the last AI message of the run's turn and the tokens of the turn's AI messages;
- ``error``, ``timeout`` and ``interrupted`` (cancelled through the Agent Server API) -> ``failed``,
  with ``error`` = the failure's message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from langchain_platform.agents.usage import Usage

_STATUSES = {"pending": "queued", "running": "running", "success": "succeeded"}


class RunView(msgspec.Struct, frozen=True):
    """What ``GET /api/runs/{id}`` answers."""

    run_id: str
    agent: str
    thread_id: str | None
    status: str
    result: dict[str, Any] | None
    error: str | None
    callback: str | None
    created_at: datetime
    updated_at: datetime
    owner: str | None = None


def view_status(status: str) -> str:
    return _STATUSES.get(status, "failed")


def invoke_result(values: Any, *, run_id: str, thread_id: str | None) -> dict[str, Any]:
    """``/invoke``'s answer from a run's final values: the messages after the turn's user message."""
    messages = values.get("messages", []) if isinstance(values, dict) else []
    turn: list[dict[str, Any]] = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("type") == "human":
            break
        turn.insert(0, message)
    answers = [message for message in turn if message.get("type") == "ai"]
    usage = Usage()
    for message in answers:
        counted = message.get("usage_metadata") or {}
        usage.input_tokens += int(counted.get("input_tokens", 0))
        usage.output_tokens += int(counted.get("output_tokens", 0))
    usage.total_tokens = usage.input_tokens + usage.output_tokens
    return {
        "output": _text(answers[-1].get("content")) if answers else "",
        "thread_id": thread_id,
        "run_id": run_id,
        "usage": msgspec.to_builtins(usage),
    }


def _text(content: Any) -> str:
    """A message's text: a string, or the text blocks of a list of content blocks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
    )


def failure_detail(status: str, result: Any) -> str:
    error = result.get("__error__") if isinstance(result, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str):
        return message
    if status == "interrupted":
        return "cancelled: the run was interrupted through the Agent Server API"
    return f"the run ended with status {status}"


def callback_payload(
    *, run_id: str, agent: str, thread_id: str | None, status: str, result: Any
) -> dict[str, Any]:
    """The body of a webhook run's callback once it ended: ``run_id``, ``agent``, ``thread_id``,
    ``status`` (``succeeded`` or ``failed``), and ``result`` or ``error`` as ``RunView`` has them."""
    payload: dict[str, Any] = {"run_id": run_id, "agent": agent, "thread_id": thread_id}
    if status == "success":
        payload.update(status="succeeded", result=invoke_result(result, run_id=run_id, thread_id=thread_id))
    else:
        payload.update(status="failed", error=failure_detail(status, result))
    return payload
