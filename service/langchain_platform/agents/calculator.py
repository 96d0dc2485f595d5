"""Arithmetic for the ``calculator`` tool: an AST walker over a closed set of nodes, never ``eval``.

The model writes the expression (possibly copied from a fetched page), so it is untrusted input.
Only numbers, + - * / // % **, a few math functions and the constants pi, e and tau are accepted.

Why every evaluation is cheap: a thread cannot be stopped from outside, and big-integer arithmetic
holds the GIL, so a tool timeout alone neither frees the CPU nor keeps the event loop answering.
The bounds are therefore static and checked BEFORE each operation, from the sizes of its operands:

- the expression: at most MAX_EXPRESSION_CHARS characters and MAX_NODES syntax nodes;
- every integer, literal or computed: at most MAX_INT_BITS bits (1,234 decimal digits, well within
  Python's 4,300-digit int-to-str limit, so the result can always be formatted); a product or
  power that would be larger is refused from the operands' bit lengths, not computed;
- exponents at most MAX_EXPONENT in size; ``round``'s ndigits at most MAX_ROUND_DIGITS in size
  (``round(1, -10**8)`` would otherwise build 10**(10**8));
- floats stay finite, and an int too large for a float is refused where the two mix;
- results are real numbers: a negative number to a fractional power is an error, never a complex.

With operands that small, each operation costs microseconds and an evaluation at most MAX_NODES
operations. A deadline (the tool's own time limit) is also checked before every operation, so an
evaluation that outlives its tool call stops there instead of running on in its thread.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 500
MAX_NODES = 200
MAX_EXPONENT = 1000
MAX_INT_BITS = 4096
MAX_ROUND_DIGITS = 1000

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


class CalculatorError(ValueError):
    """The expression is not plain arithmetic or exceeds the size bounds; the message says which."""


def _check_size(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError(f"result exceeds {MAX_INT_BITS} bits")
    if isinstance(value, float) and math.isinf(value):
        raise CalculatorError("result overflows")
    if isinstance(value, float) and math.isnan(value):
        raise CalculatorError("the result is not a number")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError(f"exponent {exponent} is larger than {MAX_EXPONENT}")
    if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        raise CalculatorError("the result is not a real number (negative base, fractional exponent)")
    # bits(base**n) ~ n * bits(base): refuse before computing.
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and base.bit_length() * exponent > MAX_INT_BITS
    ):
        raise CalculatorError(f"result exceeds {MAX_INT_BITS} bits")
    return _BINARY[ast.Pow](base, exponent)


def _multiply(left: Number, right: Number) -> Number:
    # bits(a*b) is bits(a) + bits(b) or one less: refuse what is surely too large before computing
    # it; the one-bit doubt is settled by the check on the result.
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() - 1 > MAX_INT_BITS
    ):
        raise CalculatorError(f"result exceeds {MAX_INT_BITS} bits")
    return left * right


def _round(*args: Any) -> Number:
    # *args, not named parameters: a wrong arity raises round's own TypeError, named "round()".
    if len(args) == 2 and isinstance(args[1], int) and abs(args[1]) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round's ndigits {args[1]} is larger than {MAX_ROUND_DIGITS}")
    result: Number = round(*args)
    return result


# Operations that need a bound checked before they run; the others cannot grow their operands
# beyond one bit past MAX_INT_BITS (checked after) or convert to a float (which refuses huge ints).
_GUARDED_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Pow: _power,
    ast.Mult: _multiply,
}
_GUARDED_FUNCTIONS: dict[str, Callable[..., Number]] = {"round": _round}


class _Evaluation:
    """One walk over a parsed expression, stopped at ``deadline`` (``time.monotonic()``) if given."""

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline

    def value(self, node: ast.AST) -> Number:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise CalculatorError("evaluation exceeded its time limit")
        if isinstance(node, ast.Expression):
            return self.value(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return _check_size(node.value)
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.value(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.value(node.left), self.value(node.right)
            operation = _GUARDED_BINARY.get(type(node.op), _BINARY[type(node.op)])
            return _check_size(operation(left, right))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            args = [self.value(arg) for arg in node.args]
            function = _GUARDED_FUNCTIONS.get(node.func.id, _FUNCTIONS[node.func.id])
            try:
                return _check_size(function(*args))
            except ValueError as exc:
                if isinstance(exc, CalculatorError):
                    raise
                # math's only ValueError: sqrt(-1), log(0), ... whose result is not a real number.
                raise CalculatorError(f"{node.func.id}: the result is not a real number ({exc})") from exc
        raise CalculatorError(f"unsupported syntax: {ast.dump(node)[:80]}")


def calculate(expression: str, deadline: float | None = None) -> Number:
    """Evaluate an arithmetic expression; raise ``CalculatorError`` for anything else.

    ``deadline`` is a ``time.monotonic()`` instant after which the evaluation stops with an error.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not an arithmetic expression: {exc.msg}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise CalculatorError(f"not an arithmetic expression: {type(exc).__name__}") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError(f"expression has more than {MAX_NODES} parts")
    try:
        return _Evaluation(deadline).value(tree)
    except CalculatorError:
        raise
    except OverflowError as exc:
        raise CalculatorError("result overflows") from exc
    except (ZeroDivisionError, TypeError, ValueError) as exc:
        raise CalculatorError(str(exc) or type(exc).__name__) from exc
