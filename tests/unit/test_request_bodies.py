"""The nesting bound and the strict decoding every JSON body goes through (request_bodies.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from langchain_platform.admin.schemas import ClearSessionsRequest, MaintenanceRequest
from langchain_platform.request_bodies import MAX_JSON_NESTING, decode_body, too_deeply_nested
from litestar.exceptions import ClientException

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab[]{}\"\\ '"),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='k[{"', max_size=3), inner, max_size=3)
    ),
    max_leaves=60,
)


def depth(value: Any) -> int:
    """The reference: recursion is fine for the small values Hypothesis draws."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@hypothesis.settings(max_examples=300, database=None)
@hypothesis.given(value=json_values, limit=st.integers(0, 8))
def test_the_bound_agrees_with_a_recursive_reference(value: Any, limit: int) -> None:
    body = json.dumps(value).encode()
    assert too_deeply_nested(body, limit) == (depth(value) > limit)


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_a_hundred_thousand_levels_are_refused_quickly(opener: bytes) -> None:
    body = opener * 100_000
    started = time.perf_counter()
    with pytest.raises(ClientException, match=f"deeper than {MAX_JSON_NESTING}"):
        decode_body(body, MaintenanceRequest)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "body", [b'{"enabled": 1}', b'{"enabled": "true"}', b'{"enabled": false, "retry_after_seconds": "60"}']
)
def test_decoding_never_converts(body: bytes) -> None:
    with pytest.raises(ClientException, match="Expected"):
        decode_body(body, MaintenanceRequest)


def test_an_empty_body_is_an_empty_object() -> None:
    with pytest.raises(ClientException, match="enabled"):
        decode_body(b"", MaintenanceRequest)
    assert decode_body(b'{"enabled": true}', MaintenanceRequest) == MaintenanceRequest(enabled=True)


def test_an_integer_may_be_written_with_a_zero_fraction_as_json_schema_allows() -> None:
    assert decode_body(b'{"older_than_seconds": 5.0}', ClearSessionsRequest).older_than_seconds == 5
    for wrong in (b"1.5", b'"5"', b"true"):
        with pytest.raises(ClientException, match="older_than_seconds"):
            decode_body(b'{"older_than_seconds": ' + wrong + b"}", ClearSessionsRequest)
