"""Conversation state: it survives restarts (SQLite, PostgreSQL) and locks a thread across workers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from harness.http_checks import token, wait_until
from harness.platform_server import PlatformServer
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

INVOKE = "/api/enterprise/agents/plain/invoke"


def invoke(server: PlatformServer, text: str, thread_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": text}
    if thread_id:
        body["thread_id"] = thread_id
    with server.client(api_key=API_KEY) as c:
        response = c.post(INVOKE, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_sqlite_conversation_survives_a_restart(launch: Launcher, stub_llm: StubOpenAI) -> None:
    server = launch()
    before_tag, after_tag = token(), token()
    thread_id = invoke(server, f"{before_tag} remember the number 7")["thread_id"]
    assert server.restart() == 0
    second = invoke(server, f"{after_tag} which number?", thread_id=thread_id)
    assert second["thread_id"] == thread_id
    (call,) = stub_llm.requests_mentioning(after_tag)
    texts = [m["content"] for m in call["body"]["messages"]]
    assert f"{before_tag} remember the number 7" in texts, "the turn from before the restart is gone"
    assert f"Echo: {before_tag} remember the number 7" in texts
    with server.client(api_key=API_KEY) as c:
        thread = c.get(f"/api/enterprise/agents/plain/threads/{thread_id}").json()
    assert len(thread["messages"]) == 4


@pytest.mark.postgres
def test_postgres_conversation_survives_a_restart_with_a_new_data_dir(
    launch: Launcher, stub_llm: StubOpenAI, postgres_url: str
) -> None:
    # State lives in PostgreSQL, not in DATA_DIR: a replacement process with an empty DATA_DIR
    # (a new container, another replica) continues the conversation.
    first = launch(CHECKPOINTER_URL=postgres_url)
    with first.client() as c:
        health = c.get("/health").json()
    assert health["checkpointer"] == {"backend": "postgresql", "ok": True}
    assert health["status"] == "healthy"
    before_tag, after_tag = token(), token()
    thread_id = invoke(first, f"{before_tag} remember the number 7")["thread_id"]
    assert first.stop() == 0
    assert "platform-test-pw" not in first.log_text(), "the database password leaked into the log"

    second = launch(CHECKPOINTER_URL=postgres_url)
    assert second.env["DATA_DIR"] != first.env["DATA_DIR"]
    invoke(second, f"{after_tag} which number?", thread_id=thread_id)
    (call,) = stub_llm.requests_mentioning(after_tag)
    texts = [m["content"] for m in call["body"]["messages"]]
    assert f"{before_tag} remember the number 7" in texts, "the turn from the first process is gone"
    with second.client(api_key=API_KEY) as c:
        assert len(c.get(f"/api/enterprise/agents/plain/threads/{thread_id}").json()["messages"]) == 4


def test_busy_thread_is_409_across_two_workers(launch: Launcher, stub_llm: StubOpenAI) -> None:
    server = launch(workers=2)
    thread_id = f"shared-{token()}"
    tag = token()
    holder: dict[str, httpx.Response] = {}

    def hold_the_thread() -> None:
        with server.client(api_key=API_KEY) as c:
            holder["response"] = c.post(
                INVOKE, json={"input": f"{tag} [stub:slow=6000]", "thread_id": thread_id}
            )

    runner = threading.Thread(target=hold_the_thread)
    runner.start()
    wait_until(lambda: stub_llm.requests_mentioning(tag), timeout=15, what="the slow run to reach the LLM")
    held_since = time.monotonic()

    def contender(i: int) -> tuple[int, int | None]:
        # A fresh connection each: the kernel spreads them over both workers' shared socket.
        with server.client(api_key=API_KEY) as c:
            response = c.post(INVOKE, json={"input": f"contender {i}", "thread_id": thread_id})
        return response.status_code, _pid_of(server, response)

    results: list[tuple[int, int | None]] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Batches until both workers have answered, all well inside the 6 s the holder keeps the thread.
        while len({pid for _, pid in results}) < 2 and time.monotonic() - held_since < 3:
            results += pool.map(contender, range(len(results), len(results) + 8))
    runner.join(timeout=30)
    assert holder["response"].status_code == 200, holder["response"].text
    statuses = [status for status, _ in results]
    assert statuses.count(409) >= 1, statuses
    assert statuses == [409] * len(statuses), f"a run got through while the thread was busy: {statuses}"
    pids = {pid for _, pid in results if pid}
    assert len(pids) == 2, f"expected the contenders to reach both workers, saw pids {pids}"

    # Afterwards the thread takes runs again, from either worker.
    after = [invoke(server, f"after {i}", thread_id=thread_id)["thread_id"] for i in range(4)]
    assert after == [thread_id] * 4


def _pid_of(server: PlatformServer, response: httpx.Response) -> int | None:
    """The worker that answered: the access log line carries the request id and the pid."""
    request_id = response.headers.get("x-request-id")
    record = server.wait_for_log(lambda r: r.get("request_id") == request_id and r.get("event") == "request")
    pid = record.get("pid")
    return int(pid) if isinstance(pid, int) else None
