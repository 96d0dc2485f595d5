"""The service as a real subprocess: `langchain-platform serve` on a free loopback port.

The environment is built from scratch (PATH, HOME, locale plus what the test passes), so nothing from
the developer's shell (an OPENAI_API_KEY, a LANGSMITH_TRACING) leaks into a test. stdout and stderr
go to one log file the tests can read and parse.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from harness.ports import free_port

CLI = Path(sys.executable).with_name("langchain-platform")
STARTUP_TIMEOUT_SECONDS = 60.0


def cli_env(env: Mapping[str, str]) -> dict[str, str]:
    """A minimal process environment plus `env` (values converted to str)."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    return {**base, **{k: str(v) for k, v in env.items()}}


class ServerError(RuntimeError):
    """The server did not come up; the message carries the end of its log."""


class PlatformServer:
    """Start, signal, restart and stop one service process.

    `env` is the full service configuration; `log_path` collects stdout+stderr across restarts (each
    start appends), so assertions about logs see everything the process printed.
    """

    def __init__(
        self, env: Mapping[str, str], log_path: Path, workers: int = 1, port: int | None = None
    ) -> None:
        self.env = dict(env)
        self.workers = workers
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, wait: bool = True) -> None:
        args = [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        # Always explicit: without it `serve` starts one worker per CPU this machine gives it.
        args += ["--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            log.write(f"--- start {' '.join(args)}\n".encode())
            log.flush()
            self._log_offset = log.tell()
            # Own process group: a stray Ctrl-C of the test run does not hit the server first.
            self.proc = subprocess.Popen(
                args,
                env=cli_env(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_live()

    def wait_live(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Until /health/live answers and, with several workers, every worker has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(
                    f"server exited with {self.proc.returncode} during startup:\n{self.log_tail()}"
                )
            if self._workers_started() >= self.workers:
                try:
                    if httpx.get(f"{self.url}/health/live", timeout=1.0).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise ServerError(f"server not live after {timeout}s:\n{self.log_tail()}")

    def _workers_started(self) -> int:
        # The live probe reaches whichever worker accepts first; the log tells when all are up.
        if self.workers == 1:
            return 1
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().count(b"Application startup complete")

    def send_signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None, "server not started"
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait, and return the exit code (None if it was not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        code = self.proc.returncode
        self.proc = None
        return code

    def restart(self) -> int | None:
        code = self.stop()
        self.start()
        return code

    def __enter__(self) -> PlatformServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients and logs -------------------------------------------------------------------------

    def client(
        self, api_key: str | None = None, timeout: float = 30.0, headers: Mapping[str, str] | None = None
    ) -> httpx.Client:
        """An httpx client for this server; `api_key` goes in X-API-Key."""
        all_headers = {**(headers or {}), **({"X-API-Key": api_key} if api_key else {})}
        return httpx.Client(base_url=self.url, headers=all_headers, timeout=timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_records(self) -> list[dict[str, Any]]:
        """Every log line that is a JSON object, parsed."""
        records = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    records.append(value)
        return records

    def wait_for_log(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first JSON log record matching `predicate`, waiting up to `timeout` for it to be written."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.log_records():
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no matching log record within {timeout}s; log tail:\n{self.log_tail()}"
                )
            time.sleep(0.1)
