"""RB-003 sessions clear respects the per-thread guard: a thread a run holds is reported busy and kept,
and only threads that existed are counted."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

AGENT = "/api/enterprise/agents/plain"
CLEAR = "/api/admin/sessions/clear"


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


def invoke(client: httpx.Client, text: str, thread_id: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"input": text} | ({"thread_id": thread_id} if thread_id else {})
    return client.post(f"{AGENT}/invoke", json=body, timeout=30)


def test_clear_skips_a_busy_thread_and_counts_only_deleted_ones(server: PlatformServer) -> None:
    with server.client(api_key=API_KEY) as client:
        first = invoke(client, f"{token()} first turn")
        assert first.status_code == 200
        thread_id = first.json()["thread_id"]
        slow: dict[str, httpx.Response] = {}
        worker = threading.Thread(
            target=lambda: slow.update(run=invoke(client, f"{token()} [stub:slow=3000] slow", thread_id))
        )
        worker.start()
        try:
            time.sleep(1.0)  # the slow run holds the thread now
            never = f"never-existed-{token()}"
            cleared = client.post(CLEAR, json={"thread_ids": [thread_id, never]})
            assert cleared.status_code == 200, cleared.text
            assert cleared.json() == {
                "cleared": 0,
                "thread_ids": [],
                "stale_locks_released": 0,
                "busy_thread_ids": [thread_id],
            }
            by_age = client.post(CLEAR, json={"older_than_seconds": 0}).json()
            assert thread_id in by_age["busy_thread_ids"]
            assert thread_id not in by_age["thread_ids"]
            assert_problem(invoke(client, "a second run meanwhile", thread_id), 409)
        finally:
            worker.join(timeout=30)
        assert slow["run"].status_code == 200, slow["run"].text
        thread = client.get(f"{AGENT}/threads/{thread_id}")
        assert thread.status_code == 200
        assert len(thread.json()["messages"]) == 4, "both turns are kept"

        idle = client.post(CLEAR, json={"thread_ids": [thread_id, f"never-existed-{token()}"]}).json()
        assert idle["thread_ids"] == [thread_id]
        assert idle["cleared"] == 1
        assert idle["busy_thread_ids"] == []
        assert_problem(client.get(f"{AGENT}/threads/{thread_id}"), 404)
        again = client.post(CLEAR, json={"thread_ids": [thread_id]}).json()
        assert again["thread_ids"] == []
        assert again["cleared"] == 0
