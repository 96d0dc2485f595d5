"""What the playbooks' maintenance-window guard decided on each host, read from the run's events.

The audit line's `window` says what the run asked for (guarded, override, emergency); this says what
happened: the hosts the guard refused, the hosts it let run out of their windows (override or
emergency, also recorded on the host), and under --check the hosts a real run would be refused on.
The guard's task names (playbooks/tasks/window_guard.yml) are the contract read here.
"""

from __future__ import annotations

from typing import Any

REFUSED = "refused"
OUT_OF_WINDOW = "out_of_window"
WOULD_REFUSE = "would_refuse"

# (event, task name) -> outcome.
_GUARD_TASKS = {
    ("runner_on_failed", "Refuse to run outside the maintenance window"): REFUSED,
    ("runner_on_ok", "Tell the operator the run is out of the window"): OUT_OF_WINDOW,
    ("runner_on_ok", "Say that a real run would be refused"): WOULD_REFUSE,
}


class WindowOutcome:
    """An event handler collecting the guard's decisions per host."""

    def __init__(self) -> None:
        self._hosts: dict[str, set[str]] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        outcome = _GUARD_TASKS.get((str(event.get("event")), str(data.get("task", "")).strip()))
        if outcome is not None and data.get("host"):
            self._hosts.setdefault(outcome, set()).add(str(data["host"]))

    def summary(self) -> dict[str, list[str]]:
        """Outcome -> hosts, sorted; empty when no guard ran or every host was inside its window."""
        return {outcome: sorted(hosts) for outcome, hosts in sorted(self._hosts.items())}
