"""/health needs no key (the runbook's `curl -s .../health | jq .status`), so it tells a caller without
one only short reasons: file paths, agents file contents and store errors are for authenticated callers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

UNWRITABLE_DIR = "/proc/no-such-dir-for-state"


@pytest.fixture(scope="module")
def broken(launch: Launcher, tmp_path_factory: pytest.TempPathFactory) -> PlatformServer:
    agents = tmp_path_factory.mktemp("agents") / "agents.yaml"
    agents.write_text("agents:\n  - name: broken\n    description: no prompt\n    tools: [rm_rf]\n")
    return launch(AGENTS_CONFIG=str(agents), CHECKPOINTER_URL=f"sqlite:///{UNWRITABLE_DIR}/state.sqlite")


def health(server: PlatformServer, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    with server.client(headers=headers) as client:
        response = client.get("/health")
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_without_a_key_reasons_carry_no_paths_or_file_contents(broken: PlatformServer) -> None:
    _, body = health(broken)
    text = " ".join(body["reasons"])
    agents_file = broken.env["AGENTS_CONFIG"]
    for secret in (agents_file, Path(agents_file).name, "rm_rf", UNWRITABLE_DIR, broken.env["DATA_DIR"]):
        assert secret not in text, (secret, body["reasons"])
    assert any("agents file is invalid" in reason for reason in body["reasons"]), body["reasons"]
    assert any("state store" in reason for reason in body["reasons"]), body["reasons"]


@pytest.mark.parametrize("header", ["X-API-Key", "Authorization"])
def test_with_a_key_reasons_name_the_file_and_the_problem(broken: PlatformServer, header: str) -> None:
    value = API_KEY if header == "X-API-Key" else f"Bearer {API_KEY}"
    _, body = health(broken, {header: value})
    text = " ".join(body["reasons"])
    assert "rm_rf" in text, body["reasons"]
    assert UNWRITABLE_DIR in text, body["reasons"]


def test_a_wrong_key_gets_the_short_reasons(broken: PlatformServer) -> None:
    _, body = health(broken, {"X-API-Key": "not-the-key"})
    assert "rm_rf" not in " ".join(body["reasons"])


def test_status_and_fields_are_the_same_for_everyone(broken: PlatformServer) -> None:
    code, anonymous = health(broken)
    keyed_code, keyed = health(broken, {"X-API-Key": API_KEY})
    assert code == keyed_code
    assert anonymous["status"] == keyed["status"] != "healthy"
    assert set(anonymous) == set(keyed)
    assert len(anonymous["reasons"]) <= len(keyed["reasons"])
