"""Volunteer profiles: where, how far, when, what and in which languages someone helps;
and the vetting record that social workers alone write."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from asyncpg import Range
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.accounts.quotas import Quotas
from voisins.categories import Category
from voisins.errors import Forbidden, Invalid, NotFound
from voisins.geo import sql as geosql
from voisins.geo.geocoder import Geocoder
from voisins.locations import LocationIn, resolve
from voisins.request_bodies import Input, Language, SkillTag
from voisins.schedule import (
    ClockTime,
    clock_minutes,
    from_multirange,
    merge,
    to_multirange,
    weekly_slots,
)

# A criminal-record extract (bulletin n°3) is considered current for three years.
# A criminal-record extract older than this does not count as vetting.
RECORD_VALIDITY = timedelta(days=3 * 365)


class Slot(Input):
    day: Annotated[int, Meta(ge=1, le=7, description="ISO weekday, 1 = Monday")]
    start: ClockTime
    end: ClockTime


class VolunteerIn(Input):
    location: LocationIn
    radius_km: Annotated[float, Meta(ge=0.1, le=20, description="At most 20 km")]
    categories: Annotated[list[Category], Meta(min_length=1, max_length=10)]
    availability: Annotated[list[Slot], Meta(max_length=50)]
    skill_tags: Annotated[list[SkillTag], Meta(max_length=20)] = []
    languages: Annotated[list[Language], Meta(min_length=1, max_length=10)] = msgspec.field(
        default_factory=lambda: ["fr"]
    )
    max_active_matches: Annotated[int, Meta(ge=1, le=20)] = 3
    paused: bool = False


class VettingIn(Input):
    id_checked_at: Annotated[datetime, Meta(tz=True)] | None = None
    record_extract_date: date | None = None


class Vetting(msgspec.Struct, kw_only=True):
    id_checked_at: datetime | None
    record_extract_date: date | None
    record_expires_on: date | None
    vetted: bool
    # The social workers who checked, shown to social workers.
    id_checked_by: int | None = None
    record_checked_by: int | None = None


class SlotOut(msgspec.Struct):
    day: int
    start: str
    end: str


class HomeLocation(msgspec.Struct):
    lon: float
    lat: float
    address: str | None


class VolunteerProfile(msgspec.Struct, kw_only=True):
    """A volunteer's own profile, exact home included (only they see it)."""

    user_id: int
    location: HomeLocation
    cell_key: str
    radius_km: float
    categories: list[str]
    skill_tags: list[str]
    languages: list[str]
    availability: list[SlotOut]
    max_active_matches: int
    paused: bool
    vetting: Vetting


def vetting_of(
    id_checked_at: datetime | None,
    extract: date | None,
    id_checked_by: int | None = None,
    record_checked_by: int | None = None,
) -> Vetting:
    expires = extract + RECORD_VALIDITY if extract else None
    today = clock.today()
    return Vetting(
        id_checked_at=id_checked_at,
        record_extract_date=extract,
        record_expires_on=expires,
        vetted=id_checked_at is not None and expires is not None and expires >= today,
        id_checked_by=id_checked_by,
        record_checked_by=record_checked_by,
    )


def _profile(row: Any) -> VolunteerProfile:
    ranges = [(r.lower, r.upper) for r in row.availability]
    return VolunteerProfile(
        user_id=row.user_id,
        location=HomeLocation(row.lon, row.lat, row.address),
        cell_key=row.cell_key,
        radius_km=row.radius_m / 1000,
        categories=list(row.categories),
        skill_tags=list(row.skill_tags),
        languages=list(row.languages),
        availability=[SlotOut(d, s, e) for d, s, e in from_multirange(ranges)],
        max_active_matches=row.max_active_matches,
        paused=row.paused,
        vetting=vetting_of(row.id_checked_at, row.record_extract_date),
    )


async def get_profile(conn: AsyncConnection, viewer: Viewer) -> VolunteerProfile:
    row = (
        await conn.execute(
            text(
                f"SELECT v.*, {geosql.lon_lat('v.point')} FROM volunteers v WHERE v.user_id = :id"
            ),
            {"id": viewer.id},
        )
    ).first()
    if row is None:
        raise NotFound("you have no volunteer profile yet")
    return _profile(row)


def _availability(slots: list[Slot]) -> list[Range]:
    ranges: list[tuple[int, int]] = []
    for index, slot in enumerate(slots):
        if clock_minutes(slot.end) <= clock_minutes(slot.start):
            raise Invalid.field(f"availability[{index}].end", "must be after start")
        ranges.extend(weekly_slots([slot.day], slot.start, slot.end))
    return to_multirange(merge(ranges))


async def put_profile(
    conn: AsyncConnection,
    viewer: Viewer,
    data: VolunteerIn,
    *,
    geocoder: Geocoder,
    cell_size_m: int,
    quotas: Quotas | None = None,
) -> VolunteerProfile:
    """``quotas``: None only for demo data; switching the pause either way spends one."""
    if viewer.role != "resident":
        raise Forbidden("volunteer profiles are for residents' accounts")
    availability = _availability(data.availability)
    place = await resolve(data.location, geocoder, cell_size_m=cell_size_m)
    paused_before = (
        await conn.execute(
            text("SELECT paused FROM volunteers WHERE user_id = :id FOR UPDATE"),
            {"id": viewer.id},
        )
    ).scalar()
    # Pausing withdraws one's propositions and resuming makes one a candidate again:
    # toggled fast, it lets one watch which requests come and go. A new profile is no
    # toggle.
    if quotas is not None and paused_before is not None and paused_before != data.paused:
        await quotas.spend(viewer.id, "pause")
    await conn.execute(
        text(
            f"""
            INSERT INTO volunteers (user_id, point, address, cell_key, cell_centre, radius_m,
                                    categories, skill_tags, languages, availability,
                                    max_active_matches, paused)
            VALUES (:id, {geosql.point_4326("lon", "lat")}, :address, :cell_key,
                    {geosql.point_4326("cell_lon", "cell_lat")}, :radius_m, :categories,
                    :skill_tags, :languages, CAST(:availability AS int4multirange),
                    :max_active, :paused)
            ON CONFLICT (user_id) DO UPDATE SET
                point = EXCLUDED.point, address = EXCLUDED.address,
                cell_key = EXCLUDED.cell_key, cell_centre = EXCLUDED.cell_centre,
                radius_m = EXCLUDED.radius_m, categories = EXCLUDED.categories,
                skill_tags = EXCLUDED.skill_tags, languages = EXCLUDED.languages,
                availability = EXCLUDED.availability,
                max_active_matches = EXCLUDED.max_active_matches, paused = EXCLUDED.paused,
                updated_at = now()
            """
        ),
        {
            **place.params(),
            "id": viewer.id,
            "radius_m": round(data.radius_km * 1000),
            "categories": sorted(set(data.categories)),
            "skill_tags": sorted({t.strip().lower() for t in data.skill_tags}),
            "languages": sorted(set(data.languages)),
            "availability": availability,
            "max_active": data.max_active_matches,
            "paused": data.paused,
        },
    )
    return await get_profile(conn, viewer)
