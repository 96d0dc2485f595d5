"""How many uvicorn workers ``serve`` starts when ``WORKERS`` is ``auto``: the CPUs this process may use.

That is the smaller of the CPUs it may run on (``os.sched_getaffinity``: ``docker run --cpuset-cpus``,
``taskset``) and its CPU quota (``docker run --cpus``, a Kubernetes CPU limit): cgroup v2 ``cpu.max``
of its cgroup and every parent, or cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``. A
fractional quota rounds up (1.5 CPUs: 2 workers, which together use the 1.5 without idling half a
CPU), and the count is at least 1. Each worker is one process with one event loop: agent runs spend
their CPU in Python, so one worker uses at most one CPU.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
# cgroup v1 mounts the cpu controller under one of these names (Docker's cgroupfs: "cpu,cpuacct").
_V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def affinity_cpus(getaffinity: Callable[[int], Iterable[int]] | None = None) -> int:
    """CPUs this process may be scheduled on (all of them where the call does not exist)."""
    getaffinity = getaffinity or getattr(os, "sched_getaffinity", None)
    if getaffinity is None:
        return os.cpu_count() or 1
    return len(set(getaffinity(0)))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # absent (no such controller, not Linux) or unreadable: no limit known
        return None


def _quota_cpus(quota: int, period: int) -> float | None:
    return quota / period if quota > 0 and period > 0 else None


def _v2_cgroup_dirs(root: Path, proc_self_cgroup: Path) -> list[Path]:
    """This process's cgroup v2 directory and its parents up to the root, leaf first."""
    membership = _read(proc_self_cgroup) or ""
    relative = next((line[3:] for line in membership.splitlines() if line.startswith("0::")), None)
    if relative is None:
        return []
    leaf = root / relative.lstrip("/")
    return [leaf, *(parent for parent in leaf.parents if parent.is_relative_to(root))]


def _v2_quota(root: Path, proc_self_cgroup: Path) -> float | None:
    """The tightest ``cpu.max`` ("<quota> <period>" or "max <period>") on the way to the root."""
    limits = []
    for directory in _v2_cgroup_dirs(root, proc_self_cgroup):
        fields = (_read(directory / "cpu.max") or "").split()
        if len(fields) == 2 and fields[0] != "max" and fields[0].isdigit() and fields[1].isdigit():
            cpus = _quota_cpus(int(fields[0]), int(fields[1]))
            if cpus is not None:
                limits.append(cpus)
    return min(limits, default=None)


def _v1_quota(root: Path) -> float | None:
    for name in _V1_CPU_DIRS:
        quota, period = _read(root / name / "cpu.cfs_quota_us"), _read(root / name / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            try:
                return _quota_cpus(int(quota), int(period))  # quota -1: no limit
            except ValueError:
                return None
    return None


def quota_cpus(root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (1.5 for ``--cpus 1.5``); None without one."""
    v2 = _v2_quota(root, proc_self_cgroup)
    return v2 if v2 is not None else _v1_quota(root)


def usable_cpus(
    getaffinity: Callable[[int], Iterable[int]] | None = None,
    root: Path = CGROUP_ROOT,
    proc_self_cgroup: Path = PROC_SELF_CGROUP,
) -> int:
    """The worker count for ``WORKERS=auto``: min(affinity, ceil(quota)), at least 1."""
    cpus = affinity_cpus(getaffinity)
    quota = quota_cpus(root, proc_self_cgroup)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)
