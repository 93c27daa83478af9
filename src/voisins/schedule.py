"""Schedules as minutes of the week in Europe/Paris, the form both posts and volunteer
availability are stored in (int4multirange) so that overlap is one SQL operator."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated

from asyncpg import Range
from msgspec import Meta

from voisins.clock import PARIS

# Times of day travel as "HH:MM" (what people type), not RFC 3339 "HH:MM:SS"; "24:00"
# ends a day. \Z, not $: Python's $ also matches before a final newline.
END_OF_DAY = "24:00"
ClockTime = Annotated[
    str, Meta(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z|^24:00\Z", examples=["09:30"])
]
WEEK_MINUTES = 7 * 24 * 60


def paris_today(now: datetime) -> date:
    """The day it is in France at ``now``: the day people mean by «aujourd'hui» (a UTC
    date is yesterday's for the first hour or two of every French day)."""
    return now.astimezone(PARIS).date()


def _minute_of_week(moment: datetime) -> int:
    local = moment.astimezone(PARIS)
    return local.weekday() * 1440 + local.hour * 60 + local.minute


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


def weekly_slots(days: Iterable[int], start: str, end: str) -> list[tuple[int, int]]:
    """``days`` are ISO weekdays, 1 = Monday … 7 = Sunday; ``start``/``end`` "HH:MM"."""
    first, last = clock_minutes(start), clock_minutes(end)
    return merge(((d - 1) * 1440 + first, (d - 1) * 1440 + last) for d in days)


def to_multirange(ranges: list[tuple[int, int]]) -> list[Range]:
    """The asyncpg value of an int4multirange parameter (half-open ranges)."""
    return [Range(a, b) for a, b in ranges]


def from_multirange(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, str, str]]:
    """Back to (ISO weekday, "HH:MM", "HH:MM") triples, split at midnight, for display."""
    out: list[tuple[int, str, str]] = []
    for start, end in ranges:
        cursor = start
        while cursor < end:
            day = cursor // 1440
            day_end = min(end, (day + 1) * 1440)
            out.append((day + 1, clock(cursor - day * 1440), clock(day_end - day * 1440)))
            cursor = day_end
    return out


def clock_minutes(value: str) -> int:
    """Minutes since midnight of an "HH:MM" string ("24:00" is the end of the day)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
