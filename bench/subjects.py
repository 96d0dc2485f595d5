"""What the benchmarks measure, configured alike: the service and the bare reference app, with the
benchmark's agents file and client key, against a stub LLM and SQLite state."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from harness import REPO_ROOT
from harness.platform_server import PlatformServer
from harness.processes import ChildProcess

BENCH_AGENTS = REPO_ROOT / "bench" / "agents.yaml"
BENCH_AGENT = "bench"
BENCH_API_KEY = "bench-key-not-secret"


def service_env(llm_url: str, data_dir: Path) -> dict[str, str]:
    """The service's configuration for benchmarks: stub LLM, SQLite state in `data_dir`, auth on."""
    return {
        "OPENAI_API_KEY": "sk-bench-not-secret",
        "OPENAI_BASE_URL": f"{llm_url}/v1",
        "AGENTS_CONFIG": str(BENCH_AGENTS),
        "DATA_DIR": str(data_dir),
        "CHECKPOINTER_URL": f"sqlite:///{data_dir}/state.sqlite",
        "API_KEY": BENCH_API_KEY,
    }


def platform_server(env: Mapping[str, str], log: Path, workers: int) -> PlatformServer:
    return PlatformServer(env, log, workers=workers)


def reference_app(env: Mapping[str, str], log: Path) -> ChildProcess:
    """bench/reference_app.py under uvicorn with the options `langchain-platform serve` uses."""
    args = [
        sys.executable, "-m", "uvicorn", "bench.reference_app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
        "--no-access-log", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    return ChildProcess(args, {**env, "PYTHONPATH": str(REPO_ROOT)}, log, "/constant")
