"""Live progress from ansible-runner's events, and the summary table at the end of a run.

On a terminal one status line (a bar of the current task's hosts, task number, counts) is redrawn in
place, with failures printed above it; otherwise each play, task and host result is a plain line, which
is what logs and systemd's journal want.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from platformctl.playbook_run import Event, RunResult

_BAR_WIDTH = 20


@dataclass
class _Counts:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    def line(self) -> str:
        return (
            f"ok {self.ok}, changed {self.changed}, failed {self.failed}, "
            f"unreachable {self.unreachable}, skipped {self.skipped}"
        )


@dataclass
class Progress:
    """An ansible-runner event handler that writes progress to `out` (masked by `mask`)."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    mask: Callable[[str], str] = lambda text: text
    tty: bool | None = None
    counts: _Counts = field(default_factory=_Counts)
    hosts: set[str] = field(default_factory=set)
    tasks: int = 0
    _task: str = ""
    _started: int = 0
    _done: int = 0
    _drawn: bool = False

    def __post_init__(self) -> None:
        if self.tty is None:
            self.tty = self.out.isatty()

    def __call__(self, event: Event) -> None:
        kind = str(event.get("event", ""))
        data: dict[str, Any] = event.get("event_data") or {}
        host = str(data.get("host", ""))
        if kind == "playbook_on_play_start":
            self._line(f"PLAY [{data.get('play', '')}]")
        elif kind == "playbook_on_task_start":
            self.tasks += 1
            self._task, self._started, self._done = str(data.get("task", "")), 0, 0
            if not self.tty:
                self._line(f"TASK {self.tasks} [{self._task}]")
        elif kind == "runner_on_start":
            self._started += 1
            self.hosts.add(host)
        elif kind in _RESULTS:
            self._result(kind, host, data)
        elif kind == "playbook_on_stats":
            self._clear()
            return
        else:
            return
        self._draw()

    def _result(self, kind: str, host: str, data: dict[str, Any]) -> None:
        res: dict[str, Any] = data.get("res") or {}
        self._done += 1
        self.hosts.add(host)
        if kind == "runner_on_ok":
            self.counts.ok += 1
            changed = bool(res.get("changed"))
            self.counts.changed += changed
            label = "changed" if changed else "ok"
        elif kind == "runner_on_skipped":
            self.counts.skipped += 1
            label = "skipping"
        elif kind == "runner_on_unreachable":
            self.counts.unreachable += 1
            label = "UNREACHABLE"
        elif data.get("ignore_errors"):
            self.counts.ok += 1
            label = "failed (ignored)"
        else:
            self.counts.failed += 1
            label = "FAILED"
        if label in ("FAILED", "UNREACHABLE"):
            message = str(res.get("msg", "")).strip().splitlines()
            self._line(f"  {label}: {host}: {self._task}" + (f": {message[0]}" if message else ""))
        elif not self.tty:
            self._line(f"  {label}: {host}")

    def _line(self, text: str) -> None:
        self._clear()
        self.out.write(self.mask(text) + "\n")
        self.out.flush()

    def _draw(self) -> None:
        if not self.tty or not self._task:
            return
        total = max(self._started, self._done, 1)
        filled = _BAR_WIDTH * self._done // total
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        text = f"[{bar}] {self._done}/{total} hosts | task {self.tasks}: {self._task} | {self.counts.line()}"
        width = shutil.get_terminal_size().columns - 1
        self.out.write("\r\x1b[K" + self.mask(text)[:width])
        self.out.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.out.write("\r\x1b[K")
            self._drawn = False


_RESULTS = frozenset({"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"})

_COLUMNS = ("host", "ok", "changed", "failed", "unreachable", "skipped")


def summary(result: RunResult) -> str:
    """The play recap as a table, then the outcome."""
    rows = [
        (host, str(s.ok), str(s.changed), str(s.failed), str(s.unreachable), str(s.skipped))
        for host, s in sorted(result.stats.items())
    ]
    widths = [max([len(column), *(len(row[i]) for row in rows)]) for i, column in enumerate(_COLUMNS)]
    lines = [
        "  ".join(
            (cell.ljust(width) if i == 0 else cell.rjust(width))
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [_COLUMNS, *rows]
    ]
    lines.append(f"result: {result.status}, rc {result.rc}, {result.seconds:.1f} s")
    return "\n".join(lines)
