"""Maintenance windows for tasks/window_guard.yml: is one open now, and when does the next one open.

    {{ platform_maintenance_windows | platform_window_state(platform_maintenance_window, now_iso) }}

A window is {days: [Mon..Sun], start: "HH:MM", end: "HH:MM", timezone: IANA name}: days default to every
day, the zone to UTC; an end at or before the start runs past midnight into the next day ("00:00"-"24:00"
and equal start and end are the whole day). Times are wall-clock times of the window's zone, so a window
keeps its local hours across daylight-saving changes (it is an hour shorter or longer on the change day).
The legacy single string "Sat 02:00-04:00" is read as one UTC window. The controller's clock decides,
unless `now` (an ISO 8601 timestamp with an offset; the guard's test hook) names another instant.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ansible.errors import AnsibleFilterError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^(24):(00)$")
_LEGACY = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d\d:\d\d)-(\d\d:\d\d)$")


def _minutes(text: Any, what: str) -> int:
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise AnsibleFilterError(f'maintenance window {what} is "{text}"; write it as HH:MM (00:00 to 24:00)')
    hours, minutes = (group for group in match.groups() if group is not None)
    return int(hours) * 60 + int(minutes)


def _window(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise AnsibleFilterError(
            f"a maintenance window is a mapping of days, start, end, timezone, not {spec!r}"
        )
    days = spec.get("days") or list(DAYS)
    if isinstance(days, str):
        days = [days]
    unknown = [day for day in days if str(day).capitalize() not in DAYS]
    if unknown:
        raise AnsibleFilterError(f"maintenance window days {unknown} are not among {', '.join(DAYS)}")
    zone_name = str(spec.get("timezone") or "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise AnsibleFilterError(
            f'maintenance window timezone "{zone_name}" is not an IANA time zone'
        ) from error
    start = _minutes(spec.get("start", ""), "start")
    end = _minutes(spec.get("end", ""), "end")
    weekdays = sorted({DAYS.index(str(day).capitalize()) for day in days})
    hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    text = f"{','.join(DAYS[day] for day in weekdays)} {hours}"
    return {"weekdays": weekdays, "zone": zone, "start": start, "end": end, "text": f"{text} {zone_name}"}


def _legacy(text: str) -> dict[str, Any]:
    match = _LEGACY.match(text.strip())
    if not match:
        raise AnsibleFilterError(
            f'platform_maintenance_window is "{text}"; write it as a weekday (Mon..Sun) and a UTC time '
            'range, for example "Sat 02:00-04:00"'
        )
    day, start, end = match.groups()
    return _window({"days": [day], "start": start, "end": end, "timezone": "UTC"})


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time of `zone`; a time a DST change skips is read with the offset
    before the change (02:30 on a spring-forward day at 02:00 is 03:30), a repeated time as its first."""
    return (datetime.combine(day, time(), zone) + timedelta(minutes=minutes)).astimezone(UTC)


def _occurrences(window: dict[str, Any], now: datetime) -> list[tuple[datetime, datetime]]:
    """Start and end (UTC) of each occurrence from yesterday to eight days on, in the window's zone."""
    today = now.astimezone(window["zone"]).date()
    length = (window["end"] - window["start"]) % 1440 or 1440
    spans = []
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if day.weekday() in window["weekdays"]:
            spans.append(
                (
                    _at(day, window["start"], window["zone"]),
                    _at(day, window["start"] + length, window["zone"]),
                )
            )
    return spans


def _local_text(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    named = "" if local.tzname() == zone.key else f" ({zone.key})"
    return local.strftime("%a %Y-%m-%d %H:%M %Z") + named


def platform_window_state(windows: Any, legacy: Any = "", now: Any = "") -> dict[str, Any]:
    """Whether a window is open at `now`, the window open, and the next opening, as texts for the guard."""
    specs = [_window(spec) for spec in (windows or [])]
    if legacy and str(legacy).strip():
        specs.append(_legacy(str(legacy)))
    if now and str(now).strip():
        try:
            instant = datetime.fromisoformat(str(now).strip())
        except ValueError as error:
            raise AnsibleFilterError(
                f'platform_window_now is "{now}"; write it as an ISO 8601 timestamp'
            ) from error
        if instant.tzinfo is None:
            raise AnsibleFilterError(f'platform_window_now is "{now}"; give it an offset, e.g. +00:00')
    else:
        instant = datetime.now(UTC)
    instant = instant.astimezone(UTC)
    state: dict[str, Any] = {
        "always": not specs,
        "open": not specs,
        "now": instant.isoformat(timespec="seconds"),
        "now_text": "; ".join(sorted({_local_text(instant, spec["zone"]) for spec in specs}))
        or _local_text(instant, ZoneInfo("UTC")),
        "windows": [spec["text"] for spec in specs],
        "open_window": "",
        "next": "",
    }
    upcoming: list[tuple[datetime, dict[str, Any]]] = []
    for spec in specs:
        for start, end in _occurrences(spec, instant):
            if start <= instant < end and not state["open_window"]:
                state["open"] = True
                state["open_window"] = f"{spec['text']}, until {_local_text(end, spec['zone'])}"
            elif start > instant:
                upcoming.append((start, spec))
    if upcoming:
        start, spec = min(upcoming, key=lambda pair: pair[0])
        state["next"] = f"{_local_text(start, spec['zone'])} (window {spec['text']})"
    return state


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"platform_window_state": platform_window_state}
