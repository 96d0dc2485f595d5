"""``langchain-platform``: serve, check-config, hash-key.

Exit codes: 0 success, 1 invalid configuration (every problem printed to stderr, one a line),
2 bad command-line usage (argparse).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import sys
import tempfile
from types import FrameType

from langchain_platform import __version__
from langchain_platform.flags import FlagsStore
from langchain_platform.principals import (
    DEFAULT_SCOPES,
    InvalidKeyEntry,
    Principal,
    check_owner,
    default_owner,
    format_key_file_line,
    hash_key,
    parse_scopes,
)
from langchain_platform.settings import ConfigError, Settings

EXIT_CONFIG_ERROR = 1
# By import path, so each worker loads them and a supervisor of several workers never does: the
# app's stack (Litestar, LangChain, the OpenAI client) costs it a second of CPU before any worker
# starts. The app factory is app.create_app, imported with the garbage collector paused (serve_app.py);
# the protocol adds header size limits and slow-sender timeouts (http_limits.py).
APP_FACTORY = "langchain_platform.serve_app:create_app"
HTTP_PROTOCOL = "langchain_platform.http_limits:LimitedHttpToolsProtocol"
# uvicorn's own grace, which starts only after our SIGTERM drain (shutdown.py) has already given
# agent runs SHUTDOWN_GRACE_SECONDS: it lets responses of finished runs flush, then cancels.
RESPONSE_FLUSH_SECONDS = 5


def _print_config_errors(error: ConfigError) -> None:
    print("configuration error:", file=sys.stderr)
    for message in error.messages:
        print(f"  - {message}", file=sys.stderr)


def _load_settings() -> Settings | None:
    try:
        return Settings.from_env()
    except ConfigError as error:
        _print_config_errors(error)
        return None


def _exit_zero_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # uvicorn re-raises SIGTERM after its graceful shutdown; a requested stop is a success.
    raise SystemExit(0)


def _worker_count(requested: int | None, settings: Settings) -> int:
    """``--workers``, else ``WORKERS``, else (unset or ``auto``) the CPUs this process may use."""
    if requested is not None:
        return requested
    if settings.workers is not None:
        return settings.workers
    from langchain_platform.worker_count import usable_cpus

    return usable_cpus()


def _serve(args: argparse.Namespace) -> int:
    settings = _load_settings()
    if settings is None:
        return EXIT_CONFIG_ERROR
    workers = _worker_count(args.workers, settings)
    if workers == 1:
        # This process imports the app itself, the protocol's Litestar first: pause the collector
        # from here rather than from serve_app on. The app's lifespan turns it back on. (A supervisor
        # of several workers lives on with the collector on: it imports no app.)
        gc.disable()
    import uvicorn

    from langchain_platform.observability.metrics_dir import MULTIPROC_ENV
    from langchain_platform.state.run_guard import BOOT_ID_ENV, new_boot_id

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # A fresh start honours LOG_LEVEL again; maintenance mode deliberately survives restarts.
    FlagsStore(settings.data_dir).update(log_level=None)
    # One boot id per start, inherited by every worker: thread leases held under another boot id
    # of this host belong to processes that died, and the workers free them when they start.
    os.environ[BOOT_ID_ENV] = new_boot_id()
    metrics_dir: str | None = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="langchain-platform-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    signal.signal(signal.SIGTERM, _exit_zero_on_sigterm)
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            http=HTTP_PROTOCOL,
            host=args.host,
            port=args.port,
            workers=workers,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            server_header=False,
            timeout_graceful_shutdown=RESPONSE_FLUSH_SECONDS,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _check_config(_: argparse.Namespace) -> int:
    settings = _load_settings()
    if settings is None:
        return EXIT_CONFIG_ERROR
    from langchain_platform.agents.registry import RegistryError, load_registry

    try:
        registry = load_registry(settings.agents_config)
    except RegistryError as error:
        _print_config_errors(ConfigError(error.messages))
        return EXIT_CONFIG_ERROR
    print(f"configuration OK (langchain-platform {__version__})")
    print(f"  agents file: {settings.agents_config}")
    print(f"  agents: {', '.join(registry.agents) or 'none'}")
    print(f"  chains: {', '.join(registry.chains) or 'none'}")
    print(f"  LLM provider: {settings.llm_provider or 'none (set OPENAI_API_KEY or ANTHROPIC_API_KEY)'}")
    print(f"  checkpointer: {settings.checkpointer_backend}")
    print(f"  checkpoint durability: {settings.checkpoint_durability}")
    print(f"  data dir: {settings.data_dir}")
    print(f"  workers: {settings.workers or 'auto'}")
    auth = (
        "off"
        if not settings.api_key_enabled
        else (
            f"on ({len(settings.api_keys)} key(s) from API_KEY/API_KEYS"
            + (f", digests from {settings.api_keys_file}" if settings.api_keys_file else "")
            + ")"
        )
    )
    print(f"  auth: {auth}")
    print(f"  LangSmith tracing: {'on' if settings.langsmith_tracing else 'off'}")
    return 0


def _hash_key(args: argparse.Namespace) -> int:
    key = args.key if args.key is not None else sys.stdin.readline().rstrip("\r\n")
    if not key:
        print("hash-key: no key given (pass it as an argument or on stdin)", file=sys.stderr)
        return 2
    digest = hash_key(key)
    if args.owner is None and args.scopes is None:
        print(digest)
        return 0
    try:
        owner = check_owner(args.owner) if args.owner is not None else default_owner(digest)
        scopes = parse_scopes(args.scopes, ",") if args.scopes is not None else DEFAULT_SCOPES
    except InvalidKeyEntry as exc:
        print(f"hash-key: {exc}", file=sys.stderr)
        return 2
    print(format_key_file_line(digest, Principal(owner, scopes)))
    return 0


def _workers_argument(text: str) -> int | None:
    if text.lower() == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number nor auto") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="langchain-platform", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_workers_argument,
        default=None,
        help="uvicorn worker processes, or auto: the CPUs this process may use (default: WORKERS, else auto)",
    )
    serve.set_defaults(run=_serve)
    check = commands.add_parser("check-config", help="validate the environment and the agents file")
    check.set_defaults(run=_check_config)
    hasher = commands.add_parser("hash-key", help="print the SHA-256 hex digest of a key for API_KEYS_FILE")
    hasher.add_argument("key", nargs="?", help="the key; read from stdin when omitted (keeps it out of ps)")
    hasher.add_argument("--owner", help="print a whole keys-file line with this owner name")
    hasher.add_argument("--scopes", help="print a whole keys-file line with these scopes (admin,agents)")
    hasher.set_defaults(run=_hash_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        print("serve: --workers must be at least 1", file=sys.stderr)
        return 2
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
