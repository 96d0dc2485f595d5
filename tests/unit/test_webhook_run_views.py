"""How a webhook run, an Agent Server background run underneath, is shown by ``GET /api/runs/{id}`` and in
its callback: statuses mapped, ``/invoke``'s answer made from the run's final values, failures' messages."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_platform.webhooks.run_views import callback_payload, failure_detail, invoke_result, view_status


def ai(content: Any, input_tokens: int = 0, output_tokens: int = 0) -> dict[str, Any]:
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    return {"type": "ai", "content": content, "usage_metadata": usage if input_tokens else None}


EARLIER_TURN = [{"type": "human", "content": "before"}, ai("old answer", 100, 100)]


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("pending", "queued"),
        ("running", "running"),
        ("success", "succeeded"),
        ("error", "failed"),
        ("timeout", "failed"),
        ("interrupted", "failed"),
    ],
)
def test_statuses_map_to_the_four_of_the_webhook_front(status: str, shown: str) -> None:
    assert view_status(status) == shown


def test_the_answer_is_the_turns_last_ai_message_with_the_turns_tokens() -> None:
    values = {
        "messages": [
            *EARLIER_TURN,
            {"type": "human", "content": "2*(3+4)?"},
            {**ai("", 10, 5), "tool_calls": [{"name": "calculator"}]},
            {"type": "tool", "content": "14"},
            ai([{"type": "text", "text": "It is "}, {"type": "image_url"}, "14."], 20, 3),
        ]
    }
    assert invoke_result(values, run_id="r1", thread_id="t1") == {
        "output": "It is 14.",
        "thread_id": "t1",
        "run_id": "r1",
        "usage": {"input_tokens": 30, "output_tokens": 8, "total_tokens": 38},
    }


def test_a_turn_without_an_answer_has_empty_output() -> None:
    values = {"messages": [*EARLIER_TURN, {"type": "human", "content": "again"}]}
    assert invoke_result(values, run_id="r", thread_id="t")["output"] == ""
    assert invoke_result(None, run_id="r", thread_id="t")["output"] == ""


def test_a_failure_shows_its_message() -> None:
    failed = {"__error__": {"error": "LLMFailure", "message": "the LLM answered HTTP 500", "status": 502}}
    assert failure_detail("error", failed) == "the LLM answered HTTP 500"
    assert "interrupted" in failure_detail("interrupted", None)
    assert failure_detail("timeout", None) == "the run ended with status timeout"


def test_the_callback_body_is_the_one_webhook_senders_know() -> None:
    values = {"messages": [{"type": "human", "content": "hi"}, ai("Echo: hi")]}
    assert callback_payload(run_id="r", agent="plain", thread_id="t", status="success", result=values) == {
        "run_id": "r",
        "agent": "plain",
        "thread_id": "t",
        "status": "succeeded",
        "result": {
            "output": "Echo: hi",
            "thread_id": "t",
            "run_id": "r",
            "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
        },
    }
    failed = {"__error__": {"message": "boom"}}
    body = callback_payload(run_id="r", agent="plain", thread_id="t", status="error", result=failed)
    assert (body["status"], body["error"]) == ("failed", "boom")
    assert "result" not in body
