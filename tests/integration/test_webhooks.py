"""Webhooks: signed inbound events, run status, and signed callbacks to a loopback receiver.

Events and callbacks are checked with ``harness.standard_webhooks``, written from the Standard
Webhooks spec apart from the service; replays, stale times and redirected events are in
``tests/resilience/test_webhook_replay.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, token, wait_until
from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers, verified
from harness.webhook_receiver import ALLOWED_HOST, SECRET, Receiver
from tests.conftest import API_KEY, Launcher

HOOK = "/api/webhooks/plain"


def post_event(
    server: PlatformServer, event: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST ``event`` for agent plain (named in the body, as the signature requires), signed unless
    ``headers`` are given."""
    body = json.dumps({"agent": "plain", **event}).encode()
    sent = {"X-API-Key": API_KEY, **(headers if headers is not None else signed_headers(SECRET, body))}
    return httpx.post(f"{server.url}{HOOK}", content=body, headers=sent, timeout=10)


def run_status(server: PlatformServer, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/runs/{run_id}", headers={"X-API-Key": API_KEY}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def finished(server: PlatformServer, run_id: str, timeout: float = 15) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        status = run_status(server, run_id)
        return status if status["status"] in ("succeeded", "failed") else None

    return wait_until(probe, timeout=timeout, what=f"run {run_id} to finish")


def callback_outcome(server: PlatformServer, run_id: str) -> str:
    """The run's `callback` field once the delivery has an outcome."""
    outcome = wait_until(
        lambda: run_status(server, run_id)["callback"], timeout=15, what="the callback outcome"
    )
    assert isinstance(outcome, str)
    return outcome


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    # Exactly one loopback address may receive callbacks: receivers listen on 127.0.0.2, and
    # 127.0.0.1 (the service's own host) stays forbidden.
    return launch(WEBHOOK_SECRET=SECRET, WEBHOOK_CALLBACK_ALLOWLIST=ALLOWED_HOST)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(ALLOWED_HOST) as r:
        yield r


def test_signed_event_runs_the_agent(server: PlatformServer) -> None:
    tag = token()
    response = post_event(server, {"input": f"{tag} from a webhook"})
    assert response.status_code == 202, response.text
    accepted = response.json()
    run_id = accepted["run_id"]
    assert accepted["status_url"] == f"/api/runs/{run_id}"
    status = finished(server, run_id)
    assert status["status"] == "succeeded", status
    assert status["agent"] == "plain"
    assert status["result"]["output"] == f"Echo: {tag} from a webhook"
    assert status["result"]["run_id"] == run_id
    assert status["thread_id"] == accepted["thread_id"]


def test_bad_signature_is_401(server: PlatformServer) -> None:
    event = {"input": "forged"}
    body = json.dumps({"agent": "plain", **event}).encode()
    assert_problem(post_event(server, event, headers=signed_headers("not-the-secret", body)), 401)
    assert_problem(post_event(server, event, headers={"Content-Type": "application/json"}), 401)
    other_bytes = signed_headers(SECRET, body + b" ")
    assert_problem(post_event(server, event, headers=other_bytes), 401, "webhook-signature")


def test_unknown_run_is_404(server: PlatformServer) -> None:
    response = httpx.get(f"{server.url}/api/runs/{token()}", headers={"X-API-Key": API_KEY}, timeout=10)
    assert_problem(response, 404)


def test_a_failed_run_is_reported(server: PlatformServer) -> None:
    response = post_event(server, {"input": f"{token()} [stub:500]"})
    assert response.status_code == 202
    status = finished(server, response.json()["run_id"], timeout=30)
    assert status["status"] == "failed"
    assert "500" in status["error"]
    assert status["result"] is None


def test_loopback_callback_is_refused_unless_allow_listed(server: PlatformServer) -> None:
    with Receiver("127.0.0.1") as local:
        body = assert_problem(post_event(server, {"input": "call me back", "callback_url": local.url}), 400)
        assert "WEBHOOK_CALLBACK_ALLOWLIST" in body["detail"]
        for url in (
            f"http://localhost:{local.url.split(':')[2]}",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/hook",
            "file:///etc/passwd",
        ):
            assert_problem(post_event(server, {"input": "call me back", "callback_url": url}), 400)
        time.sleep(0.5)
    assert local.received == []


def test_callback_delivers_a_signed_result(server: PlatformServer, receiver: Receiver) -> None:
    tag = token()
    response = post_event(server, {"input": f"{tag} with callback", "callback_url": receiver.url})
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]
    wait_until(lambda: receiver.received, timeout=15, what="the callback")
    status, headers, body = receiver.received[0]
    assert status == 200
    assert verified(SECRET, headers, body), f"callback signature does not verify: {headers}"
    assert headers["webhook-id"] == f"msg_{run_id}"
    assert "x-signature-256" not in headers, "the deprecated header is sent only with the setting"
    payload = json.loads(body)
    assert payload["run_id"] == run_id
    assert payload["status"] == "succeeded"
    assert payload["result"]["output"] == f"Echo: {tag} with callback"
    assert "delivered" in callback_outcome(server, run_id)


def test_callback_is_retried_until_it_is_taken(server: PlatformServer) -> None:
    with Receiver(ALLOWED_HOST, fail_first=2) as flaky:
        response = post_event(server, {"input": f"{token()} flaky receiver", "callback_url": flaky.url})
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        wait_until(lambda: len(flaky.received) >= 3, timeout=20, what="three callback attempts")
        outcome = callback_outcome(server, run_id)
    assert [status for status, _, _ in flaky.received] == [500, 500, 200]
    bodies = {body for _, _, body in flaky.received}
    assert len(bodies) == 1, "every attempt carries the same signed body"
    assert {headers["webhook-id"] for _, headers, _ in flaky.received} == {f"msg_{run_id}"}
    assert all(verified(SECRET, headers, body) for _, headers, body in flaky.received)
    assert "3 attempt" in outcome
