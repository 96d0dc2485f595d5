"""Two containers on one state volume, as an old and a new release overlap while traffic moves between them.

A second container of the deployed image starts beside the serving one with the same configuration and the
same SQLite volume (the first step of a switch without downtime on one host). While the serving container
holds a thread in a long agent turn, the new one must start without taking that thread's run guard, refuse
the same thread with 409 and serve other threads; once the turn ends, each container reads what the other
wrote. The module removes its container again: the host is left as it was found.
"""

from __future__ import annotations

import json
import shlex
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import API_KEY, inspect

OVERLAP = "langchain-platform-overlap"
OVERLAP_URL = "http://127.0.0.1:8010"
# The serving container's port as the controller reaches it (molecule's base config publishes it).
SERVING_URL = "http://127.0.0.1:28400"
# Longer than the new container takes to start and answer, so its requests meet the held thread.
SLOW_TURN = "[stub:slow=20000] hold this thread"


def run_args(serving: dict[str, Any]) -> list[str]:
    """`docker run` arguments for a container like `serving`: its image, env file, mounts and extra hosts."""
    args = ["docker", "run", "-d", "--name", OVERLAP, "-p", f"{OVERLAP_URL.rsplit('/', 1)[1]}:8000"]
    args += ["--env-file", "/etc/langchain-platform/platform.env"]
    for mount in serving["Mounts"]:
        source = mount["Name"] if mount["Type"] == "volume" else mount["Source"]
        args += ["-v", f"{source}:{mount['Destination']}" + ("" if mount["RW"] else ":ro")]
    for entry in serving["HostConfig"].get("ExtraHosts") or []:
        args += ["--add-host", entry]
    return [*args, serving["Config"]["Image"]]


def call(host: Any, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A request to the overlapping container from inside the host: status and parsed body."""
    data = f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}" if body else ""
    result = host.run(
        f"curl -s -w '\\n%{{http_code}}' -X {method} -H 'X-API-Key: {API_KEY}' {data} {OVERLAP_URL}{path}"
    )
    assert result.rc == 0, result.stderr
    text, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(text)


@pytest.fixture
def held_thread(agent_name: str) -> Iterator[tuple[str, threading.Thread, list[httpx.Response]]]:
    """A thread the serving container holds in a slow agent turn, sent from the controller."""
    thread_id = f"overlap-{uuid.uuid4().hex[:8]}"
    answers: list[httpx.Response] = []

    def turn() -> None:
        with httpx.Client(base_url=SERVING_URL, headers={"X-API-Key": API_KEY}, timeout=120) as client:
            body = {"input": SLOW_TURN, "thread_id": thread_id}
            answers.append(client.post(f"/api/enterprise/agents/{agent_name}/invoke", json=body))

    worker = threading.Thread(target=turn)
    worker.start()
    yield thread_id, worker, answers
    worker.join(timeout=120)


def test_the_run_guard_and_the_state_hold_across_two_containers(
    host: Any, agent_name: str, held_thread: tuple[str, threading.Thread, list[httpx.Response]]
) -> None:
    thread_id, worker, answers = held_thread
    invoke = f"/api/enterprise/agents/{agent_name}/invoke"
    started = host.run(shlex.join(run_args(inspect(host))))
    assert started.rc == 0, started.stderr
    try:
        ready = host.run(f"curl -sf --retry 60 --retry-delay 1 --retry-all-errors {OVERLAP_URL}/health/ready")
        assert ready.rc == 0, ready.stderr
        assert worker.is_alive(), "the slow turn ended before the new container was ready: nothing overlapped"

        status, problem = call(host, "POST", invoke, {"input": "me too", "thread_id": thread_id})
        assert status == 409, problem
        assert problem["status"] == 409
        other = f"{thread_id}-other"
        status, answer = call(host, "POST", invoke, {"input": "another thread", "thread_id": other})
        assert status == 200, answer

        worker.join(timeout=120)
        assert [a.status_code for a in answers] == [200], [a.text for a in answers]
        # What the serving container wrote, the new one reads and continues; and the other way round.
        status, answer = call(host, "POST", invoke, {"input": "second turn", "thread_id": thread_id})
        assert status == 200, answer
        with httpx.Client(base_url=SERVING_URL, headers={"X-API-Key": API_KEY}, timeout=30) as client:
            history = client.get(f"/api/enterprise/agents/{agent_name}/threads/{thread_id}")
            other_history = client.get(f"/api/enterprise/agents/{agent_name}/threads/{other}")
        assert history.status_code == 200, history.text
        said = [m["content"] for m in history.json()["messages"] if m["role"] == "user"]
        assert said == [SLOW_TURN, "second turn"]
        assert other_history.status_code == 200, other_history.text
    finally:
        host.run(f"docker rm -f {OVERLAP}")
