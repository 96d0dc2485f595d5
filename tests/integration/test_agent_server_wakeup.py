"""A background run created in one process is taken by another at once, not at the next poll: the
cross-process wake-up (PostgreSQL LISTEN/NOTIFY, SQLite's commit counter), on SQLite and PostgreSQL.

Two servers share one state store: the first takes no runs (``BACKGROUND_RUNS_PER_PROCESS=0``), so
every run it creates must be taken by one of the second's two worker processes. Both poll only every
30 s: a run that finishes within seconds was woken for, never found by the poll.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from harness.agent_server_calls import last_text, user
from harness.http_checks import token
from tests.conftest import API_KEY, Launcher

POLL_SECONDS = 30.0
# Well under the poll, with room for a slow shared machine.
WOKEN_WITHIN_SECONDS = 5.0


@pytest.fixture(scope="module")
def creator(
    launch: Launcher, state_store: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncLangGraphClient]:
    """The SDK on the process that only creates runs; the other server, on the same store, runs them."""
    data = tmp_path_factory.mktemp("shared-state")
    env = {"BACKGROUND_RUN_POLL_SECONDS": str(POLL_SECONDS), "LLM_MAX_RETRIES": "0", **state_store}
    api_only = launch(data_dir=data, BACKGROUND_RUNS_PER_PROCESS="0", **env)
    launch(workers=2, data_dir=data, **env)
    with get_sync_client(url=api_only.url, api_key=API_KEY) as client:
        yield client


def started_within(sdk: SyncLangGraphClient, thread_id: str, run_id: str, seconds: float) -> float:
    """How long the run stayed pending, failing once it is pending for ``seconds``."""
    started = time.monotonic()
    while sdk.runs.get(thread_id, run_id)["status"] == "pending":
        waited = time.monotonic() - started
        assert waited < seconds, f"run still pending after {waited:.1f}s: nothing woke the other processes"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_run_created_elsewhere_is_taken_without_waiting_for_the_poll(creator: SyncLangGraphClient) -> None:
    tag = token()
    for n in range(5):
        thread_id = creator.threads.create()["thread_id"]
        run = creator.runs.create(thread_id, "plain", input=user(f"{tag} run-{n}"))
        started_within(creator, thread_id, run["run_id"], WOKEN_WITHIN_SECONDS)
        assert last_text(creator.runs.join(thread_id, run["run_id"])) == f"Echo: {tag} run-{n}"


def test_a_stateless_run_created_elsewhere_is_taken_at_once(creator: SyncLangGraphClient) -> None:
    tag = token()
    run = creator.runs.create(None, "plain", input=user(f"{tag} alone"))
    started_within(creator, run["thread_id"], run["run_id"], WOKEN_WITHIN_SECONDS)
    assert last_text(creator.runs.join(run["thread_id"], run["run_id"])) == f"Echo: {tag} alone"


def test_a_delayed_run_starts_when_due_not_at_the_next_poll(creator: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = creator.threads.create()["thread_id"]
    run = creator.runs.create(thread_id, "plain", input=user(f"{tag} later"), after_seconds=1)
    waited = started_within(creator, thread_id, run["run_id"], 1 + WOKEN_WITHIN_SECONDS)
    assert waited >= 0.9, f"a run delayed by 1 s started after {waited:.2f}s"
    assert last_text(creator.runs.join(thread_id, run["run_id"])) == f"Echo: {tag} later"
