"""Whole-value regular expressions that mean the same in Python and in an OpenAPI document.

Python's ``$`` also matches before a trailing newline, so ``^id$`` lets ``"abc\\n"`` through
``re.search`` (msgspec's ``pattern`` and Litestar's path parameters use it). ``\\Z`` fixes that in
Python, but OpenAPI patterns are ECMA-262 regexes, which have no ``\\Z``: the published pattern would
be wrong for every client and fuzzer. ``$(?!\\n)`` is the end of the value in both dialects (in
ECMA-262 the lookahead is always true, in Python it refuses the spot before a final newline).
"""

from __future__ import annotations


def anchored(body: str) -> str:
    """A pattern that matches a whole value against ``body`` and nothing around it."""
    return rf"^(?:{body})$(?!\n)"
