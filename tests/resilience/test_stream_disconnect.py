"""A client that leaves a stream mid-answer: its turn is recorded as cancelled (an assistant message
closes it), the thread stays readable, and the next turn runs on it normally."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest

from harness.http_checks import token, wait_until
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

AGENT = "/api/enterprise/agents/plain"
CANCELLED = "(no answer: this turn was cancelled before it finished)"
# Long enough that the stream is still running when the client goes, short enough to keep tests quick.
DRIP = "[stub:drip=400]"


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


def leave_with_httpx(server: PlatformServer, body: dict[str, str]) -> None:
    with (
        httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=30) as client,
        client.stream("POST", f"{AGENT}/stream", json=body) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: token"):
                break  # the first token is here: hang up


def leave_with_a_raw_socket(server: PlatformServer, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    head = (
        f"POST {AGENT}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + payload)
        received = b""
        while b"event: token" not in received:
            chunk = sock.recv(4096)
            assert chunk, f"the stream ended before a token: {received!r}"
            received += chunk
        # Reset, not a polite close: the way a crashed client or a dropped network looks.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


@pytest.mark.parametrize("leave", [leave_with_httpx, leave_with_a_raw_socket], ids=["httpx", "raw-socket"])
def test_a_turn_left_mid_stream_is_recorded_as_cancelled(
    server: PlatformServer, stub_llm: StubOpenAI, leave: Callable[[PlatformServer, dict[str, str]], None]
) -> None:
    thread_id, question = token("thread"), f"{token()} {DRIP} tell me a long story please"
    leave(server, {"input": question, "thread_id": thread_id})
    server.wait_for_log(
        lambda r: r.get("event") == "turn recorded as cancelled" and r.get("thread_id") == thread_id
    )
    with server.client(api_key=API_KEY) as client:
        thread = wait_until(
            lambda: client.get(f"{AGENT}/threads/{thread_id}").json().get("messages"), what="the thread"
        )
        assert thread == [
            {"role": "user", "content": question},
            {"role": "assistant", "content": CANCELLED},
        ]
        follow_up = f"{token()} shorter then"
        answer = client.post(f"{AGENT}/invoke", json={"input": follow_up, "thread_id": thread_id})
        assert answer.status_code == 200, answer.text
        assert answer.json()["output"] == f"Echo: {follow_up}"
        messages = client.get(f"{AGENT}/threads/{thread_id}").json()["messages"]
    assert [m["content"] for m in messages] == [question, CANCELLED, follow_up, f"Echo: {follow_up}"]
    (call,) = stub_llm.requests_mentioning(follow_up)
    sent = [(m["role"], m["content"]) for m in call["body"]["messages"] if m["role"] != "system"]
    assert sent == [("user", question), ("assistant", CANCELLED), ("user", follow_up)]
