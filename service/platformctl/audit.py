"""The audit log: one JSON line per platformctl action, appended to `audit.jsonl` in the state directory.

A line holds names, never -e values (the window override's reason is the one value recorded, by design).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.jsonl"


def append(state_dir: Path, entry: dict[str, Any]) -> None:
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    # One write with O_APPEND: lines from concurrent runs on this controller never interleave.
    fd = os.open(state_dir / AUDIT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def entries(state_dir: Path) -> Iterator[dict[str, Any]]:
    path = state_dir / AUDIT_FILE
    if not path.is_file():
        return
    with path.open() as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def last(state_dir: Path, count: int) -> list[dict[str, Any]]:
    return list(entries(state_dir))[-count:] if count > 0 else []


_COLUMNS = ("when", "who", "action", "playbook", "result", "rc", "seconds", "changed", "failed")


def table(lines: list[dict[str, Any]]) -> str:
    rows = [
        (
            str(e.get("when", "")),
            str(e.get("who", "")),
            str(e.get("action", "")),
            Path(str(e.get("playbook") or "-")).name,
            str(e.get("result", "")),
            str(e.get("rc", "")),
            f"{e['seconds']:.1f}" if isinstance(e.get("seconds"), int | float) else "",
            ",".join(e.get("changed_hosts") or []) or "-",
            ",".join(e.get("failed_hosts") or []) or "-",
        )
        for e in lines
    ]
    widths = [max([len(column), *(len(row[i]) for row in rows)]) for i, column in enumerate(_COLUMNS)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [_COLUMNS, *rows]
    )
