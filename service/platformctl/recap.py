"""The play recap of an ansible-runner run, per host: what platformctl prints and the test harness asserts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class HostStats:
    """One host's line of the play recap; `ok` counts changed tasks too, as Ansible does."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


def host_stats(recap: Mapping[str, Mapping[str, int]] | None) -> dict[str, HostStats]:
    """ansible-runner's `stats` (counter name -> host -> count) turned around into host -> counts."""
    if not recap:
        return {}
    hosts = sorted({host for counts in recap.values() if isinstance(counts, Mapping) for host in counts})
    return {
        host: HostStats(
            ok=int(recap.get("ok", {}).get(host, 0)),
            changed=int(recap.get("changed", {}).get(host, 0)),
            failed=int(recap.get("failures", {}).get(host, 0)),
            unreachable=int(recap.get("dark", {}).get(host, 0)),
            skipped=int(recap.get("skipped", {}).get(host, 0)),
        )
        for host in hosts
    }
