"""Runtime flags shared by every worker process: maintenance mode and the log level.

They live in ``<data_dir>/runtime-flags.json`` because uvicorn workers share no memory: an admin call
lands on one worker, the file carries it to the others. Writes are atomic (temp file + rename, under
an flock so two workers do not lose each other's update); reads are cached and re-checked against the
file's mtime at most every ``recheck_seconds``, so the request path does not hit the disk each time.
Maintenance survives a restart on purpose (an operator turned it on); the log level is reset by
``langchain-platform serve`` at start so ``LOG_LEVEL`` applies again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

FLAGS_FILE_NAME = "runtime-flags.json"


class RuntimeFlags(msgspec.Struct, frozen=True, kw_only=True):
    maintenance: bool = False
    retry_after_seconds: int = 60
    log_level: str | None = None


class FlagsStore:
    def __init__(self, data_dir: Path, recheck_seconds: float = 0.5) -> None:
        self.path = data_dir / FLAGS_FILE_NAME
        self._lock_path = data_dir / f".{FLAGS_FILE_NAME}.lock"
        self._recheck_seconds = recheck_seconds
        self._cached = RuntimeFlags()
        self._cached_stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")

    def current(self) -> RuntimeFlags:
        """The flags as of at most ``recheck_seconds`` ago."""
        now = time.monotonic()
        if now - self._checked_at >= self._recheck_seconds:
            self._checked_at = now
            self._reload_if_changed()
        return self._cached

    def update(self, **changes: object) -> RuntimeFlags:
        """Read-modify-write under an exclusive lock; returns the new flags."""
        with self._locked():
            flags = msgspec.structs.replace(self._read_file(), **changes)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{FLAGS_FILE_NAME}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(msgspec.json.encode(flags))
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        self._cached = flags
        self._cached_stamp = self._stamp()
        self._checked_at = time.monotonic()
        return flags

    def _reload_if_changed(self) -> None:
        stamp = self._stamp()
        if stamp is None:
            self._cached, self._cached_stamp = RuntimeFlags(), None
        elif stamp != self._cached_stamp:
            self._cached, self._cached_stamp = self._read_file(), stamp

    def _stamp(self) -> tuple[int, int] | None:
        # The inode changes on every atomic replace, so it catches two writes within one mtime tick.
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _read_file(self) -> RuntimeFlags:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=RuntimeFlags)
        except FileNotFoundError:
            return RuntimeFlags()
        except (msgspec.DecodeError, msgspec.ValidationError):
            # A hand-edited or truncated file must not take the service down: fall back to defaults.
            return RuntimeFlags()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
