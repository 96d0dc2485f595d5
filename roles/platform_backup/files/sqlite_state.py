"""The SQLite checkpointer's state for platform_backup, run by python3 inside the app container.

    python3 sqlite_state.py digest DB          content digest of the live database (read only)
    python3 sqlite_state.py backup DB COPY     online copy (backup API), integrity-checked, and its digest

Prints one JSON object: `content_sha256` (SHA-256 of the database's SQL dump: equal for equal contents,
whatever the page layout or the write-ahead log), `size` (bytes of the file read) and, for a backup,
`integrity` (`PRAGMA integrity_check`). Exits 1 when the copy is not "ok", so a damaged copy is never kept.
Standard library only: the image has python3 but no sqlite3 command.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys


def content_sha256(connection: sqlite3.Connection) -> str:
    """SHA-256 of the SQL dump, read in one transaction so a concurrent writer cannot tear it."""
    digest = hashlib.sha256()
    with connection:
        connection.execute("BEGIN")
        for statement in connection.iterdump():
            digest.update(statement.encode())
            digest.update(b"\n")
    return digest.hexdigest()


def digest(database: str) -> dict[str, object]:
    # mode=ro: reading must never create the file or take the writer's lock.
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
    try:
        return {"content_sha256": content_sha256(connection), "size": os.path.getsize(database)}
    finally:
        connection.close()


def backup(database: str, copy: str) -> dict[str, object]:
    """Copy `database` with the backup API (consistent while the service writes), then check the copy."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(copy, isolation_level=None)
    try:
        source.backup(target)
        integrity = str(target.execute("PRAGMA integrity_check").fetchone()[0])
        size = os.path.getsize(copy)
        return {"integrity": integrity, "content_sha256": content_sha256(target), "size": size}
    finally:
        target.close()
        source.close()


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "digest":
        result = digest(argv[1])
    elif len(argv) == 3 and argv[0] == "backup":
        result = backup(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0 if result.get("integrity", "ok") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
