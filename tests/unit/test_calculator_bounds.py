"""The calculator's cost bound: every input of its grammar is answered or refused in milliseconds.

Hypothesis builds expressions from the whole grammar (literals of every form and size, every
operator, every function with any number of arguments, the constants, nesting) and arbitrary text;
each evaluation must return a finite real number or raise ``CalculatorError`` (nothing else), and
finish within EVALUATION_BOUND_SECONDS of wall-clock time.
"""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_platform.agents import calculator
from langchain_platform.agents.calculator import CalculatorError, calculate

EVALUATION_BOUND_SECONDS = 0.05
# A deterministic computation is timed this many times at most and judged by its fastest run, so
# a moment of CPU contention from other processes does not count as the calculator's own cost.
TIMINGS = 3

_OPERATORS = ("+", "-", "*", "/", "//", "%", "**")
_FUNCTIONS = (
    "abs",
    "round",
    "min",
    "max",
    "sqrt",
    "log",
    "log10",
    "exp",
    "sin",
    "cos",
    "tan",
    "floor",
    "ceil",
)
_CONSTANTS = ("pi", "e", "tau")
# Values at and around the bounds, where a refusal is decided.
_EDGE_INTEGERS = (
    0,
    1,
    2,
    10,
    calculator.MAX_EXPONENT,
    calculator.MAX_EXPONENT + 1,
    calculator.MAX_ROUND_DIGITS,
    calculator.MAX_ROUND_DIGITS + 1,
    calculator.MAX_INT_BITS,
    2**calculator.MAX_INT_BITS - 1,
    2**calculator.MAX_INT_BITS,
    10**7,
    10**8,
    10**300,
)


def _integer_literal(value: int, form: str) -> str:
    if form == "hex":
        return hex(value)
    if form == "octal":
        return oct(value)
    if form == "binary":
        return bin(value)
    if form == "underscores":
        return f"{value:_}"
    return str(value)


integers = st.builds(
    _integer_literal,
    st.one_of(st.integers(min_value=0, max_value=10**400), st.sampled_from(_EDGE_INTEGERS)),
    st.sampled_from(("decimal", "hex", "octal", "binary", "underscores")),
)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: repr(abs(x))),
    st.builds(
        lambda mantissa, exponent, letter: f"{mantissa}{letter}{exponent}",
        st.sampled_from(("1", "1.5", ".5", "5.", "9.99")),
        st.integers(min_value=-400, max_value=400),
        st.sampled_from(("e", "E")),
    ),
)
atoms = st.one_of(integers, floats, st.sampled_from(_CONSTANTS))


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda sign, x: f"{sign}{x}", st.sampled_from(("-", "+", "--")), children),
        st.builds(lambda x: f"({x})", children),
        st.builds(lambda a, op, b: f"{a} {op} {b}", children, st.sampled_from(_OPERATORS), children),
        st.builds(
            lambda name, args: f"{name}({', '.join(args)})",
            st.sampled_from(_FUNCTIONS),
            st.lists(children, max_size=3),
        ),
    )


expressions = st.recursive(atoms, _extend, max_leaves=24)


def _evaluate_timed(expression: str) -> tuple[object, float]:
    """The outcome (a number or the CalculatorError) and the fastest of up to TIMINGS runs."""
    fastest = math.inf
    outcome: object = None
    for _ in range(TIMINGS):
        started = time.perf_counter()
        try:
            outcome = calculate(expression)
        except CalculatorError as exc:
            outcome = exc
        fastest = min(fastest, time.perf_counter() - started)
        if fastest < EVALUATION_BOUND_SECONDS:
            break
    return outcome, fastest


def _assert_bounded(expression: str) -> None:
    outcome, seconds = _evaluate_timed(expression)
    assert seconds < EVALUATION_BOUND_SECONDS, f"{expression!r} took {seconds * 1000:.1f} ms"
    if isinstance(outcome, CalculatorError):
        assert str(outcome), f"{expression!r} was refused without a reason"
        return
    assert type(outcome) in (int, float), f"{expression!r} gave {type(outcome).__name__}"
    assert isinstance(outcome, int | float)
    if isinstance(outcome, float):
        assert math.isfinite(outcome)
    else:
        assert outcome.bit_length() <= calculator.MAX_INT_BITS
    assert str(outcome)  # what the tool sends back: within Python's int-to-str digit limit


_FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(expressions)
def test_every_expression_of_the_grammar_is_bounded(expression: str) -> None:
    _assert_bounded(expression)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=calculator.MAX_EXPRESSION_CHARS + 20))
def test_arbitrary_text_is_bounded(text: str) -> None:
    _assert_bounded(text)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("round(1, -10**7)", "ndigits"),
        ("round(1, -10**8)", "ndigits"),
        ("round(2.5, 10**9)", "ndigits"),
        ("2**4000 * 2**1000", "exponent"),
        ("(2**1000)**5", "exceeds 4096 bits"),
        ("7**1000 * 7**1000", "exceeds 4096 bits"),
        ("(10**300)**14", "exceeds 4096 bits"),
        ("(2**1000)**4 * 2**100", "exceeds 4096 bits"),
        ("(2**1000)**4 * 1.5", "overflows"),
        ("sqrt((2**1000)**4)", "overflows"),
        ("1e308 * 10", "overflows"),
    ],
)
def test_oversized_operations_are_refused_before_they_run(expression: str, reason: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculatorError, match=reason):
        calculate(expression)
    assert time.perf_counter() - started < EVALUATION_BOUND_SECONDS


@pytest.mark.parametrize(
    "expression", ["(-8)**0.5", "(-8.0)**(1/3)", "(-1)**-0.5", "sqrt(-1)", "log(-2)", "log10(0)"]
)
def test_results_are_real_numbers_only(expression: str) -> None:
    with pytest.raises(CalculatorError, match="not a real number"):
        calculate(expression)


_AT_THE_BOUNDS = [
    ("(-8)**2.0", 64.0),
    ("(-2)**3", -8),
    ("(-2)**-1", -0.5),
    ("round(123456, -3)", 123000),
    ("round(2.5, 1000)", 2.5),
    ("(2**1000)**4 // (2**1000)**3", 2**1000),
    ("(2**1000)**4 * 2**95", 2**4095),
]


@pytest.mark.parametrize(("expression", "value"), _AT_THE_BOUNDS, ids=[e for e, _ in _AT_THE_BOUNDS])
def test_values_at_the_bounds_are_still_computed(expression: str, value: float) -> None:
    assert calculate(expression) == value


def test_an_evaluation_past_its_deadline_stops() -> None:
    with pytest.raises(CalculatorError, match="time limit"):
        calculate("1 + 2", deadline=time.monotonic() - 1)
