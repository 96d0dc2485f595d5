"""Captured webhook events cannot be replayed, re-dated, altered or redirected to another agent.

Events are signed by ``harness.standard_webhooks`` (the spec, written apart from the service); the
stub LLM's request log counts how many agent runs an event really caused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, token, wait_until
from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers
from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, Launcher

SECRET = "whsec_" + "c2VjcmV0LWZvci1yZXBsYXktdGVzdHMtMDEyMzQ1Njc="  # base64 of 32 bytes
TOLERANCE = 300


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(WEBHOOK_SECRET=SECRET)


def event_body(text: str, agent: str = "plain", **extra: Any) -> bytes:
    return json.dumps({"input": text, "agent": agent, **extra}).encode()


def post(server: PlatformServer, path_agent: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/webhooks/{path_agent}", content=body, headers=headers, timeout=15)


def runs_of(stub: StubOpenAI, tag: str) -> int:
    """Agent runs the stub LLM saw for ``tag`` (the plain agent makes one LLM call per run)."""
    return len(stub.requests_mentioning(tag))


def wait_for_runs(stub: StubOpenAI, tag: str, count: int) -> None:
    wait_until(lambda: runs_of(stub, tag) >= count, timeout=15, what=f"{count} run(s) for {tag}")
    time.sleep(1.0)  # any extra run would show up by now


def test_a_replayed_event_runs_once(server: PlatformServer, stub_llm: StubOpenAI) -> None:
    tag = token()
    body = event_body(f"{tag} replay me")
    headers = signed_headers(SECRET, body)
    answers = [post(server, "plain", body, headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [202, 409, 409, 409, 409], [a.text for a in answers]
    for duplicate in answers[1:]:
        assert_problem(duplicate, 409, headers["webhook-id"])
    wait_for_runs(stub_llm, tag, 1)
    assert runs_of(stub_llm, tag) == 1


def test_concurrent_deliveries_of_one_id_run_once(server: PlatformServer, stub_llm: StubOpenAI) -> None:
    tag = token()
    body = event_body(f"{tag} concurrent copies")
    headers = signed_headers(SECRET, body)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: post(server, "plain", body, headers).status_code, range(8)))
    assert statuses == [202] + [409] * 7
    wait_for_runs(stub_llm, tag, 1)
    assert runs_of(stub_llm, tag) == 1


def test_the_same_id_with_a_new_time_and_signature_is_refused(
    server: PlatformServer, stub_llm: StubOpenAI
) -> None:
    tag = token()
    body = event_body(f"{tag} re-dated")
    first = signed_headers(SECRET, body, timestamp=int(time.time()) - 5)
    assert post(server, "plain", body, first).status_code == 202
    again = signed_headers(SECRET, body, message_id=first["webhook-id"])
    assert again["webhook-signature"] != first["webhook-signature"]
    assert_problem(post(server, "plain", body, again), 409)
    wait_for_runs(stub_llm, tag, 1)
    assert runs_of(stub_llm, tag) == 1


@pytest.mark.parametrize("offset", [-TOLERANCE - 30, TOLERANCE + 30, -86_400, 10**9])
def test_a_time_outside_the_tolerance_is_401(server: PlatformServer, offset: int) -> None:
    body = event_body(f"{token()} stale or future")
    headers = signed_headers(SECRET, body, timestamp=max(0, int(time.time()) + offset))
    assert_problem(post(server, "plain", body, headers), 401, "WEBHOOK_TOLERANCE_SECONDS")


@pytest.mark.parametrize("offset", [-(TOLERANCE - 30), TOLERANCE - 30])
def test_clock_skew_within_the_tolerance_is_accepted_both_ways(server: PlatformServer, offset: int) -> None:
    body = event_body(f"{token()} skewed clock")
    headers = signed_headers(SECRET, body, timestamp=int(time.time()) + offset)
    assert post(server, "plain", body, headers).status_code == 202


def test_an_event_for_one_agent_is_refused_by_another(server: PlatformServer, stub_llm: StubOpenAI) -> None:
    tag = token()
    body = event_body(f"{tag} meant for plain", agent="plain")
    headers = signed_headers(SECRET, body)
    assert_problem(post(server, "assistant", body, headers), 401, "signed for agent 'plain'")
    unnamed = json.dumps({"input": f"{tag} names no agent"}).encode()
    assert_problem(post(server, "assistant", unnamed, signed_headers(SECRET, unnamed)), 401, '"agent"')
    time.sleep(1.0)
    assert runs_of(stub_llm, tag) == 0
    # Refused events leave their id unused: the right webhook still takes the same delivery.
    assert post(server, "plain", body, headers).status_code == 202


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b"harmless", b"harmful!"),
        lambda body: body + b" ",
        lambda body: body.replace(b'"plain"', b'"assistant"'),
    ],
    ids=["changed-text", "trailing-space", "changed-agent"],
)
def test_a_signature_over_another_body_is_401(server: PlatformServer, tamper: Any) -> None:
    body = event_body(f"{token()} harmless")
    headers = signed_headers(SECRET, body)
    changed = tamper(body)
    agent = "assistant" if b'"assistant"' in changed else "plain"
    assert_problem(post(server, agent, changed, headers), 401, "no valid v1 signature")


def test_one_valid_signature_among_several_is_enough(server: PlatformServer) -> None:
    # A sender rotating its secret signs with the old and the new one.
    body = event_body(f"{token()} during rotation")
    headers = signed_headers(SECRET, body)
    old = signed_headers(
        "whsec_b2xkLXNlY3JldA==",
        body,
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
    )
    headers["webhook-signature"] = f"{old['webhook-signature']} v2,ignored {headers['webhook-signature']}"
    assert post(server, "plain", body, headers).status_code == 202


def legacy_headers(body: bytes, secret: str) -> dict[str, str]:
    """The deprecated scheme: X-Signature-256 over the body alone."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Signature-256": f"sha256={digest}"}


def test_the_legacy_header_is_refused_by_default(server: PlatformServer) -> None:
    body = json.dumps({"input": f"{token()} old sender"}).encode()
    assert_problem(post(server, "plain", body, legacy_headers(body, SECRET)), 401, "WEBHOOK_LEGACY_SIGNATURE")


def test_the_legacy_header_works_with_the_setting_and_is_logged(launch: Launcher) -> None:
    legacy_secret = "legacy-secret-5d1e"
    server = launch(WEBHOOK_SECRET=legacy_secret, WEBHOOK_LEGACY_SIGNATURE="true")
    body = json.dumps({"input": f"{token()} old sender"}).encode()  # no "agent": as before
    accepted = post(server, "plain", body, legacy_headers(body, legacy_secret))
    assert accepted.status_code == 202, accepted.text
    server.wait_for_log(lambda r: "deprecated X-Signature-256" in str(r.get("event")))
    assert_problem(post(server, "plain", body, legacy_headers(body, "wrong")), 401)
    # A legacy body naming another agent is still refused.
    redirected = json.dumps({"input": "x", "agent": "assistant"}).encode()
    assert_problem(post(server, "plain", redirected, legacy_headers(redirected, legacy_secret)), 401)
    # The Standard Webhooks headers keep working beside it.
    standard = event_body(f"{token()} new sender")
    assert post(server, "plain", standard, signed_headers(legacy_secret, standard)).status_code == 202
    run = httpx.get(
        f"{server.url}{accepted.json()['status_url']}", headers={"X-API-Key": API_KEY}, timeout=10
    )
    assert run.status_code == 200
