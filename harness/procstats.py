"""Resident memory of a process tree, read from /proc (Linux only).

`langchain-platform serve --workers N` runs a supervisor and N worker processes; the memory an
operator pays for is the sum over all of them, so the tree is walked rather than one pid read.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def _parent_of(pid: int) -> int | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1])


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_bytes(pid: int) -> int:
    """VmRSS of one process; 0 when it has gone."""
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_mb(root: int) -> float:
    """Sum of VmRSS over `root` and its descendants, in MiB."""
    return round(sum(rss_bytes(pid) for pid in process_tree(root)) / 2**20, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far; 0 when it has gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of stat, counted from 1 including pid and comm.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by `root` and its live descendants.

    Unlike wall-clock latency this barely depends on what else the machine runs, so it compares
    the service with the reference even on a busy host.
    """
    return sum(cpu_seconds(pid) for pid in process_tree(root))
