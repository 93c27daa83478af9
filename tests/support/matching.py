"""Building volunteers and requests quickly for matching tests: volunteers straight in
SQL (hundreds are needed), requests through the real service functions; and
``propose_offer``, what the matcher writes when an offer finds open requests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins.accounts.access import Viewer
from voisins.geo.coordinates import LonLat
from voisins.geo.geocoder import DisabledGeocoder
from voisins.geo.grid import Cell, cell_centre, point_in_cell, snap
from voisins.geo.sql import point_4326
from voisins.locations import LocationIn
from voisins.matching.publication import create_and_match
from voisins.outbox import emit
from voisins.posts.schemas import PostIn, WeeklyIn
from voisins.schedule import to_multirange, weekly_slots
from voisins.settings import Settings

CHATELET = (2.347, 48.8589)
_ids = itertools.count(1)


def offset(
    origin: tuple[float, float], east_m: float = 0, north_m: float = 0
) -> tuple[float, float]:
    """A point so many metres east and north of ``origin`` (good enough within 20 km)."""
    import math

    lat = origin[1] + north_m / 111_320
    lon = origin[0] + east_m / (111_320 * math.cos(math.radians(origin[1])))
    return (round(lon, 6), round(lat, 6))


def in_cell(
    origin: tuple[float, float], dx: int = 0, dy: int = 0, at: tuple[float, float] = (0.5, 0.5)
) -> tuple[float, float]:
    """A point in the 500 m cell ``dx`` cells east and ``dy`` north of ``origin``'s cell,
    at the fractions ``at`` of that cell (its centre by default): matching decides on
    cells, so tests place people by cell."""
    home = snap(LonLat(*origin), 500)
    point = point_in_cell(Cell(home.srid, home.size_m, home.ix + dx, home.iy + dy), *at)
    return (point.lon, point.lat)


async def user(conn: AsyncConnection, name: str = "Volunteer", status: str = "active") -> int:
    return int(
        (
            await conn.execute(
                text(
                    # Confirmed: tests that give them an address then e-mail them (nothing
                    # goes to an unconfirmed one; tests/web/test_account_pages.py).
                    "INSERT INTO users (display_name, assisted, status, email_confirmed_at) "
                    "VALUES (:n, true, :s, now()) RETURNING id"
                ),
                {"n": f"{name} {next(_ids)}", "s": status},
            )
        ).scalar_one()
    )


async def volunteer(
    engine: AsyncEngine,
    at: tuple[float, float],
    *,
    radius_m: int = 5000,
    categories: tuple[str, ...] = ("courses",),
    skills: tuple[str, ...] = (),
    languages: tuple[str, ...] = ("fr",),
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7),
    hours: tuple[str, str] = ("08:00", "20:00"),
    vetted: bool = False,
    **columns: Any,
) -> int:
    cell = snap(LonLat(*at), 500)
    centre = cell_centre(cell)
    async with engine.begin() as conn:
        user_id = await user(conn)
        await conn.execute(
            text(
                f"""
                INSERT INTO volunteers (user_id, point, cell_key, cell_centre, radius_m,
                    categories, skill_tags, languages, availability, id_checked_at,
                    id_checked_by, record_extract_date, record_checked_by)
                VALUES (:id, {point_4326("lon", "lat")}, :key,
                    {point_4326("clon", "clat")}, :radius, :cats, :skills,
                    :langs, :slots, :checked, :checker, :extract, :checker)
                """
            ),
            {
                "id": user_id,
                "lon": at[0],
                "lat": at[1],
                "key": cell.key,
                "clon": centre.lon,
                "clat": centre.lat,
                "radius": radius_m,
                "cats": list(categories),
                "skills": list(skills),
                "langs": list(languages),
                "slots": to_multirange(weekly_slots(days, *hours)),
                "checked": datetime.now(UTC) if vetted else None,
                "checker": user_id if vetted else None,
                "extract": (datetime.now(UTC) - timedelta(days=30)).date() if vetted else None,
            },
        )
        if columns:
            assignments = ", ".join(f"{k} = :{k}" for k in columns)
            await conn.execute(
                text(f"UPDATE volunteers SET {assignments} WHERE user_id = :id"),
                {**columns, "id": user_id},
            )
    return user_id


async def author(engine: AsyncEngine, vulnerability: tuple[str, ...] = ()) -> Viewer:
    async with engine.begin() as conn:
        user_id = await user(conn, "Author")
        if vulnerability:
            await conn.execute(
                text("UPDATE users SET vulnerability = :v WHERE id = :id"),
                {"v": list(vulnerability), "id": user_id},
            )
    return Viewer(id=user_id, role="resident", second_factor=False)


async def request(
    engine: AsyncEngine,
    settings: Settings,
    by: Viewer,
    at: tuple[float, float] = CHATELET,
    **fields: Any,
) -> int:
    body: dict[str, Any] = {
        "kind": "request",
        "category": "courses",
        "title": "Courses",
        "location": LocationIn(lon=at[0], lat=at[1]),
        "schedule": WeeklyIn(days=[1], start="10:00", end="12:00"),
    }
    body.update(fields)
    async with engine.begin() as conn:
        post = await create_and_match(
            conn, by, PostIn(**body), geocoder=DisabledGeocoder(), settings=settings
        )
    return post.id


async def proposed_to(engine: AsyncEngine, post_id: int) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT volunteer_id FROM matches WHERE post_id = :p ORDER BY score DESC, id"),
            {"p": post_id},
        )
        return [r.volunteer_id for r in rows]


async def match_of(engine: AsyncEngine, post_id: int, volunteer_id: int) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v"),
                    {"p": post_id, "v": volunteer_id},
                )
            ).scalar_one()
        )


async def propose_offer(engine: AsyncEngine, offer: int, requests: list[int]) -> None:
    """What the matcher writes when an offer finds open requests, in one transaction:
    one proposition per request to the offer's author, then the events."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO matches (post_id, volunteer_id, offer_id, batch, sensitive, score,
                                     score_breakdown, distance_m, proposed_at, deadline_at)
                SELECT r.id, o.author_id, o.id, 1, r.sensitive, 1.0, '{}', 500,
                       CAST(:now AS timestamptz), CAST(:deadline AS timestamptz)
                FROM posts o, posts r WHERE o.id = :offer AND r.id = ANY(:requests)
                """
            ),
            {
                "offer": offer,
                "requests": requests,
                "now": datetime.now(UTC),
                "deadline": datetime.now(UTC) + timedelta(days=1),
            },
        )
        await emit(conn, "match.offer_proposed", post_id=offer)
        for request in requests:
            await emit(conn, "post.offer_nearby", post_id=request, offer_id=offer)


async def mailable_volunteers(
    engine: AsyncEngine, count: int, *, spacing_m: float, daily_cap: int | None = None
) -> list[int]:
    """``count`` volunteers east of Châtelet, ``spacing_m`` apart, with real e-mail
    addresses and no quiet hours (a test must not depend on the time of day); at most
    ``daily_cap`` e-mails a day when given, else the default cap."""
    ids = [await volunteer(engine, offset(CHATELET, east_m=spacing_m * i)) for i in range(count)]
    cap, cap_value = (", daily_cap", ", :cap") if daily_cap is not None else ("", "")
    params: dict[str, Any] = {"ids": ids}
    if daily_cap is not None:
        params["cap"] = daily_cap
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET email = 'v' || id || '@example.org' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )
        await conn.execute(
            text(
                f"INSERT INTO notification_preferences (user_id, quiet_start, quiet_end{cap}) "
                f"SELECT unnest(CAST(:ids AS bigint[])), '00:00', '00:00'{cap_value}"
            ),
            params,
        )
    return ids
