"""platform_backup's SQLite script (roles/platform_backup/files/sqlite_state.py), run as the role runs it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "platform_backup" / "files" / "sqlite_state.py"


def run(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)
    return done.returncode, json.loads(done.stdout) if done.stdout else {}


def make_db(path: Path, rows: int) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    connection.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {n}",) for n in range(rows)])
    return connection


def test_backup_of_a_live_wal_database_is_whole_and_has_the_live_digest(tmp_path: Path) -> None:
    live = make_db(tmp_path / "state.sqlite", 50)  # kept open: the rows sit in the write-ahead log
    rc, live_digest = run("digest", str(tmp_path / "state.sqlite"))
    assert rc == 0
    rc, copied = run("backup", str(tmp_path / "state.sqlite"), str(tmp_path / "copy.sqlite"))
    assert rc == 0
    assert copied["integrity"] == "ok"
    assert copied["content_sha256"] == live_digest["content_sha256"]
    assert copied["size"] == (tmp_path / "copy.sqlite").stat().st_size
    assert sqlite3.connect(tmp_path / "copy.sqlite").execute("SELECT count(*) FROM t").fetchone() == (50,)
    live.close()


def test_digest_follows_the_content_only(tmp_path: Path) -> None:
    make_db(tmp_path / "a.sqlite", 3).close()
    _, first = run("digest", str(tmp_path / "a.sqlite"))
    _, again = run("digest", str(tmp_path / "a.sqlite"))
    assert first["content_sha256"] == again["content_sha256"]
    make_db(tmp_path / "a.sqlite", 1).close()
    _, changed = run("digest", str(tmp_path / "a.sqlite"))
    assert changed["content_sha256"] != first["content_sha256"]


def test_a_damaged_database_fails_the_backup(tmp_path: Path) -> None:
    make_db(tmp_path / "bad.sqlite", 2000).close()
    data = bytearray((tmp_path / "bad.sqlite").read_bytes())
    data[4096 * 2 : 4096 * 3] = b"\xff" * 4096  # a b-tree page overwritten
    (tmp_path / "bad.sqlite").write_bytes(bytes(data))
    rc, result = run("backup", str(tmp_path / "bad.sqlite"), str(tmp_path / "copy.sqlite"))
    assert rc != 0
    assert result.get("integrity", "") != "ok"


def test_wrong_arguments_print_the_usage() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "digest DB" in done.stderr
