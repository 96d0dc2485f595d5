"""A throw-away PostgreSQL server from Debian's packaged binaries, on a free loopback port.

Runs as the `postgres` OS user when the tests run as root (PostgreSQL refuses to run as root), in a
temporary directory that holds both the cluster and its Unix socket.
"""

from __future__ import annotations

import getpass
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from harness.ports import free_port

DATABASE = "platform"
USER = "platform"
PASSWORD = "platform-test-pw"


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin that has initdb, or None."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]), reverse=True
    )
    return Path(candidates[0]).parent if candidates else None


class LocalPostgres:
    """`with LocalPostgres() as pg:` gives `pg.url` (postgresql://platform:...@127.0.0.1:PORT/platform)."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or postgres_bin_dir()
        if found is None:
            raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.bin_dir = found
        self.port = free_port()
        self._tmp = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data_dir = self._tmp / "data"
        self.log_file = self._tmp / "postgres.log"
        self._os_user = "postgres" if os.geteuid() == 0 else getpass.getuser()

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        user = self._os_user if os.geteuid() == 0 else None
        return subprocess.run(
            args, check=True, capture_output=True, text=True, user=user, cwd=self._tmp, timeout=60, **kwargs
        )

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self._tmp, user=self._os_user)
        pwfile = self._tmp / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, user=self._os_user)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "--username=postgres",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self._tmp}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip
        self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        self.psql(f"CREATE DATABASE {DATABASE} OWNER {USER}")

    def new_database(self, name: str) -> str:
        """Create an empty database `name` (letters, digits, _) owned by the test role; its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: letters, digits and _ only")
        self.psql(f"CREATE DATABASE {name} OWNER {USER}")
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket; returns unaligned, tuples-only output."""
        result = self._run(
            str(self.bin_dir / "psql"), "-h", str(self._tmp), "-p", str(self.port), "-U", "postgres",
            "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        )  # fmt: skip
        return result.stdout.strip()

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
