"""Read-only integrity check of a SQLite state file, as an operator would run it after an incident."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def integrity_check(path: Path) -> list[str]:
    """The rows of `PRAGMA integrity_check`: ['ok'] for an intact database."""
    # mode=ro: the check must not create, repair or checkpoint anything itself.
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
