"""The rules of intergenerational housing that need no database: the law's ages, the
calendar of the trial and the follow-up visits, and how well two applications fit.

The law (CASF art. L.118-1, ELAN 2018): the host is 60 or older, the young person under
30. The young person must also be an adult, since they sign the agreement.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import msgspec

from voisins.errors import Invalid
from voisins.geo.bands import band_for_m, public_distance_m
from voisins.geo.grid import Cell
from voisins.housing.schemas import Fit, Formula, Service, Side

HOST_MIN_AGE = 60
YOUNG_MAX_AGE = 30  # under 30: 29 is the oldest
YOUNG_MIN_AGE = 18
# Beyond this, the birth date is a typing slip (1848 for 1948), not a person.
OLDEST_AGE = 120


def age_on(birth_date: date, day: date) -> int:
    """Whole years from ``birth_date`` to ``day`` (a birthday on 29 February counts on
    1 March in other years, as the civil code does)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_age(side: Side, birth_date: date, today: date) -> int:
    """The person's age, or ``Invalid`` naming ``birth_date`` when the law excludes them."""
    age = age_on(birth_date, today)
    if birth_date > today:
        raise Invalid.field("birth_date", "cannot be in the future")
    if age > OLDEST_AGE:
        raise Invalid.field("birth_date", "more than 120 years ago: check the birth year")
    if side == "host" and age < HOST_MIN_AGE:
        raise Invalid.field(
            "birth_date", f"a host must be {HOST_MIN_AGE} or older (CASF art. L.118-1)"
        )
    if side == "young" and age >= YOUNG_MAX_AGE:
        raise Invalid.field(
            "birth_date", f"a young person must be under {YOUNG_MAX_AGE} (CASF art. L.118-1)"
        )
    if side == "young" and age < YOUNG_MIN_AGE:
        raise Invalid.field(
            "birth_date", f"a young person must be {YOUNG_MIN_AGE} or older to sign the agreement"
        )
    return age


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has fewer days
    (31 January + 1 month is 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# A centre may enter a pairing's past when it starts with voisins; beyond this many
# years, a date is a typing slip (1950 for 2025) that would date the whole history.
OLDEST_STEP_YEARS = 10
# Availability further ahead than this is a slip too.
FURTHEST_AHEAD_YEARS = 3


def check_done_on(done_on: date, today: date, *, field: str = "done_on") -> None:
    """A step is recorded once it happened: not in the future, nor decades ago."""
    if done_on > today:
        raise Invalid.field(field, "cannot be in the future")
    if done_on < add_months(today, -12 * OLDEST_STEP_YEARS):
        raise Invalid.field(field, f"more than {OLDEST_STEP_YEARS} years ago")


def check_availability(available_from: date, available_until: date | None, today: date) -> None:
    if available_from > add_months(today, 12 * FURTHEST_AHEAD_YEARS):
        raise Invalid.field("available_from", f"more than {FURTHEST_AHEAD_YEARS} years ahead")
    if available_from < add_months(today, -12 * OLDEST_STEP_YEARS):
        raise Invalid.field("available_from", f"more than {OLDEST_STEP_YEARS} years ago")
    if available_until is not None and available_until > add_months(available_from, 120):
        raise Invalid.field("available_until", "more than ten years after available_from")


class Offer(msgspec.Struct, frozen=True, kw_only=True):
    """What fitting needs of an application (host or young), read from its row."""

    available_from: date
    available_until: date | None
    formulas: list[Formula]
    monthly_eur: int
    services: list[Service]
    languages: list[str]
    has_pets: bool
    accepts_pets: bool
    smokes: bool
    accepts_smoker: bool
    rhythm: str
    cell: Cell

    @classmethod
    def of(cls, row: Any) -> Offer:
        return cls(**terms_of(row), **habits_of(row), cell=Cell.from_key(row.cell_key))


def terms_of(row: Any) -> dict[str, Any]:
    """What an application (a ``housing_applications`` row) offers or asks: when, which
    formulas, how much a month, which services, in which languages — as every reading
    of an application names them."""
    return {
        "available_from": row.available_from,
        "available_until": row.available_until,
        "formulas": list(row.formulas),
        "monthly_eur": row.monthly_eur,
        "services": list(row.services),
        "languages": list(row.languages),
    }


def habits_of(row: Any) -> dict[str, Any]:
    """The habits an application states (pets, smoke, rhythm), from its row."""
    return {
        "has_pets": row.has_pets,
        "accepts_pets": row.accepts_pets,
        "smokes": row.smokes,
        "accepts_smoker": row.accepts_smoker,
        "rhythm": row.rhythm,
    }


def _overlap_days(host: Offer, young: Offer) -> int:
    start = max(host.available_from, young.available_from)
    ends = [d for d in (host.available_until, young.available_until) if d is not None]
    if not ends:
        return 365
    return (min(ends) - start).days


def fit(host: Offer, young: Offer, *, max_km: int) -> Fit | None:
    """How well a host and a young person fit, or None when something rules the pair out:
    no common month, a formula or a contribution the young person cannot take, a pet or
    smoke one of them refuses, or a place of study farther than ``max_km``.

    Distance is measured between public cells (the home's and the place of study's),
    as everywhere; it ranks, and is shown in 1 km bands."""
    common_days = _overlap_days(host, young)
    if common_days < 30:
        return None
    formula: Formula = host.formulas[0]
    if formula not in young.formulas or host.monthly_eur > young.monthly_eur:
        return None
    if (host.has_pets and not young.accepts_pets) or (young.has_pets and not host.accepts_pets):
        return None
    if (host.smokes and not young.accepts_smoker) or (young.smokes and not host.accepts_smoker):
        return None
    metres = public_distance_m(host.cell, young.cell)
    if metres > max_km * 1000:
        return None
    shared_services = [s for s in young.services if s in host.services]
    shared_languages = [lang for lang in young.languages if lang in host.languages]
    rhythms_match = "flexible" in (host.rhythm, young.rhythm) or host.rhythm == young.rhythm
    start_gap = abs((young.available_from - host.available_from).days)
    km = int(metres // 1000)
    score = (
        max(0, 30 - 2 * km)
        + min(30, 10 * len(shared_services))
        + (10 if shared_languages else 0)
        + (10 if rhythms_match else 0)
        + (10 if start_gap <= 30 else 5 if start_gap <= 90 else 0)
        + min(10, (young.monthly_eur - host.monthly_eur) // 20)
    )
    return Fit(
        score=score,
        distance=band_for_m(metres),
        common_days=common_days,
        start_gap_days=start_gap,
        formula=formula,
        budget_margin_eur=young.monthly_eur - host.monthly_eur,
        shared_services=shared_services,
        shared_languages=shared_languages,
        rhythms_match=rhythms_match,
    )
