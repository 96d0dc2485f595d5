"""Thread ids: only whole values of the documented pattern, through every endpoint that takes one.

Python's `$` also matches before a final newline, so `^...$` let `"abc\\n"` through. Each class of
bad id (a trailing newline, a control character anywhere, a character outside the pattern, too long)
is refused with 400 in a body (invoke, stream, sessions clear, a signed webhook event) and in a
path (read, delete).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st
from langchain_platform.agents.schemas import THREAD_ID_PATTERN

from harness.http_checks import assert_problem
from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers
from tests.conftest import API_KEY, Launcher

WEBHOOK_SECRET = "thread-id-webhook-secret"
ALLOWED = string.ascii_letters + string.digits + "._:-"
valid_ids = st.text(ALLOWED, min_size=1, max_size=40).filter(lambda s: s[0].isalnum())
control_chars = st.characters(max_codepoint=0x1F) | st.just("\x7f")
# Not in the pattern; "/" only in bodies (in a path it separates segments: no thread route then).
outside_chars = st.characters(blacklist_characters=ALLOWED, blacklist_categories=["Cs"])


@st.composite
def bad_ids(draw: st.DrawFn, outside: st.SearchStrategy[str] = outside_chars) -> str:
    base = draw(valid_ids)
    kind = draw(st.sampled_from(["trailing newline", "control", "outside", "too long"]))
    if kind == "trailing newline":
        return base + "\n"
    if kind == "too long":
        return base + "a" * 128
    bad = draw(control_chars if kind == "control" else outside)
    at = draw(st.integers(0, len(base)))
    return base[:at] + bad + base[at:]


SETTINGS = hypothesis.settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture(scope="module")
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=API_KEY) as c:
        yield c


def test_the_pattern_refuses_a_trailing_newline() -> None:
    assert re.search(THREAD_ID_PATTERN, "abc")
    for bad in ("abc\n", "abc\r\n", "\nabc", "ab\nc", "abc\x00", "abc "):
        assert not re.search(THREAD_ID_PATTERN, bad), repr(bad)


BODY_ENDPOINTS: dict[str, Callable[[str], tuple[str, dict[str, object]]]] = {
    "invoke": lambda tid: ("/api/enterprise/agents/plain/invoke", {"input": "hi", "thread_id": tid}),
    "stream": lambda tid: ("/api/enterprise/agents/plain/stream", {"input": "hi", "thread_id": tid}),
    "sessions clear": lambda tid: ("/api/admin/sessions/clear", {"thread_ids": ["ok-1", tid]}),
}


@pytest.mark.parametrize("endpoint", sorted(BODY_ENDPOINTS))
def test_bad_thread_ids_in_bodies_are_400(client: httpx.Client, endpoint: str) -> None:
    @SETTINGS
    @hypothesis.given(thread_id=bad_ids())
    def check(thread_id: str) -> None:
        path, body = BODY_ENDPOINTS[endpoint](thread_id)
        assert_problem(client.post(path, json=body), 400, "thread_id")

    check()


def test_bad_thread_ids_in_signed_webhook_events_are_400(server: PlatformServer) -> None:
    @SETTINGS
    @hypothesis.given(thread_id=bad_ids())
    def check(thread_id: str) -> None:
        body = json.dumps({"input": "hi", "agent": "plain", "thread_id": thread_id}).encode()
        response = httpx.post(
            f"{server.url}/api/webhooks/plain", content=body, headers=signed_headers(WEBHOOK_SECRET, body)
        )
        assert_problem(response, 400, "thread_id")

    check()


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_bad_thread_ids_in_paths_are_400(client: httpx.Client, method: str) -> None:
    @SETTINGS
    @hypothesis.given(thread_id=bad_ids(outside_chars.filter(lambda c: c != "/")))
    def check(thread_id: str) -> None:
        url = f"/api/enterprise/agents/plain/threads/{quote(thread_id, safe='')}"
        assert_problem(client.request(method, url), 400, "thread_id")

    check()


def test_a_valid_id_still_works_everywhere(client: httpx.Client) -> None:
    first = client.post(
        "/api/enterprise/agents/plain/invoke", json={"input": "hi", "thread_id": "ok.id:1-a_b"}
    )
    assert first.status_code == 200, first.text
    assert client.get("/api/enterprise/agents/plain/threads/ok.id:1-a_b").status_code == 200
    assert client.delete("/api/enterprise/agents/plain/threads/ok.id:1-a_b").status_code == 204
