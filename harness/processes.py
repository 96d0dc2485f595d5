"""Child processes on free loopback ports: the stub LLM or any server a benchmark starts next to the service.

Each runs as its own process, as in production, so a load generator in the caller's process never
shares an interpreter lock with what it measures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from harness import REPO_ROOT
from harness.platform_server import cli_env
from harness.ports import free_port

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


class ChildProcess:
    """`args` on a free loopback port (`{port}` in an argument is replaced by it), run from the
    repository root; ready once `ready_path` answers 200; stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log: Path, ready_path: str) -> None:
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

    def __enter__(self) -> ChildProcess:
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


def stub_llm(latency_ms: int, log: Path) -> ChildProcess:
    """The stdlib stub OpenAI server as a separate process (its threads must not slow the load)."""
    args = [sys.executable, "-m", "harness.stub_openai", "--port", "{port}", "--latency-ms", str(latency_ms)]
    return ChildProcess(args, {}, log, "/health")
