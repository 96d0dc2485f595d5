"""The state path's filesystem full: writes fail with a clear error, reads go on, nothing corrupts.

DATA_DIR is a small tmpfs mounted for the test (needs root, like the rest of the lab), filled up with
a plain file once the service has written a first turn.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.http_checks import token, wait_until
from tests.conftest import API_KEY, Launcher
from tests.resilience.sqlite_check import integrity_check

INVOKE = "/api/enterprise/agents/assistant/invoke"
FS_SIZE = "16m"

pytestmark = pytest.mark.slow


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        # Lazy: a server still running (test failed early) must not leave the mount behind.
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path: Path) -> int:
    """Write `path` until the filesystem refuses; return the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as filler:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    filler.write(block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
                written += chunk
    return written


def test_full_state_disk_fails_writes_clearly_and_keeps_reads(launch: Launcher, small_fs: Path) -> None:
    server = launch(data_dir=small_fs)
    thread_id = token("full")
    first = f"before the disk filled {token()}"
    with server.client(API_KEY) as client:
        assert client.post(INVOKE, json={"input": first, "thread_id": thread_id}).status_code == 200

        filler = small_fs / "filler"
        assert fill(filler) > 0
        # Bigger than the WAL space SQLite may already hold, so the write needs new blocks.
        big = "x" * 600_000
        failed = client.post(INVOKE, json={"input": big, "thread_id": token("full-new")})
        assert failed.status_code >= 500, f"a write on a full disk succeeded: {failed.status_code}"
        assert failed.headers["content-type"].startswith("application/problem+json"), failed.text
        detail = failed.json()["detail"]
        assert "full" in detail.lower(), f"the error does not say the disk is full: {detail!r}"

        # Reads and probes still answer while the disk stays full.
        assert client.get("/health/live").status_code == 200
        assert client.get("/api/enterprise/agents").status_code == 200
        history = client.get(f"/api/enterprise/agents/assistant/threads/{thread_id}")
        assert history.status_code == 200, history.text
        assert first in [m["content"] for m in history.json()["messages"]]

        # Space back: the service recovers without a restart.
        filler.unlink()
        wait_until(
            lambda: (
                client.post(INVOKE, json={"input": "space is back", "thread_id": thread_id}).status_code
                == 200
            ),
            timeout=15,
            interval=0.5,
            what="a run to succeed once space is back",
        )
    server.stop()
    assert integrity_check(small_fs / "state.sqlite") == ["ok"]
