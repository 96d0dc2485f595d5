"""The command line: check-config verdicts and messages, hash-key output, serve refusing bad config."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from harness.platform_server import CLI, cli_env
from tests.conftest import AGENTS_FILE, API_KEY, OPENAI_KEY


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], env=cli_env(env), input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def good_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path),
        "OPENAI_API_KEY": OPENAI_KEY,
        "API_KEY": API_KEY,
        "AGENTS_CONFIG": str(AGENTS_FILE),
    }


def test_check_config_accepts_a_good_environment(good_env: dict[str, str]) -> None:
    result = run_cli("check-config", env=good_env)
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    # It read the test agents file, not the bundled one.
    assert "assistant" in result.stdout
    assert "plain" in result.stdout
    assert API_KEY not in result.stdout + result.stderr
    assert OPENAI_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"API_KEY_ENABLED": "true", "API_KEY": ""}, "API_KEY"),
        ({"CHECKPOINTER_URL": "mysql://db/state"}, "CHECKPOINTER_URL"),
        ({"LLM_TIMEOUT_SECONDS": "soon"}, "LLM_TIMEOUT_SECONDS"),
        ({"MAX_HISTORY_MESSAGES": "-3"}, "MAX_HISTORY_MESSAGES"),
        ({"API_KEY_ENABLED": "maybe"}, "API_KEY_ENABLED"),
    ],
)
def test_check_config_rejects_a_bad_variable_and_names_it(
    good_env: dict[str, str], change: dict[str, str], named: str
) -> None:
    result = run_cli("check-config", env={**good_env, **change})
    assert result.returncode == 1, f"stdout={result.stdout!r} stderr={result.stderr!r}"
    assert named in result.stderr, result.stderr
    assert "configuration OK" not in result.stdout


def test_check_config_reports_every_problem_at_once(good_env: dict[str, str]) -> None:
    bad = {**good_env, "CHECKPOINTER_URL": "mysql://db/state", "LLM_MAX_RETRIES": "many"}
    result = run_cli("check-config", env=bad)
    assert result.returncode == 1
    assert "CHECKPOINTER_URL" in result.stderr
    assert "LLM_MAX_RETRIES" in result.stderr


def test_check_config_rejects_a_broken_agents_file(good_env: dict[str, str], tmp_path: Path) -> None:
    agents = tmp_path / "agents.yaml"
    agents.write_text("agents:\n  - name: broken\n    description: no prompt\n    tools: [rm_rf]\n")
    result = run_cli("check-config", env={**good_env, "AGENTS_CONFIG": str(agents)})
    assert result.returncode == 1
    assert "rm_rf" in result.stderr
    assert "system_prompt" in result.stderr


def test_serve_refuses_to_start_with_bad_config(good_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", "1"],
        env=cli_env({**good_env, "CHECKPOINTER_URL": "mysql://db/state"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "CHECKPOINTER_URL" in result.stderr


@pytest.mark.parametrize("key", ["s3cret-key", "ключ-with-ünïcode", "a" * 200])
def test_hash_key_prints_the_sha256_hex_digest(key: str) -> None:
    expected = hashlib.sha256(key.encode("utf-8")).hexdigest()
    as_argument = run_cli("hash-key", key, env={})
    assert as_argument.returncode == 0, as_argument.stderr
    assert as_argument.stdout.strip() == expected
    from_stdin = run_cli("hash-key", env={}, stdin=key + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout.strip() == expected


def test_version_flag(good_env: dict[str, str]) -> None:
    plain = run_cli("--version", env=good_env)
    assert plain.returncode == 0
    assert "0.1.0" in plain.stdout
    overridden = run_cli("--version", env={**good_env, "LANGCHAIN_PLATFORM_VERSION": "9.9.9-test"})
    assert "9.9.9-test" in overridden.stdout


def test_bad_command_line_exits_2() -> None:
    assert run_cli("serve", "--workers", "many", env={}).returncode == 2
    assert run_cli("no-such-command", env={}).returncode == 2


def test_hash_key_prints_a_whole_keys_file_line_with_owner_and_scopes() -> None:
    digest = hashlib.sha256(b"ops-key").hexdigest()
    full = run_cli("hash-key", "--owner", "ops", "--scopes", "admin,agents", env={}, stdin="ops-key\n")
    assert full.returncode == 0, full.stderr
    assert full.stdout.strip() == f"{digest} owner=ops scopes=admin,agents"
    owner_only = run_cli("hash-key", "--owner", "team-a", "ops-key", env={})
    assert owner_only.stdout.strip() == f"{digest} owner=team-a scopes=agents"
    bad = run_cli("hash-key", "--scopes", "root", "ops-key", env={})
    assert bad.returncode == 2
    assert "scopes" in bad.stderr
    assert "ops-key" not in bad.stderr
