"""The calculator's safety bounds and the history window sent to the model."""

from __future__ import annotations

import math

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_platform.agents.calculator import CalculatorError, calculate
from langchain_platform.agents.middleware import trim_history


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4 ** 2", 80),
        ("7 // 2 + 7 % 2", 4),
        ("-3 ** 2", -9),
        ("sqrt(16) / 4", 1.0),
    ],
)
def test_arithmetic(expression: str, value: float) -> None:
    assert calculate(expression) == value


def test_functions_and_constants() -> None:
    assert calculate("round(pi, 3)") == 3.142
    assert calculate("max(1, 5, 3) + abs(-2)") == 7
    assert math.isclose(calculate("log(e)"), 1.0)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('id')", "unsupported syntax"),
        ("(1).__class__", "unsupported syntax"),
        ("open('/etc/passwd')", "unsupported syntax"),
        ("[1, 2]", "unsupported syntax"),
        ("'a' * 3", "unsupported syntax"),
        ("9 ** 9 ** 9", "larger than 1000"),
        ("2 ** 5000", "larger than 1000"),
        ("99999999 ** 999", "exceeds 4096 bits"),
        ("10.0 ** 400", "overflow"),
        ("1 / 0", "division by zero"),
        ("1 +", "not an arithmetic expression"),
        ("1+" * 300 + "1", "longer than 500 characters"),
    ],
)
def test_refusals_name_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        calculate(expression)


def _conversation(turns: int) -> list:  # type: ignore[type-arg]
    """Each turn: user question, AI tool call, tool result, AI answer."""
    messages: list = []  # type: ignore[type-arg]
    for turn in range(turns):
        call_id = f"call-{turn}"
        messages += [
            HumanMessage(f"question {turn}"),
            AIMessage("", tool_calls=[{"id": call_id, "name": "calculator", "args": {"expression": "1"}}]),
            ToolMessage("1", tool_call_id=call_id, name="calculator"),
            AIMessage(f"answer {turn}"),
        ]
    return messages


def test_short_history_is_untouched() -> None:
    messages = _conversation(2)
    assert trim_history(messages, 8) == messages


@pytest.mark.parametrize("limit", range(1, 12))
def test_window_never_opens_with_an_orphan_tool_result(limit: int) -> None:
    messages = _conversation(5)

    window = trim_history(messages, limit)

    assert 1 <= len(window) <= limit
    assert window == messages[-len(window) :]
    assert not isinstance(window[0], ToolMessage)
    ids_called = {c["id"] for m in window if isinstance(m, AIMessage) for c in m.tool_calls}
    assert all(m.tool_call_id in ids_called for m in window if isinstance(m, ToolMessage))


def test_window_starts_at_the_latest_user_turn_that_fits() -> None:
    window = trim_history(_conversation(5), 6)

    assert window[0] == HumanMessage("question 4")
    assert len(window) == 4
