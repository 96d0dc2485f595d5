"""Settings read once from the environment and validated in one pass.

Every problem is collected before failing, so an operator fixes a broken ``platform.env`` in one
round instead of one variable per restart. Each message names the variable and the fix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from langchain_platform.principals import (
    OPERATOR,
    ConfiguredKey,
    InvalidKeyEntry,
    parse_api_keys_entry,
    read_key_file,
)
from langchain_platform.state.url import (
    Backend,
    InvalidCheckpointerUrl,
    default_checkpointer_url,
    parse_checkpointer_url,
)
from langchain_platform.webhooks.signatures import webhook_secret_bytes

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
DEFAULT_DATA_DIR = Path("/data")
DEFAULT_AGENTS_CONFIG = Path(__file__).parent / "defaults" / "agents.yaml"
# Webhooks authenticate by their HMAC signature: senders usually cannot add an API key header.
DEFAULT_AUTH_EXEMPT_PATHS = (
    "/health",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/schema",
    "/api/webhooks",
)
# LangGraph's checkpoint durability modes (CHECKPOINT_DURABILITY; docs/architecture.md says what each
# risks on a crash).
Durability = Literal["sync", "async", "exit"]
DURABILITY_MODES: tuple[Durability, ...] = ("sync", "async", "exit")
MAX_WORKERS = 64
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

_T = TypeVar("_T", int, float)


class ConfigError(Exception):
    """Invalid configuration; ``messages`` holds one line per problem, each naming a variable and a fix."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Settings:
    """Every setting with its default: ``from_env`` falls back to these, so each is written once."""

    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    anthropic_api_key: str | None = field(default=None, repr=False)
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.7
    llm_max_tokens: int = 1024
    llm_timeout_seconds: float = 60.0
    llm_max_retries: int = 2
    tool_timeout_seconds: float = 10.0
    run_timeout_seconds: float = 120.0
    http_tool_allowlist: tuple[str, ...] = ()
    max_history_messages: int = 40
    max_request_bytes: int = 1_048_576
    data_dir: Path = DEFAULT_DATA_DIR
    checkpointer_url: str = field(default=default_checkpointer_url(DEFAULT_DATA_DIR), repr=False)
    agents_config: Path = DEFAULT_AGENTS_CONFIG
    # AGENTS_REQUIRED: None (unset) means required exactly when an LLM key is configured.
    agents_required: bool | None = None
    api_key_enabled: bool = True
    # API_KEY first (owner "default", scopes admin and agents), then each API_KEYS entry.
    api_keys: tuple[ConfiguredKey, ...] = field(default=(), repr=False)
    api_keys_file: Path | None = None
    auth_exempt_paths: tuple[str, ...] = DEFAULT_AUTH_EXEMPT_PATHS
    log_level: str = "INFO"
    langsmith_tracing: bool = False
    langsmith_api_key: str | None = field(default=None, repr=False)
    langsmith_endpoint: str | None = None
    langsmith_project: str = "langchain-platform"
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_tolerance_seconds: int = 300
    webhook_legacy_signature: bool = False
    webhook_callback_allowlist: tuple[str, ...] = ()
    webhook_callback_timeout_seconds: float = 10.0
    webhook_callback_max_attempts: int = 3
    shutdown_grace_seconds: float = 30.0
    http_max_header_line_bytes: int = 16_384
    http_max_header_bytes: int = 65_536
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 30.0
    # None: as many uvicorn workers as CPUs this process may use (worker_count.py), "auto" in WORKERS.
    workers: int | None = None
    checkpoint_durability: Durability = "async"
    # Agent Server background runs: a holder that stops renewing its lease this long is taken as dead;
    # its run is then retried from its last checkpoint, or marked error when retry is off.
    background_run_lease_seconds: float = 30.0
    background_run_retry_lost: bool = True
    # How often each process looks for runs that nothing woke it for (a safety net: a run created
    # anywhere wakes every process), and how many background runs one process executes at once
    # (0: none, a process that only answers the API).
    background_run_poll_seconds: float = 0.5
    background_runs_per_process: int = 16
    # Agent Server threads: a default time to live after a thread's last change (0: kept until deleted),
    # how often every process sweeps expired threads, and how long finished background runs are kept.
    thread_ttl_minutes: float = 0.0
    thread_sweep_seconds: float = 300.0
    background_run_retention_seconds: float = 604_800.0

    @property
    def llm_provider(self) -> Literal["openai", "anthropic"] | None:
        if self.openai_api_key:
            return "openai"
        if self.anthropic_api_key:
            return "anthropic"
        return None

    @property
    def llm_configured(self) -> bool:
        return self.llm_provider is not None

    @property
    def requires_agents(self) -> bool:
        """Whether a replica without loaded agents is not ready (AGENTS_REQUIRED, else "has an LLM key")."""
        return self.llm_configured if self.agents_required is None else self.agents_required

    @property
    def checkpointer_backend(self) -> Backend:
        """``memory``, ``sqlite`` or ``postgresql``: safe to show (the URL may hold a password)."""
        return parse_checkpointer_url(self.checkpointer_url).backend

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every variable; raise ``ConfigError`` listing all problems at once."""
        reader = _EnvReader(os.environ if environ is None else environ)
        settings = reader.build()
        if reader.errors:
            raise ConfigError(reader.errors)
        return settings


_DEFAULTS = Settings()


class _EnvReader:
    """Parses variables one by one, recording problems instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.errors: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def number(self, name: str, default: _T, convert: Callable[[str], _T], minimum: _T, maximum: _T) -> _T:
        text = self.raw(name)
        if text is None:
            return default
        try:
            value = convert(text)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            self.errors.append(f"{name}={text!r} is not {kind}: set it to e.g. {default}")
            return default
        if not minimum <= value <= maximum:
            self.errors.append(f"{name}={text} is out of range: set it between {minimum} and {maximum}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        text = self.raw(name)
        if text is None:
            return default
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        self.errors.append(f"{name}={text!r} is not a boolean: set it to true or false")
        return default

    def optional_boolean(self, name: str) -> bool | None:
        """None when unset, so the setting's own default can depend on other settings."""
        return None if self.raw(name) is None else self.boolean(name, False)

    def csv(self, name: str) -> tuple[str, ...]:
        text = self.raw(name)
        if text is None:
            return ()
        return tuple(item.strip() for item in text.split(",") if item.strip())

    def http_url(self, name: str) -> str | None:
        text = self.raw(name)
        if text is None:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.errors.append(f"{name}={text!r} is not an http(s) URL: set it like https://host[:port]/path")
            return None
        return text

    def readable_file(self, name: str, path: Path) -> None:
        if not path.is_file():
            self.errors.append(f"{name}: {path} does not exist or is not a file: point {name} to a file")
        elif not os.access(path, os.R_OK):
            self.errors.append(f"{name}: {path} is not readable by this user: fix its owner or mode")

    def data_dir(self) -> Path:
        path = Path(self.raw("DATA_DIR") or _DEFAULTS.data_dir).absolute()
        existing = path
        while not existing.exists():
            existing = existing.parent
        if existing == path and not path.is_dir():
            self.errors.append(f"DATA_DIR={path} is not a directory: point DATA_DIR to a writable directory")
        elif not os.access(existing, os.W_OK):
            self.errors.append(
                f"DATA_DIR={path}: {existing} is not writable: fix its owner or choose another"
            )
        return path

    def checkpointer_url(self, data_dir: Path) -> str:
        text = self.raw("CHECKPOINTER_URL")
        if text is None:
            return default_checkpointer_url(data_dir)
        try:
            parse_checkpointer_url(text)
        except InvalidCheckpointerUrl as exc:
            self.errors.append(str(exc))
        return text

    def log_level(self) -> str:
        text = (self.raw("LOG_LEVEL") or _DEFAULTS.log_level).upper()
        if text == "WARN":
            text = "WARNING"
        if text not in LOG_LEVELS:
            self.errors.append(f"LOG_LEVEL={text!r} is not a level: set one of {', '.join(LOG_LEVELS)}")
            return _DEFAULTS.log_level
        return text

    def workers(self) -> int | None:
        text = self.raw("WORKERS")
        if text is None or text.lower() == "auto":
            return None
        return self.number("WORKERS", 1, int, 1, MAX_WORKERS)

    def durability(self) -> Durability:
        text = (self.raw("CHECKPOINT_DURABILITY") or _DEFAULTS.checkpoint_durability).lower()
        for mode in DURABILITY_MODES:
            if text == mode:
                return mode
        self.errors.append(
            f"CHECKPOINT_DURABILITY={text!r} is not a mode: set one of {', '.join(DURABILITY_MODES)}"
        )
        return _DEFAULTS.checkpoint_durability

    def exempt_paths(self) -> tuple[str, ...]:
        if self.raw("AUTH_EXEMPT_PATHS") is None:
            return DEFAULT_AUTH_EXEMPT_PATHS
        paths = self.csv("AUTH_EXEMPT_PATHS")
        for path in paths:
            if not path.startswith("/"):
                self.errors.append(f"AUTH_EXEMPT_PATHS entry {path!r} must start with '/': e.g. /health")
        return tuple(p.rstrip("/") or "/" for p in paths)

    def api_keys(self) -> tuple[ConfiguredKey, ...]:
        keys: list[ConfiguredKey] = []
        operator_key = self.raw("API_KEY")
        if operator_key is not None:
            keys.append(ConfiguredKey(operator_key, OPERATOR))
        for number, entry in enumerate(self.csv("API_KEYS"), start=1):
            try:
                keys.append(parse_api_keys_entry(entry))
            except InvalidKeyEntry as exc:
                self.errors.append(
                    f"API_KEYS entry {number}: {exc}; write name:scope+scope:key or a bare key without ':'"
                )
        return tuple(keys)

    def auth(self) -> tuple[bool, tuple[ConfiguredKey, ...], Path | None]:
        enabled = self.boolean("API_KEY_ENABLED", _DEFAULTS.api_key_enabled)
        keys = self.api_keys()
        keys_file_text = self.raw("API_KEYS_FILE")
        keys_file = Path(keys_file_text) if keys_file_text else None
        if keys_file is not None:
            self.readable_file("API_KEYS_FILE", keys_file)
            if keys_file.is_file() and os.access(keys_file, os.R_OK):
                self.errors.extend(read_key_file(keys_file)[1])
        if enabled and not keys and keys_file is None:
            self.errors.append(
                "API_KEY_ENABLED=true but no key is configured: set API_KEY, API_KEYS (comma separated) "
                "or API_KEYS_FILE (SHA-256 digests from `langchain-platform hash-key`), "
                "or set API_KEY_ENABLED=false to turn auth off"
            )
        return enabled, keys, keys_file

    def webhook_secret(self) -> str | None:
        text = self.raw("WEBHOOK_SECRET")
        if text is not None:
            try:
                webhook_secret_bytes(text)
            except ValueError:
                self.errors.append(
                    "WEBHOOK_SECRET starts with whsec_ but the rest is not base64: "
                    "paste the whole secret the sender shows, or use a plain string"
                )
        return text

    def http_limits(self) -> tuple[int, int, float, float]:
        d = _DEFAULTS
        line = self.number("HTTP_MAX_HEADER_LINE_BYTES", d.http_max_header_line_bytes, int, 1024, 1_048_576)
        total = self.number("HTTP_MAX_HEADER_BYTES", d.http_max_header_bytes, int, 4096, 16_777_216)
        if total < line:
            self.errors.append(
                f"HTTP_MAX_HEADER_BYTES={total} is below HTTP_MAX_HEADER_LINE_BYTES={line}: "
                "the whole head cannot be smaller than one of its lines; raise it or lower the line limit"
            )
        head_timeout = self.number(
            "HTTP_HEADER_TIMEOUT_SECONDS", d.http_header_timeout_seconds, float, 0.1, 3600.0
        )
        body_timeout = self.number(
            "HTTP_BODY_TIMEOUT_SECONDS", d.http_body_timeout_seconds, float, 0.1, 86400.0
        )
        return line, total, head_timeout, body_timeout

    def build(self) -> Settings:
        data_dir = self.data_dir()
        agents_config = Path(self.raw("AGENTS_CONFIG") or DEFAULT_AGENTS_CONFIG)
        self.readable_file("AGENTS_CONFIG", agents_config)
        api_key_enabled, api_keys, api_keys_file = self.auth()
        langsmith_api_key = self.raw("LANGSMITH_API_KEY")
        langsmith_wanted = self.boolean("LANGSMITH_TRACING", _DEFAULTS.langsmith_tracing)
        if langsmith_wanted and not langsmith_api_key:
            logging.getLogger(__name__).warning(
                "LANGSMITH_TRACING=true without LANGSMITH_API_KEY: tracing stays off; set LANGSMITH_API_KEY"
            )
        d = _DEFAULTS
        header_line, header_total, header_timeout, body_timeout = self.http_limits()
        return Settings(
            openai_api_key=self.raw("OPENAI_API_KEY"),
            openai_base_url=self.http_url("OPENAI_BASE_URL"),
            anthropic_api_key=self.raw("ANTHROPIC_API_KEY"),
            llm_model=self.raw("LLM_MODEL") or d.llm_model,
            llm_temperature=self.number("LLM_TEMPERATURE", d.llm_temperature, float, 0.0, 2.0),
            llm_max_tokens=self.number("LLM_MAX_TOKENS", d.llm_max_tokens, int, 1, 1_000_000),
            llm_timeout_seconds=self.number("LLM_TIMEOUT_SECONDS", d.llm_timeout_seconds, float, 0.1, 3600.0),
            llm_max_retries=self.number("LLM_MAX_RETRIES", d.llm_max_retries, int, 0, 20),
            tool_timeout_seconds=self.number(
                "TOOL_TIMEOUT_SECONDS", d.tool_timeout_seconds, float, 0.1, 3600.0
            ),
            run_timeout_seconds=self.number(
                "RUN_TIMEOUT_SECONDS", d.run_timeout_seconds, float, 0.1, 86400.0
            ),
            http_tool_allowlist=tuple(h.lower() for h in self.csv("HTTP_TOOL_ALLOWLIST")),
            max_history_messages=self.number("MAX_HISTORY_MESSAGES", d.max_history_messages, int, 1, 100_000),
            max_request_bytes=self.number("MAX_REQUEST_BYTES", d.max_request_bytes, int, 1024, 1_073_741_824),
            data_dir=data_dir,
            checkpointer_url=self.checkpointer_url(data_dir),
            agents_config=agents_config,
            agents_required=self.optional_boolean("AGENTS_REQUIRED"),
            api_key_enabled=api_key_enabled,
            api_keys=api_keys,
            api_keys_file=api_keys_file,
            auth_exempt_paths=self.exempt_paths(),
            log_level=self.log_level(),
            langsmith_tracing=langsmith_wanted and langsmith_api_key is not None,
            langsmith_api_key=langsmith_api_key,
            langsmith_endpoint=self.http_url("LANGSMITH_ENDPOINT"),
            langsmith_project=self.raw("LANGSMITH_PROJECT") or d.langsmith_project,
            webhook_secret=self.webhook_secret(),
            webhook_tolerance_seconds=self.number(
                "WEBHOOK_TOLERANCE_SECONDS", d.webhook_tolerance_seconds, int, 1, 86_400
            ),
            webhook_legacy_signature=self.boolean("WEBHOOK_LEGACY_SIGNATURE", d.webhook_legacy_signature),
            webhook_callback_allowlist=tuple(h.lower() for h in self.csv("WEBHOOK_CALLBACK_ALLOWLIST")),
            webhook_callback_timeout_seconds=self.number(
                "WEBHOOK_CALLBACK_TIMEOUT_SECONDS", d.webhook_callback_timeout_seconds, float, 0.1, 3600.0
            ),
            webhook_callback_max_attempts=self.number(
                "WEBHOOK_CALLBACK_MAX_ATTEMPTS", d.webhook_callback_max_attempts, int, 1, 100
            ),
            shutdown_grace_seconds=self.number(
                "SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds, float, 0.0, 3600.0
            ),
            http_max_header_line_bytes=header_line,
            http_max_header_bytes=header_total,
            http_header_timeout_seconds=header_timeout,
            http_body_timeout_seconds=body_timeout,
            workers=self.workers(),
            checkpoint_durability=self.durability(),
            background_run_lease_seconds=self.number(
                "BACKGROUND_RUN_LEASE_SECONDS", d.background_run_lease_seconds, float, 1.0, 3600.0
            ),
            background_run_retry_lost=self.boolean("BACKGROUND_RUN_RETRY_LOST", d.background_run_retry_lost),
            background_run_poll_seconds=self.number(
                "BACKGROUND_RUN_POLL_SECONDS", d.background_run_poll_seconds, float, 0.05, 3600.0
            ),
            background_runs_per_process=self.number(
                "BACKGROUND_RUNS_PER_PROCESS", d.background_runs_per_process, int, 0, 1024
            ),
            thread_ttl_minutes=self.number(
                "THREAD_TTL_MINUTES", d.thread_ttl_minutes, float, 0.0, 5_256_000.0
            ),
            thread_sweep_seconds=self.number(
                "THREAD_SWEEP_SECONDS", d.thread_sweep_seconds, float, 0.1, 86_400.0
            ),
            background_run_retention_seconds=self.number(
                "BACKGROUND_RUN_RETENTION_SECONDS",
                d.background_run_retention_seconds,
                float,
                1.0,
                315_360_000.0,
            ),
        )
