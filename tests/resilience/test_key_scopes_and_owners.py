"""Scopes and owners with several keys: a client key is not an admin key, and keeps to its own threads.

Keys: API_KEY (owner "default", admin and agents), two client keys from the keys file (alice, and a
bare digest), and an admin-only key. Another owner's thread answers exactly like a missing one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, parse_sse, token, wait_until
from harness.platform_server import PlatformServer
from harness.standard_webhooks import signed_headers
from tests.conftest import API_KEY, Launcher

ALICE = "alice-key-3f9a0c"
BARE = "bare-key-77e1d2"
ADMIN_ONLY = "admin-only-key-41bb"
SECRET = "scopes-webhook-secret"
AGENT = "/api/enterprise/agents/plain"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keys_text(bare_scopes: str | None = None) -> str:
    bare = digest(BARE) + (f" scopes={bare_scopes}" if bare_scopes else "")
    return (
        "# owners and scopes\n"
        f"{digest(ALICE)} owner=alice scopes=agents\n"
        f"{bare}\n"
        f"{digest(ADMIN_ONLY)} owner=ops scopes=admin\n"
    )


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scoped-keys") / "api-keys"
    path.write_text(keys_text())
    return path


@pytest.fixture(scope="module")
def server(launch: Launcher, keys_file: Path) -> PlatformServer:
    return launch(API_KEYS_FILE=str(keys_file), WEBHOOK_SECRET=SECRET)


@pytest.fixture
def alice(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=ALICE) as client:
        yield client


@pytest.fixture
def other(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=BARE) as client:
        yield client


@pytest.fixture
def admin(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=API_KEY) as client:
        yield client


def new_thread(client: httpx.Client, text: str) -> str:
    response = client.post(f"{AGENT}/invoke", json={"input": text})
    assert response.status_code == 200, response.text
    thread_id: str = response.json()["thread_id"]
    return thread_id


def messages(client: httpx.Client, thread_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{AGENT}/threads/{thread_id}")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["messages"]
    return result


ADMIN_CALLS = [
    ("/api/admin/maintenance", {"enabled": True, "retry_after_seconds": 86400}),
    ("/api/admin/log-level", {"level": "DEBUG"}),
    ("/api/admin/sessions/clear", {"older_than_seconds": 0}),
]


@pytest.mark.parametrize(("path", "body"), ADMIN_CALLS, ids=["maintenance", "log-level", "sessions-clear"])
def test_a_client_key_cannot_use_admin_endpoints(
    other: httpx.Client, admin: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    thread_id = new_thread(admin, f"{token()} must survive a refused clear")
    assert_problem(other.post(path, json=body), 403, "admin scope")
    assert admin.get("/health").json()["status"] == "healthy", "a refused call changed something"
    assert messages(admin, thread_id)


def test_an_admin_only_key_cannot_run_agents(server: PlatformServer) -> None:
    with server.client(api_key=ADMIN_ONLY) as ops:
        assert_problem(ops.get("/api/enterprise/agents"), 403, "agents scope")
        assert_problem(ops.post(f"{AGENT}/invoke", json={"input": "hi"}), 403)
        assert_problem(ops.get("/api/chains"), 403)
        assert ops.post("/api/admin/log-level", json={"level": "INFO"}).status_code == 200


def test_another_owners_thread_is_not_found_for_read_extend_and_delete(
    alice: httpx.Client, other: httpx.Client
) -> None:
    tag = token()
    thread_id = new_thread(alice, f"{tag} private to alice")
    missing = f"{thread_id}-none"
    for client, tid in ((other, thread_id), (other, missing), (alice, missing)):
        read = assert_problem(client.get(f"{AGENT}/threads/{tid}"), 404)
        assert read["detail"] == f"agent plain has no thread {tid}", "a hidden thread must look missing"
    assert_problem(other.post(f"{AGENT}/invoke", json={"input": "take over", "thread_id": thread_id}), 404)
    stream = other.post(f"{AGENT}/stream", json={"input": "take over", "thread_id": thread_id})
    assert_problem(stream, 404)
    assert_problem(other.delete(f"{AGENT}/threads/{thread_id}"), 404)
    assert [m["content"] for m in messages(alice, thread_id)] == [
        f"{tag} private to alice",
        f"Echo: {tag} private to alice",
    ]


def test_a_busy_thread_of_another_owner_is_404_not_409(alice: httpx.Client, other: httpx.Client) -> None:
    thread_id = new_thread(alice, f"{token()} first turn")
    result: dict[str, int] = {}

    def slow_turn() -> None:
        body = {"input": f"{token()} [stub:slow=2500] slow turn", "thread_id": thread_id}
        result["status"] = alice.post(f"{AGENT}/invoke", json=body, timeout=30).status_code

    worker = threading.Thread(target=slow_turn)
    worker.start()
    try:
        time.sleep(0.8)
        busy_for_alice = alice.post(f"{AGENT}/invoke", json={"input": "meanwhile", "thread_id": thread_id})
        assert_problem(busy_for_alice, 409)
        assert_problem(other.post(f"{AGENT}/invoke", json={"input": "probe", "thread_id": thread_id}), 404)
    finally:
        worker.join(timeout=30)
    assert result["status"] == 200


def test_an_admin_key_reads_extends_and_deletes_any_thread(alice: httpx.Client, admin: httpx.Client) -> None:
    tag = token()
    thread_id = new_thread(alice, f"{tag} alice asks")
    assert len(messages(admin, thread_id)) == 2
    more = admin.post(f"{AGENT}/invoke", json={"input": f"{tag} operator adds", "thread_id": thread_id})
    assert more.status_code == 200, more.text
    assert len(messages(alice, thread_id)) == 4, "the thread stays alice's after an admin turn"
    assert admin.delete(f"{AGENT}/threads/{thread_id}").status_code == 204
    assert_problem(alice.get(f"{AGENT}/threads/{thread_id}"), 404)


def test_webhook_runs_are_visible_to_admin_keys_only(
    server: PlatformServer, alice: httpx.Client, admin: httpx.Client
) -> None:
    body = json.dumps({"input": f"{token()} by webhook", "agent": "plain"}).encode()
    accepted = httpx.post(
        f"{server.url}/api/webhooks/plain", content=body, headers=signed_headers(SECRET, body), timeout=10
    )
    assert accepted.status_code == 202, accepted.text
    status_url, thread_id = accepted.json()["status_url"], accepted.json()["thread_id"]
    wait_until(lambda: admin.get(status_url).json()["status"] == "succeeded", timeout=15, what="the run")
    assert_problem(alice.get(status_url), 404)
    assert_problem(alice.get(f"{AGENT}/threads/{thread_id}"), 404)
    assert len(messages(admin, thread_id)) == 2


def test_an_empty_x_api_key_falls_back_to_a_valid_bearer_token(server: PlatformServer) -> None:
    headers = {"X-API-Key": "", "Authorization": f"Bearer {ALICE}"}
    assert httpx.get(f"{server.url}/api/enterprise/agents", headers=headers, timeout=10).status_code == 200
    wrong = {"X-API-Key": "not-a-key", "Authorization": f"Bearer {ALICE}"}
    assert_problem(httpx.get(f"{server.url}/api/enterprise/agents", headers=wrong, timeout=10), 401)


def test_scopes_in_the_keys_file_are_reloaded_on_change(
    server: PlatformServer, keys_file: Path, other: httpx.Client
) -> None:
    clear = "/api/admin/sessions/clear"
    assert_problem(other.post(clear, json={}), 403)
    try:
        keys_file.write_text(keys_text(bare_scopes="admin,agents"))
        wait_until(lambda: other.post(clear, json={}).status_code == 200, timeout=10, what="admin granted")
    finally:
        keys_file.write_text(keys_text())
    wait_until(lambda: other.post(clear, json={}).status_code == 403, timeout=10, what="admin revoked")
    assert other.get("/api/enterprise/agents").status_code == 200


def test_bad_lines_in_the_keys_file_are_reported_and_the_rest_kept(
    server: PlatformServer, keys_file: Path, alice: httpx.Client
) -> None:
    def skipped(line: str) -> list[str]:
        return [
            str(r["problem"])
            for r in server.log_records()
            if r.get("event") == "API keys file line skipped" and line in str(r.get("problem"))
        ]

    try:
        keys_file.write_text(keys_text() + f"{digest('x')} scopes=superuser\nnot-a-digest owner=mallory\n")
        # The file is re-read on the request path: keep using a good key until the reload is logged.
        wait_until(
            lambda: alice.get("/api/enterprise/agents").status_code == 200 and skipped("line 6"),
            timeout=10,
            what="the reload of the keys file",
        )
        (scopes_problem,) = skipped("line 5")
        assert "superuser" in scopes_problem
        assert "admin, agents" in scopes_problem
        (digest_problem,) = skipped("line 6")
        assert "hash-key" in digest_problem
        loaded = [r for r in server.log_records() if r.get("event") == "API keys file loaded"]
        assert loaded[-1]["skipped_lines"] == 2
        assert loaded[-1]["digests"] == 3
    finally:
        keys_file.write_text(keys_text())


def test_a_stream_on_another_owners_thread_sends_no_events(alice: httpx.Client, other: httpx.Client) -> None:
    thread_id = new_thread(alice, f"{token()} streamed later")
    with alice.stream("POST", f"{AGENT}/stream", json={"input": "more", "thread_id": thread_id}) as own:
        events = parse_sse(own.read().decode())
    assert events[-1].event == "done"
    refused = other.post(f"{AGENT}/stream", json={"input": "more", "thread_id": thread_id})
    assert_problem(refused, 404)
    assert len(messages(alice, thread_id)) == 4
