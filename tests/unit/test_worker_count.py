"""WORKERS=auto: the CPUs a process may use, from its affinity and fake cgroup v1/v2 files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_platform.settings import ConfigError, Settings
from langchain_platform.worker_count import quota_cpus, usable_cpus


def cpus(count: int) -> Callable[[int], set[int]]:
    return lambda _pid: set(range(count))


def v2(tmp_path: Path, limits: dict[str, str], membership: str = "0::/\n") -> tuple[Path, Path]:
    """A cgroup v2 tree: ``limits`` maps a cgroup path ("" for the root) to its cpu.max."""
    root = tmp_path / "cgroup"
    for relative, cpu_max in limits.items():
        directory = root / relative
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cpu.max").write_text(cpu_max + "\n")
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(membership)
    return root, proc


def v1(
    tmp_path: Path, quota: str, period: str = "100000", directory: str = "cpu,cpuacct"
) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    (root / directory).mkdir(parents=True)
    (root / directory / "cpu.cfs_quota_us").write_text(quota + "\n")
    (root / directory / "cpu.cfs_period_us").write_text(period + "\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("4:cpu,cpuacct:/\n0::/\n")
    return root, proc


@pytest.mark.parametrize(
    ("cpu_max", "affinity", "expected"),
    [
        ("max 100000", 8, 8),  # no quota: the affinity decides
        ("200000 100000", 8, 2),  # --cpus 2
        ("150000 100000", 8, 2),  # --cpus 1.5 rounds up
        ("50000 100000", 8, 1),  # half a CPU: still one worker
        ("400000 100000", 3, 3),  # --cpuset-cpus 0-2 under a larger quota
    ],
)
def test_cgroup_v2_quota_and_affinity_whichever_is_smaller(
    tmp_path: Path, cpu_max: str, affinity: int, expected: int
) -> None:
    root, proc = v2(tmp_path, {"": cpu_max})
    assert usable_cpus(cpus(affinity), root, proc) == expected


def test_cgroup_v2_the_tightest_limit_on_the_way_to_the_root_counts(tmp_path: Path) -> None:
    root, proc = v2(
        tmp_path,
        {"": "max 100000", "kubepods": "300000 100000", "kubepods/pod1/app": "max 100000"},
        membership="0::/kubepods/pod1/app\n",
    )
    assert quota_cpus(root, proc) == 3.0
    assert usable_cpus(cpus(16), root, proc) == 3


@pytest.mark.parametrize(("quota", "expected"), [("-1", 6), ("250000", 3), ("100000", 1)])
def test_cgroup_v1_cfs_quota(tmp_path: Path, quota: str, expected: int) -> None:
    root, proc = v1(tmp_path, quota)
    assert usable_cpus(cpus(6), root, proc) == expected


def test_no_cgroup_files_or_garbage_mean_no_quota(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    assert usable_cpus(cpus(4), missing, missing) == 4
    root, proc = v2(tmp_path / "bad", {"": "lots 100000"})
    assert quota_cpus(root, proc) is None
    assert usable_cpus(cpus(1), root, proc) == 1


def test_workers_setting_auto_number_or_error(tmp_path: Path) -> None:
    base = {"DATA_DIR": str(tmp_path), "API_KEY_ENABLED": "false"}
    assert Settings.from_env(base).workers is None
    assert Settings.from_env(base | {"WORKERS": "auto"}).workers is None
    assert Settings.from_env(base | {"WORKERS": "3"}).workers == 3
    for bad in ("0", "many", "1000"):
        with pytest.raises(ConfigError, match="WORKERS"):
            Settings.from_env(base | {"WORKERS": bad})
