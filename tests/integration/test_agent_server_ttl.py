"""Thread TTL and run retention through the real `langgraph_sdk` client, with TTLs of seconds and a fast
sweep: an expired thread is gone for get and search at once, the sweeper deletes it with its
checkpoints (the enterprise API no longer finds it) but never while a run holds it, a thread's ttl can
be changed, THREAD_TTL_MINUTES is the default, and finished runs go after their retention time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import NotFoundError

from harness.agent_server_calls import user
from harness.http_checks import token, wait_until
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

# In minutes, as the API takes them: the default of this module's server, and a short explicit one.
DEFAULT_TTL_MINUTES = 0.05  # 3 s
SHORT = {"ttl": 0.02, "strategy": "delete"}  # 1.2 s
LONG = {"ttl": 60}


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(
        workers=2,
        THREAD_TTL_MINUTES=str(DEFAULT_TTL_MINUTES),
        THREAD_SWEEP_SECONDS="0.2",
        BACKGROUND_RUN_RETENTION_SECONDS="1",
        LLM_MAX_RETRIES="0",
        **state_store,
    )


def gone(sdk: SyncLangGraphClient, thread_id: str) -> bool:
    try:
        sdk.threads.get(thread_id)
    except NotFoundError:
        return True
    return False


def enterprise_status(server: PlatformServer, thread_id: str) -> int:
    with server.client(api_key=API_KEY) as client:
        return client.get(f"/api/enterprise/agents/plain/threads/{thread_id}").status_code


def test_an_expired_thread_is_gone_and_swept_with_its_checkpoints(
    sdk: SyncLangGraphClient, server: PlatformServer
) -> None:
    tag = token()
    thread_id = sdk.threads.create(metadata={"tag": tag}, ttl=SHORT)["thread_id"]
    sdk.runs.wait(thread_id, "plain", input=user(f"{tag} hello"))
    assert sdk.threads.get(thread_id)["status"] == "idle"
    assert enterprise_status(server, thread_id) == 200
    assert [t["thread_id"] for t in sdk.threads.search(metadata={"tag": tag})] == [thread_id]
    wait_until(lambda: gone(sdk, thread_id), timeout=10, what="the thread to expire")
    assert sdk.threads.search(metadata={"tag": tag}) == []
    # The sweeper deleted its checkpoints and index entry: the enterprise API no longer has it either.
    wait_until(lambda: enterprise_status(server, thread_id) == 404, timeout=10, what="the sweep")
    with pytest.raises(NotFoundError):
        sdk.threads.get_state(thread_id)


def test_a_thread_is_not_swept_while_a_run_holds_it(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create(ttl=SHORT)["thread_id"]
    run = sdk.runs.create(thread_id, "plain", input=user(f"[stub:slow=3000] {tag} slow"))
    wait_until(lambda: sdk.threads.get(thread_id)["status"] == "busy", timeout=10, what="the run to start")
    time.sleep(2)  # past the thread's ttl, several sweeps
    assert sdk.threads.get(thread_id)["status"] == "busy"
    values = sdk.runs.join(thread_id, run["run_id"])
    assert values["messages"][-1]["content"].endswith(f"{tag} slow")
    # Its time to live counts again from the run's end.
    assert sdk.threads.get(thread_id)["values"]["messages"][-1]["content"].endswith(f"{tag} slow")
    wait_until(lambda: gone(sdk, thread_id), timeout=10, what="the thread to expire after its run")


def test_update_changes_the_ttl_and_the_default_applies(sdk: SyncLangGraphClient) -> None:
    kept = sdk.threads.create(ttl=SHORT)["thread_id"]
    sdk.threads.update(kept, metadata={"kept": True}, ttl=LONG)
    defaulted = sdk.threads.create()["thread_id"]
    forever = sdk.threads.create(ttl=LONG)["thread_id"]
    wait_until(lambda: gone(sdk, defaulted), timeout=15, what="THREAD_TTL_MINUTES to expire a thread")
    assert sdk.threads.get(kept)["metadata"] == {"kept": True}
    assert sdk.threads.get(forever)["thread_id"] == forever


def test_finished_runs_are_removed_after_their_retention(sdk: SyncLangGraphClient) -> None:
    thread_id = sdk.threads.create(ttl=LONG)["thread_id"]
    run = sdk.runs.create(thread_id, "plain", input=user("kept for a second"))
    sdk.runs.join(thread_id, run["run_id"])

    def removed() -> bool:
        try:
            sdk.runs.get(thread_id, run["run_id"])
        except NotFoundError:
            return True
        return False

    wait_until(removed, timeout=10, what="the finished run to be removed")
    assert sdk.runs.list(thread_id) == []
    # The thread itself stays (its ttl is an hour), with its state.
    assert sdk.threads.get(thread_id)["values"]["messages"][-1]["content"] == "Echo: kept for a second"


@pytest.mark.parametrize(
    "ttl", [{"ttl": 0}, {"ttl": -1}, {"ttl": 5, "strategy": "keep_latest"}, {"minutes": 5}, {"ttl": "soon"}]
)
def test_a_bad_ttl_is_422(server: PlatformServer, ttl: dict[str, Any]) -> None:
    with server.client(api_key=API_KEY) as client:
        assert client.post("/threads", json={"ttl": ttl}).status_code == 422
        thread_id = client.post("/threads", json={"ttl": LONG}).json()["thread_id"]
        answer = client.patch(f"/threads/{thread_id}", json={"metadata": {}, "ttl": ttl})
    assert answer.status_code == 422
