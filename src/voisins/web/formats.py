"""Dates, schedules, languages and figures as people read them: in their language (the
CLDR data Babel ships: day and month names, language names, percent signs) and always in
Europe/Paris time, the time of the neighbourhood."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, get_day_names
from babel.numbers import format_decimal, format_percent
from litestar import Request

from voisins import clock
from voisins.clock import PARIS
from voisins.posts.schemas import Schedule
from voisins.web.forms import N_
from voisins.web.i18n import gettext_for
from voisins.web.pages import Me, locale_of

_MOMENT = {"fr": "EEEE d MMMM y 'à' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}
_SHORT_MOMENT = {"fr": "d MMM y, HH:mm", "en": "d MMM y, HH:mm"}
ONCE_SAME_DAY = N_("%(day)s, de %(start)s à %(end)s")
ONCE_SPAN = N_("du %(start)s au %(end)s")
WEEKLY = N_("chaque semaine, %(days)s, de %(start)s à %(end)s")
AND = N_("et")
DURATION_MINUTES = N_("%(m)s min")
DURATION_HOURS = N_("%(h)s h %(m)s min")
DURATION_DAYS = N_("%(d)s j %(h)s h")
# Languages most spoken in the neighbourhoods of the centres (ISO 639 codes; their
# names come from Babel in the reader's language), offered first wherever a form asks.
LANGUAGES = (
    "fr", "ar", "kab", "en", "es", "pt", "it", "de", "ro", "pl", "uk", "ru", "tr", "fa",
    "ps", "ta", "zh", "vi", "wo", "bm", "ff", "sw", "ln",
)  # fmt: skip


def offered_languages(chosen: Iterable[str]) -> list[str]:
    """The languages a form offers: the usual ones, then any other already chosen."""
    return list(LANGUAGES) + sorted(set(chosen) - set(LANGUAGES))


def paris_moment(day: date) -> datetime:
    """A day someone typed, as a moment: now when it is today (Paris), else the start of
    that day — never in the future, so "checked today" is accepted at once."""
    now = clock.now().astimezone(PARIS)
    if day == now.date():
        return now
    return datetime.combine(day, time.min, PARIS)


class Formats:
    """Given to templates as ``fmt``."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in ("fr", "en") else "fr"
        self._ = gettext_for(self.locale)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return str(format_datetime(value, _MOMENT[self.locale], tzinfo=PARIS, locale=self.locale))

    def short_moment(self, value: datetime | None) -> str:
        if value is None:
            return ""
        pattern = _SHORT_MOMENT[self.locale]
        return str(format_datetime(value, pattern, tzinfo=PARIS, locale=self.locale))

    def iso_moment(self, value: datetime | None) -> str:
        """For ``<time datetime>``: to the minute, Paris time."""
        return "" if value is None else value.astimezone(PARIS).isoformat(timespec="minutes")

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(PARIS).date()
        return str(format_date(value, "d MMMM y", locale=self.locale))

    def month(self, value: str) -> str:
        """«mars 2025» / "March 2025" from "2025-03" (how long someone has been a member:
        the month only)."""
        year, month = value.split("-")
        return str(format_date(date(int(year), int(month), 1), "LLLL y", locale=self.locale))

    def iso_day(self, value: date | datetime | None) -> str:
        """For ``<input type="date">`` and ``<time datetime>``."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(PARIS).date()
        return value.isoformat()

    def weekday(self, iso_day: int) -> str:
        """1 = Monday … 7 = Sunday."""
        names: Any = get_day_names("wide", locale=self.locale)
        return str(names[iso_day - 1])

    def weekdays(self) -> list[tuple[int, str]]:
        return [(d, self.weekday(d).capitalize()) for d in range(1, 8)]

    def language(self, code: str) -> str:
        name = Locale(self.locale).languages.get(code)
        return str(name).capitalize() if name else code

    def language_choices(self, chosen: Iterable[str]) -> list[tuple[str, str]]:
        """``offered_languages`` with their names, for a form's check boxes."""
        return [(code, self.language(code)) for code in offered_languages(chosen)]

    def _join(self, words: list[str]) -> str:
        if len(words) < 2:
            return "".join(words)
        return ", ".join(words[:-1]) + f" {self._(AND)} " + words[-1]

    def schedule(self, value: Schedule) -> str:
        if value.type == "weekly":
            days = self._join([self.weekday(d) for d in value.days or []])
            return str(self._(WEEKLY) % {"days": days, "start": value.start, "end": value.end})
        if value.starts_at is None or value.ends_at is None:
            return ""
        start, end = value.starts_at.astimezone(PARIS), value.ends_at.astimezone(PARIS)
        if start.date() == end.date():
            day = format_date(start.date(), "EEEE d MMMM y", locale=self.locale)
            return str(
                self._(ONCE_SAME_DAY)
                % {"day": day, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
            )
        return str(self._(ONCE_SPAN) % {"start": self.moment(start), "end": self.moment(end)})

    def percent(self, share: float | None) -> str:
        return "" if share is None else str(format_percent(share, locale=self.locale))

    def number(self, value: float | None) -> str:
        return "" if value is None else str(format_decimal(value, locale=self.locale))

    def duration(self, minutes: float | None) -> str:
        if minutes is None:
            return ""
        total = round(minutes)
        days, rest = divmod(total, 1440)
        hours, mins = divmod(rest, 60)
        if days:
            return str(self._(DURATION_DAYS) % {"d": days, "h": hours})
        if hours:
            return str(self._(DURATION_HOURS) % {"h": hours, "m": f"{mins:02d}"})
        return str(self._(DURATION_MINUTES) % {"m": mins})


def formats_for(request: Request[Any, Any, Any], me: Me | None) -> Formats:
    return Formats(locale_of(request, me))
