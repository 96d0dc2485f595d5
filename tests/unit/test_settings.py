"""Settings.from_env: defaults, parsing, and one ConfigError listing every bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_platform.auth import hash_key
from langchain_platform.settings import ConfigError, Settings


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    agents = tmp_path / "agents.yaml"
    agents.write_text("agents: []\nchains: []\n")
    return {"DATA_DIR": str(tmp_path / "data"), "AGENTS_CONFIG": str(agents), "API_KEY": "k-one"}


def config_errors(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return caught.value.messages


def test_defaults(base_env: dict[str, str], tmp_path: Path) -> None:
    settings = Settings.from_env(base_env)
    assert settings.llm_model == "gpt-4o-mini"
    assert settings.llm_temperature == 0.7
    assert settings.llm_max_tokens == 1024
    assert settings.max_request_bytes == 1_048_576
    assert settings.data_dir == tmp_path / "data"
    assert settings.checkpointer_url == f"sqlite://{tmp_path / 'data' / 'state.sqlite'}"
    assert settings.checkpointer_backend == "sqlite"
    assert settings.api_key_enabled is True
    assert tuple(k.key for k in settings.api_keys) == ("k-one",)
    assert settings.auth_exempt_paths == (
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/schema",
        "/api/webhooks",
    )
    assert settings.http_tool_allowlist == ()
    assert settings.log_level == "INFO"
    assert settings.langsmith_tracing is False
    assert settings.langsmith_project == "langchain-platform"
    assert settings.shutdown_grace_seconds == 30.0
    assert settings.llm_provider is None
    assert settings.llm_configured is False


def test_values_are_parsed(base_env: dict[str, str]) -> None:
    env = base_env | {
        "OPENAI_API_KEY": "sk-abc",
        "OPENAI_BASE_URL": "http://127.0.0.1:9000/v1",
        "LLM_TEMPERATURE": "0",
        "LLM_MAX_RETRIES": "5",
        "RUN_TIMEOUT_SECONDS": "2.5",
        "HTTP_TOOL_ALLOWLIST": " Example.com, api.github.com ,",
        "API_KEYS": "k-two, k-three",
        "LOG_LEVEL": "debug",
        "CHECKPOINTER_URL": "postgresql://u:pw@db:5432/state",
        "WEBHOOK_CALLBACK_ALLOWLIST": "10.0.0.0/8",
        "API_KEY_ENABLED": "TRUE",
    }
    settings = Settings.from_env(env)
    assert settings.llm_provider == "openai"
    assert settings.llm_configured is True
    assert settings.openai_base_url == "http://127.0.0.1:9000/v1"
    assert settings.llm_temperature == 0.0
    assert settings.llm_max_retries == 5
    assert settings.run_timeout_seconds == 2.5
    assert settings.http_tool_allowlist == ("example.com", "api.github.com")
    assert tuple(k.key for k in settings.api_keys) == ("k-one", "k-two", "k-three")
    assert settings.log_level == "DEBUG"
    assert settings.checkpointer_backend == "postgresql"
    assert settings.webhook_callback_allowlist == ("10.0.0.0/8",)


def test_anthropic_is_the_provider_without_an_openai_key(base_env: dict[str, str]) -> None:
    assert Settings.from_env(base_env | {"ANTHROPIC_API_KEY": "a-key"}).llm_provider == "anthropic"


def test_secrets_stay_out_of_repr(base_env: dict[str, str]) -> None:
    env = base_env | {
        "OPENAI_API_KEY": "sk-very-secret",
        "ANTHROPIC_API_KEY": "anthropic-secret",
        "LANGSMITH_API_KEY": "ls-secret",
        "WEBHOOK_SECRET": "hook-secret",
        "CHECKPOINTER_URL": "postgresql://u:db-password@db/state",
    }
    text = repr(Settings.from_env(env))
    for secret in ("sk-very-secret", "anthropic-secret", "ls-secret", "hook-secret", "db-password", "k-one"):
        assert secret not in text


def test_auth_enabled_without_any_key_names_the_three_variables(base_env: dict[str, str]) -> None:
    env = {k: v for k, v in base_env.items() if k != "API_KEY"}
    (message,) = config_errors(env)
    for name in ("API_KEY", "API_KEYS", "API_KEYS_FILE", "API_KEY_ENABLED=false"):
        assert name in message


def test_auth_disabled_needs_no_key(base_env: dict[str, str]) -> None:
    env = {k: v for k, v in base_env.items() if k != "API_KEY"} | {"API_KEY_ENABLED": "false"}
    settings = Settings.from_env(env)
    assert settings.api_key_enabled is False
    assert settings.api_keys == ()


def test_a_keys_file_alone_is_enough(base_env: dict[str, str], tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"# rotated 2025-01\n{hash_key('file-key')}\n\n")
    env = {k: v for k, v in base_env.items() if k != "API_KEY"} | {"API_KEYS_FILE": str(keys)}
    assert Settings.from_env(env).api_keys_file == keys


def test_a_plain_key_in_the_keys_file_is_rejected_by_line(base_env: dict[str, str], tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"{hash_key('ok')}\nplain-text-key\n")
    (message,) = config_errors(base_env | {"API_KEYS_FILE": str(keys)})
    assert "API_KEYS_FILE" in message
    assert "line 2" in message
    assert "hash-key" in message
    assert "plain-text-key" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LLM_TEMPERATURE", "warm"),
        ("LLM_TEMPERATURE", "3"),
        ("LLM_MAX_TOKENS", "0"),
        ("LLM_MAX_TOKENS", "1.5"),
        ("LLM_TIMEOUT_SECONDS", "-1"),
        ("LLM_MAX_RETRIES", "many"),
        ("MAX_REQUEST_BYTES", "10"),
        ("MAX_HISTORY_MESSAGES", "0"),
        ("SHUTDOWN_GRACE_SECONDS", "nan"),
        ("WEBHOOK_CALLBACK_MAX_ATTEMPTS", "0"),
        ("API_KEY_ENABLED", "maybe"),
        ("LANGSMITH_TRACING", "sure"),
        ("OPENAI_BASE_URL", "localhost:8000"),
        ("LANGSMITH_ENDPOINT", "ftp://smith"),
        ("LOG_LEVEL", "LOUD"),
        ("CHECKPOINTER_URL", "redis://cache:6379"),
        ("CHECKPOINTER_URL", "sqlite://relative/state.sqlite"),
        ("CHECKPOINTER_URL", "postgresql:///nohost"),
        ("AUTH_EXEMPT_PATHS", "health"),
    ],
)
def test_a_bad_value_is_named_with_a_fix(base_env: dict[str, str], name: str, value: str) -> None:
    (message,) = config_errors(base_env | {name: value})
    assert message.startswith(name)
    assert ":" in message  # "<what is wrong>: <how to fix it>"


def test_unreadable_files_are_reported(base_env: dict[str, str], tmp_path: Path) -> None:
    env = base_env | {
        "AGENTS_CONFIG": str(tmp_path / "missing.yaml"),
        "API_KEYS_FILE": str(tmp_path / "nope"),
    }
    messages = config_errors(env)
    assert any(m.startswith("AGENTS_CONFIG") for m in messages)
    assert any(m.startswith("API_KEYS_FILE") for m in messages)


def test_data_dir_that_is_a_file_is_rejected(base_env: dict[str, str], tmp_path: Path) -> None:
    a_file = tmp_path / "plain-file"
    a_file.write_text("")
    (message,) = config_errors(base_env | {"DATA_DIR": str(a_file)})
    assert message.startswith("DATA_DIR")


def test_every_problem_is_reported_at_once(base_env: dict[str, str]) -> None:
    env = base_env | {"LLM_MAX_RETRIES": "-1", "CHECKPOINTER_URL": "mongo://x", "LOG_LEVEL": "chatty"}
    messages = config_errors(env)
    assert [m.split("=")[0].split(" ")[0] for m in messages] == [
        "LLM_MAX_RETRIES",
        "CHECKPOINTER_URL",
        "LOG_LEVEL",
    ]


def test_langsmith_tracing_needs_both_the_switch_and_a_key(base_env: dict[str, str]) -> None:
    assert Settings.from_env(base_env | {"LANGSMITH_TRACING": "true"}).langsmith_tracing is False
    assert Settings.from_env(base_env | {"LANGSMITH_API_KEY": "ls"}).langsmith_tracing is False
    on = Settings.from_env(base_env | {"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": "ls"})
    assert on.langsmith_tracing is True


def test_exempt_paths_can_be_replaced(base_env: dict[str, str]) -> None:
    settings = Settings.from_env(base_env | {"AUTH_EXEMPT_PATHS": "/health/, /metrics"})
    assert settings.auth_exempt_paths == ("/health", "/metrics")
