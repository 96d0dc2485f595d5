"""Which messages close a turn that ended without an answer."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_platform.agents.interrupted_turns import (
    CANCELLED_ANSWER,
    CANCELLED_TOOL_RESULT,
    closing_messages,
)


def call(call_id: str) -> dict[str, object]:
    return {"id": call_id, "name": "calculator", "args": {"expression": "1+1"}}


def test_an_answered_turn_needs_nothing() -> None:
    assert closing_messages([]) == []
    assert closing_messages([HumanMessage("q"), AIMessage("a")]) == []


def test_an_unanswered_question_gets_a_cancelled_answer() -> None:
    (closing,) = closing_messages([HumanMessage("q1"), AIMessage("a1"), HumanMessage("q2")])
    assert isinstance(closing, AIMessage)
    assert closing.content == CANCELLED_ANSWER
    assert not closing.tool_calls


def test_pending_tool_calls_get_error_results_before_the_answer() -> None:
    history = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[call("c1"), call("c2")]),
        ToolMessage("2", tool_call_id="c1", name="calculator"),
    ]
    tool_result, answer = closing_messages(history)
    assert isinstance(tool_result, ToolMessage)
    assert tool_result.tool_call_id == "c2"
    assert tool_result.status == "error"
    assert tool_result.content == CANCELLED_TOOL_RESULT
    assert answer.content == CANCELLED_ANSWER


def test_tool_calls_of_an_earlier_turn_are_not_reopened() -> None:
    history = [
        HumanMessage("q1"),
        AIMessage("", tool_calls=[call("old")]),
        ToolMessage("2", tool_call_id="old", name="calculator"),
        AIMessage("a1"),
        HumanMessage("q2"),
    ]
    assert [type(m).__name__ for m in closing_messages(history)] == ["AIMessage"]
