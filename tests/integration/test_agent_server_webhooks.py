"""A run's `webhook` through the real `langgraph_sdk` client: when the run ends (background, wait, stream,
stateless) its outcome is POSTed to a loopback receiver, signed the Standard Webhooks way (checked with
`harness.standard_webhooks`), once; a URL the callback policy refuses is a 422 at creation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import UnprocessableEntityError

from harness.agent_server_calls import user
from harness.http_checks import token, wait_until
from harness.platform_server import PlatformServer
from harness.standard_webhooks import verified
from harness.webhook_receiver import ALLOWED_HOST, SECRET, Receiver
from tests.conftest import Launcher


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    # Two workers: a background run's webhook comes from whichever process ran it, exactly once.
    return launch(
        workers=2,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_CALLBACK_ALLOWLIST=ALLOWED_HOST,
        LLM_MAX_RETRIES="0",
        **state_store,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(ALLOWED_HOST) as r:
        yield r


def delivered(receiver: Receiver, count: int = 1) -> list[dict[str, Any]]:
    """The bodies of the first ``count`` deliveries, each checked for a valid signature."""
    wait_until(lambda: len(receiver.received) >= count or None, timeout=15, what="the run webhook")
    bodies = []
    for _, headers, body in receiver.received:
        assert verified(SECRET, headers, body), headers
        payload: dict[str, Any] = json.loads(body)
        assert headers["webhook-id"] == f"msg_{payload['run_id']}"
        bodies.append(payload)
    return bodies


def test_background_run_posts_its_values_signed_once(sdk: SyncLangGraphClient, receiver: Receiver) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(
        thread_id, "plain", input=user(f"{tag} hook"), webhook=receiver.url, metadata={"tag": tag}
    )
    sdk.runs.join(thread_id, run["run_id"])
    [payload] = delivered(receiver)
    assert payload["run_id"] == run["run_id"]
    assert payload["thread_id"] == thread_id
    assert payload["assistant_id"] == "plain"
    assert payload["status"] == "success"
    assert payload["metadata"]["tag"] == tag
    assert payload["values"]["messages"][-1]["content"] == f"Echo: {tag} hook"
    assert "error" not in payload


def test_wait_stream_and_stateless_runs_post_their_outcome(
    sdk: SyncLangGraphClient, receiver: Receiver
) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    sdk.runs.wait(thread_id, "plain", input=user(f"{tag} waited"), webhook=receiver.url)
    [waited] = delivered(receiver)
    assert (waited["thread_id"], waited["status"]) == (thread_id, "success")
    assert waited["values"]["messages"][-1]["content"] == f"Echo: {tag} waited"

    list(sdk.runs.stream(thread_id, "plain", input=user(f"{tag} streamed"), webhook=receiver.url))
    streamed = delivered(receiver, 2)[1]
    assert streamed["values"]["messages"][-1]["content"] == f"Echo: {tag} streamed"

    sdk.runs.wait(None, "plain", input=user(f"{tag} alone"), webhook=receiver.url)
    alone = delivered(receiver, 3)[2]
    assert alone["thread_id"] is None
    assert alone["values"]["messages"][-1]["content"] == f"Echo: {tag} alone"


def test_a_failed_run_posts_its_error(sdk: SyncLangGraphClient, receiver: Receiver) -> None:
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(thread_id, "plain", input=user("[stub:500] fails"), webhook=receiver.url)
    sdk.runs.join(thread_id, run["run_id"])
    [payload] = delivered(receiver)
    assert payload["status"] == "error"
    assert payload["error"]["status"] == 502
    assert "values" not in payload


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "ftp://127.0.0.2/hook", "http://10.1.2.3/hook", "not a url"],
    ids=["loopback-not-allowed", "scheme", "private", "garbage"],
)
def test_a_webhook_the_policy_refuses_is_422_at_creation(sdk: SyncLangGraphClient, url: str) -> None:
    thread_id = sdk.threads.create()["thread_id"]
    with pytest.raises(UnprocessableEntityError) as refused:
        sdk.runs.create(thread_id, "plain", input=user("x"), webhook=url)
    assert "webhook" in str(refused.value)
    # runs.wait raises httpx's own error (the SDK types only some calls' errors).
    with pytest.raises(httpx.HTTPStatusError) as waited:
        sdk.runs.wait(thread_id, "plain", input=user("x"), webhook=url)
    assert waited.value.response.status_code == 422
    # Nothing ran: no run was recorded on the thread.
    assert sdk.runs.list(thread_id) == []
