"""Small HTTP helpers for tests: problem+json checks, SSE parsing, polling."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

_T = TypeVar("_T")


def token(prefix: str = "t") -> str:
    """A unique marker to put in an input, so a test finds its own requests in a shared stub."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_problem(
    response: httpx.Response, status: int, detail_contains: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`; returns the parsed body."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), (
        f"content-type {content_type!r}: {response.text}"
    )
    body = response.json()
    assert isinstance(body, dict)
    for field in ("type", "title", "status", "detail"):
        assert field in body, f"problem body lacks {field!r}: {body}"
    assert body["status"] == status, body
    if detail_contains is not None:
        assert detail_contains in str(body["detail"]), f"detail {body['detail']!r} lacks {detail_contains!r}"
    return body


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: Any


def parse_sse(text: str) -> list[SseEvent]:
    """Events of a text/event-stream body; `data` is parsed as JSON when it is JSON."""
    events: list[SseEvent] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data_lines = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data_lines.append(line[len("data:") :].removeprefix(" "))
        if not data_lines:
            continue
        raw = "\n".join(data_lines)
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = raw
        events.append(SseEvent(name, data))
    return events


def wait_until(
    probe: Callable[[], _T | None], timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> _T:
    """Call `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)
