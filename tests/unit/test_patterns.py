"""Whole-value patterns: the same meaning for Python's re.search (msgspec, Litestar) and for OpenAPI."""

from __future__ import annotations

import re

import hypothesis
from hypothesis import strategies as st
from langchain_platform.patterns import anchored

BODY = r"[a-z]{1,5}"


@hypothesis.given(
    value=st.from_regex(BODY, fullmatch=True), suffix=st.sampled_from(["\n", "\r\n", "\n\n", " "])
)
def test_a_value_with_anything_after_it_is_refused(value: str, suffix: str) -> None:
    assert re.search(anchored(BODY), value)
    assert not re.search(anchored(BODY), value + suffix)
    assert not re.search(anchored(BODY), suffix + value)


def test_alternatives_are_anchored_as_a_whole() -> None:
    pattern = anchored("a|b")
    assert re.search(pattern, "a")
    assert not re.search(pattern, "ab")
    assert not re.search(pattern, "xb")
