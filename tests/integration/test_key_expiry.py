"""Keys-file ``expires=``: a rotated-out key keeps working until its time, then answers 401 by itself."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from harness.http_checks import assert_problem, wait_until
from harness.platform_server import PlatformServer
from tests.conftest import Launcher

PROTECTED = "/api/enterprise/agents"
OLD_KEY = "rotated-out-key-3f9a"
NEW_KEY = "rotated-in-key-c21e"
# Long enough for the server to re-read the file and answer before the end, short for the suite.
GRACE_SECONDS = 3


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "api-keys"
    path.write_text(f"{digest(NEW_KEY)} owner=team scopes=agents\n")
    return path


@pytest.fixture(scope="module")
def server(launch: Launcher, keys_file: Path) -> PlatformServer:
    return launch(API_KEYS_FILE=str(keys_file))


def status_with(server: PlatformServer, key: str) -> int:
    return httpx.get(f"{server.url}{PROTECTED}", headers={"X-API-Key": key}, timeout=10).status_code


def test_the_old_key_works_during_the_grace_window_and_is_401_after(
    server: PlatformServer, keys_file: Path
) -> None:
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=GRACE_SECONDS + 1)
    keys_file.write_text(
        f"{digest(OLD_KEY)} owner=team scopes=agents expires={ends.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        f"{digest(NEW_KEY)} owner=team scopes=agents\n"
    )
    wait_until(lambda: status_with(server, OLD_KEY) == 200, timeout=GRACE_SECONDS, what="old key accepted")
    assert status_with(server, NEW_KEY) == 200

    wait_until(lambda: status_with(server, OLD_KEY) == 401, timeout=GRACE_SECONDS + 5, what="old key expired")
    assert time.time() >= ends.timestamp(), "the key stopped working before its expiry"
    response = httpx.get(f"{server.url}{PROTECTED}", headers={"X-API-Key": OLD_KEY}, timeout=10)
    assert_problem(response, 401, "Invalid or missing API key")
    assert status_with(server, NEW_KEY) == 200


def test_an_expired_key_in_the_log_shows_neither_key(server: PlatformServer) -> None:
    log = server.log_text()
    assert "API keys file loaded" in log
    for secret in (OLD_KEY, NEW_KEY):
        assert secret not in log
