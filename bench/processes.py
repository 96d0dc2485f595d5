"""The processes a benchmark starts: the loopback LLM stub, the service, the bare reference app.

Each runs as its own process, as in production, so the load generator (in the benchmark process)
never shares an interpreter lock with what it measures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.platform_server import PlatformServer, cli_env
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_AGENTS = REPO_ROOT / "bench" / "agents.yaml"
BENCH_AGENT = "bench"
BENCH_API_KEY = "bench-key-not-secret"
START_TIMEOUT_SECONDS = 45.0


def wait_for(
    url: str, timeout: float = START_TIMEOUT_SECONDS, proc: subprocess.Popen[bytes] | None = None
) -> float:
    """Poll `url` until it answers 200; return the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


class _Child:
    """A child process on a free loopback port, stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path, ready_path: str) -> None:
        self.port = free_port()
        self._args = [a.replace("{port}", str(self.port)) for a in args]
        self._env = cli_env(env)
        self._log = log
        self._ready_path = ready_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> _Child:
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen(
                self._args, env=self._env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        try:
            wait_for(self.url + self._ready_path, proc=self.proc)
        except (RuntimeError, TimeoutError) as exc:
            self.__exit__(None, None, None)
            tail = "\n".join(self._log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{exc}; log {self._log}:\n{tail}") from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def stub_llm(latency_ms: int, log: Path) -> _Child:
    """The stdlib stub OpenAI server as a separate process (its threads must not slow the load)."""
    # As a module: run as a script, tests/support/http.py would shadow the standard library's http.
    args = [
        sys.executable,
        "-m",
        "tests.support.stub_openai",
        "--port",
        "{port}",
        "--latency-ms",
        str(latency_ms),
    ]
    return _Child(args, {}, log, "/health")


def reference_app(env: Mapping[str, str], log: Path) -> _Child:
    """bench/reference_app.py under uvicorn with the options `langchain-platform serve` uses."""
    args = [
        sys.executable, "-m", "uvicorn", "bench.reference_app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
        "--no-access-log", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    return _Child(args, {**env, "PYTHONPATH": str(REPO_ROOT)}, log, "/constant")


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
