"""API-key authentication: 401 problems, the key sources, keys-file rotation by SIGHUP and by change."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from harness.http_checks import assert_problem, wait_until
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, OPENAI_KEY, Launcher

PROTECTED = "/api/enterprise/agents"
EXTRA_KEYS = ("extra-key-one-7c1d", "extra-key-two-9e2f")
FILE_KEY = "file-key-4a8b-rotating"
NEW_KEY = "file-key-new-0b3c-rotated"  # added during the test
PLACEHOLDER_KEY = "file-key-placeholder-55aa"  # its line is overwritten in place by NEW_KEY's digest
WRONG_KEY = "definitely-not-a-valid-key-123"
AUTH_DETAIL = "Invalid or missing API key"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "api-keys"
    path.write_text(f"# test keys\n{digest(FILE_KEY)}\n{digest(PLACEHOLDER_KEY)}  # placeholder\n")
    path.chmod(0o640)
    return path


@pytest.fixture(scope="module")
def server(launch: Launcher, keys_file: Path) -> PlatformServer:
    return launch(API_KEYS=",".join(EXTRA_KEYS), API_KEYS_FILE=str(keys_file))


def status_with(server: PlatformServer, key: str | None) -> int:
    headers = {"X-API-Key": key} if key else {}
    return httpx.get(f"{server.url}{PROTECTED}", headers=headers, timeout=10).status_code


def test_missing_key_is_401_problem(server: PlatformServer) -> None:
    response = httpx.get(f"{server.url}{PROTECTED}", timeout=10)
    assert_problem(response, 401, AUTH_DETAIL)


def test_wrong_key_is_401_problem(server: PlatformServer) -> None:
    response = httpx.get(f"{server.url}{PROTECTED}", headers={"X-API-Key": WRONG_KEY}, timeout=10)
    body = assert_problem(response, 401, AUTH_DETAIL)
    assert WRONG_KEY not in response.text
    assert body["detail"] == AUTH_DETAIL


def test_agent_invoke_also_needs_a_key(server: PlatformServer) -> None:
    response = httpx.post(f"{server.url}{PROTECTED}/assistant/invoke", json={"input": "hi"}, timeout=10)
    assert_problem(response, 401, AUTH_DETAIL)


@pytest.mark.parametrize(
    "key", [API_KEY, *EXTRA_KEYS, FILE_KEY], ids=["API_KEY", "API_KEYS-1", "API_KEYS-2", "file"]
)
def test_every_configured_key_is_accepted_in_x_api_key(server: PlatformServer, key: str) -> None:
    assert status_with(server, key) == 200


def test_a_digest_is_not_itself_a_key(server: PlatformServer) -> None:
    # The file holds digests; presenting the digest string must not authenticate.
    assert status_with(server, digest(FILE_KEY)) == 401


def test_bearer_authorization_is_accepted(server: PlatformServer) -> None:
    ok = httpx.get(f"{server.url}{PROTECTED}", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
    assert ok.status_code == 200
    bad = httpx.get(f"{server.url}{PROTECTED}", headers={"Authorization": f"Bearer {WRONG_KEY}"}, timeout=10)
    assert_problem(bad, 401, AUTH_DETAIL)
    basic = httpx.get(f"{server.url}{PROTECTED}", headers={"Authorization": f"Basic {API_KEY}"}, timeout=10)
    assert_problem(basic, 401, AUTH_DETAIL)


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/metrics", "/schema"])
def test_exempt_paths_need_no_key(server: PlatformServer, path: str) -> None:
    assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 200


def test_sighup_reloads_the_keys_file_without_failing_requests(
    server: PlatformServer, keys_file: Path
) -> None:
    assert status_with(server, NEW_KEY) == 401

    # A client keeps using the old key through the whole rotation; not one request may fail.
    statuses: Counter[int] = Counter()
    stop, paused = threading.Event(), threading.Event()

    def old_key_client() -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": FILE_KEY}, timeout=10) as client:
            while not stop.is_set():
                if paused.is_set():
                    time.sleep(0.01)
                    continue
                try:
                    statuses[client.get(PROTECTED).status_code] += 1
                except httpx.TransportError as exc:
                    statuses[-1] += 1
                    print("transport error during reload:", exc)

    worker = threading.Thread(target=old_key_client)
    worker.start()
    try:
        time.sleep(0.3)
        # Overwrite the placeholder digest in place with one of the same length and put the old
        # mtime back: inode, size and mtime are unchanged, so only SIGHUP can make the server see it.
        # The client pauses meanwhile so no request sees the file between the write and the utime.
        paused.set()
        time.sleep(0.2)
        before = keys_file.stat()
        keys_file.write_text(keys_file.read_text().replace(digest(PLACEHOLDER_KEY), digest(NEW_KEY)))
        os.utime(keys_file, ns=(before.st_atime_ns, before.st_mtime_ns))
        paused.clear()
        time.sleep(0.3)
        server.send_signal(signal.SIGHUP)
        wait_until(
            lambda: status_with(server, NEW_KEY) == 200, timeout=10, what="new key accepted after SIGHUP"
        )
        assert status_with(server, PLACEHOLDER_KEY) == 401
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join(timeout=15)
    assert sum(statuses.values()) > 10, statuses
    assert set(statuses) == {200}, f"old-key requests during the reload: {dict(statuses)}"
    assert status_with(server, FILE_KEY) == 200
    assert server.running, "SIGHUP must not stop the server"


def test_removing_a_key_from_the_file_revokes_it(server: PlatformServer, keys_file: Path) -> None:
    keys_file.write_text(f"{digest(FILE_KEY)}\n")  # NEW_KEY's line removed
    server.send_signal(signal.SIGHUP)
    wait_until(lambda: status_with(server, NEW_KEY) == 401, timeout=10, what="removed key rejected")
    assert status_with(server, FILE_KEY) == 200
    assert status_with(server, API_KEY) == 200


def test_a_changed_keys_file_is_picked_up_without_a_signal(server: PlatformServer, keys_file: Path) -> None:
    other = "file-key-added-without-signal"
    keys_file.write_text(f"{digest(FILE_KEY)}\n{digest(other)}\n")
    wait_until(lambda: status_with(server, other) == 200, timeout=10, what="key from changed file accepted")
    keys_file.write_text(f"{digest(FILE_KEY)}\n")
    wait_until(lambda: status_with(server, other) == 401, timeout=10, what="key from changed file revoked")


def test_no_key_appears_in_the_logs(server: PlatformServer) -> None:
    # Runs last in this module: by now every key above has been presented and rotated.
    log = server.log_text()
    assert "401" in log or "API keys file" in log, "expected request/auth log lines to check"
    for secret in (API_KEY, *EXTRA_KEYS, FILE_KEY, NEW_KEY, PLACEHOLDER_KEY, WRONG_KEY, OPENAI_KEY):
        assert secret not in log, f"a key leaked into the log: {secret[:6]}..."
