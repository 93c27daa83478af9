"""Schedules as minutes of the week in Europe/Paris, the form both posts and volunteer
availability are stored in (int4multirange) so that overlap is one SQL operator."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
WEEK_MINUTES = 7 * 24 * 60


def _minute_of_week(moment: datetime) -> int:
    local = moment.astimezone(PARIS)
    return local.weekday() * 1440 + local.hour * 60 + local.minute


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def once_slots(starts_at: datetime, ends_at: datetime) -> list[tuple[int, int]]:
    """A one-off window, folded onto the week (a week or longer covers all of it)."""
    if ends_at - starts_at >= timedelta(days=7):
        return [(0, WEEK_MINUTES)]
    start, end = _minute_of_week(starts_at), _minute_of_week(ends_at)
    if end > start:
        return [(start, end)]
    return merge([(start, WEEK_MINUTES), (0, end)])


def weekly_slots(days: Iterable[int], start: time, end: time) -> list[tuple[int, int]]:
    """``days`` are ISO weekdays, 1 = Monday … 7 = Sunday."""
    return merge(((d - 1) * 1440 + _minutes(start), (d - 1) * 1440 + _minutes(end)) for d in days)


def to_multirange(ranges: list[tuple[int, int]]) -> str:
    """The PostgreSQL literal, to bind with ``CAST(:x AS int4multirange)``."""
    return "{" + ",".join(f"[{a},{b})" for a, b in ranges) + "}"


def from_multirange(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, time, time]]:
    """Back to (ISO weekday, start, end) triples, split at midnight, for display."""
    out: list[tuple[int, time, time]] = []
    for start, end in ranges:
        cursor = start
        while cursor < end:
            day_end = min(end, (cursor // 1440 + 1) * 1440)
            day = cursor // 1440
            begin = time(divmod(cursor - day * 1440, 60)[0], (cursor - day * 1440) % 60)
            stop_min = day_end - day * 1440
            stop = time(23, 59) if stop_min == 1440 else time(stop_min // 60, stop_min % 60)
            out.append((day + 1, begin, stop))
            cursor = day_end
    return out
