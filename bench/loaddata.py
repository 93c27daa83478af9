"""The demo neighbourhood enlarged, for the HTTP benchmarks (bench/load.py, bench/api.py).

``voisins demo`` (two centres sociaux in Paris 18e, their staff, 28 people, 18 posts),
then, around the same spot (``VOISINS_HOME_LON/LAT``, la Goutte d'Or):

- volunteers (100,000 by default) with the attributes of bench/synthetic.py — radius,
  categories, skills, languages, weekly availability, vetting, load — living at
  gaussian distances (σ 2.5 km) from the neighbourhood;
- open posts (10,000): 80 % requests as bench/synthetic.py draws them (moved from
  Châtelet to within 3 km of the neighbourhood), 20 % offers, by residents who can log
  in (one resident writes two posts);
- real propositions: the application's own matcher (``match_post``, committed) runs on
  the first ``matched`` requests, so volunteers have propositions to list;
- an inbox: one notification per proposition (what the worker's fan-out would write);
- signed-in people: ``sessions`` rows for many distinct volunteers (those with
  propositions first) and residents, whose bearer tokens the load tool sends.

Rows go in through binary COPY (bench/synthetic.py's style); secondary indexes of the
volunteers are rebuilt after the load, then everything is VACUUM ANALYZEd.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from bench import synthetic
from bench.databases import CHUNK, secondary_indexes
from bench.progress import log
from voisins.accounts.tokens import token_hash
from voisins.db import create_engine
from voisins.demo import load_demo
from voisins.matching.engine import match_post
from voisins.settings import Settings

SIGMA_KM = 2.5  # volunteers' spread around the neighbourhood
POSTS_RADIUS_KM = 3.0
OFFER_SHARE = 0.2
SESSION_TTL = timedelta(days=2)

POST_COLUMNS = (
    "author_id", "kind", "category", "skill_tags", "title", "description", "schedule_kind",
    "starts_at", "ends_at", "weekly_days", "weekly_start", "weekly_end", "slots",
    "volunteers_needed", "languages", "urgency", "beneficiary_flags", "sensitive",
    "search_radius_m", "point", "cell_key", "cell_centre", "status", "expires_at",
    "published_at", "language_required",
)  # fmt: skip


@dataclass(frozen=True)
class Size:
    volunteers: int
    posts: int
    matched: int  # requests the real matcher runs on
    volunteer_sessions: int
    resident_sessions: int


FULL = Size(100_000, 10_000, 1_000, 2_000, 1_000)
QUICK = Size(10_000, 1_000, 100, 300, 200)


@dataclass
class Dataset:
    volunteers: int
    posts: int
    propositions: int
    notifications: int
    volunteer_tokens: list[str]
    resident_tokens: list[str]
    home: tuple[float, float]
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "volunteers": self.volunteers,
            "open_posts": self.posts,
            "propositions": self.propositions,
            "notifications": self.notifications,
            "signed_in_volunteers": len(self.volunteer_tokens),
            "signed_in_residents": len(self.resident_tokens),
            "build_s": round(self.seconds, 1),
        }


class Neighbourhood(synthetic.Population):
    """bench/synthetic.py's volunteers, living around one spot, able to log in."""

    home: tuple[float, float] = (2.354, 48.886)

    def rows(self, first_id: int, n: int) -> tuple[list[tuple[object, ...]], list[tuple]]:
        users, vols = super().rows(first_id, n)
        rng = np.random.default_rng([self.seed, first_id, 3])
        lat = self.home[1] + rng.normal(0.0, SIGMA_KM, n) / 111.32
        lon = self.home[0] + rng.normal(0.0, SIGMA_KM, n) / (
            111.32 * math.cos(math.radians(self.home[1]))
        )
        lon, lat = np.round(lon, 7), np.round(lat, 7)
        keys, clon, clat = self.grid.cells(lon, lat)
        points = synthetic.ewkb_points(lon, lat)
        centres = synthetic.ewkb_points(clon, clat)
        vols = [(v[0], points[i], keys[i], centres[i], *v[4:]) for i, v in enumerate(vols)]
        # Not assisted: these people log in (e-mail and a password hash nobody can match).
        users = [(*u[:2], False, *u[3:], f"v{u[0]}@bench.invalid", "!") for u in users]
        return users, vols


async def load_volunteers(
    raw: asyncpg.Connection, population: Neighbourhood, first_id: int, n: int
) -> None:
    """COPY in chunks; the volunteers' secondary indexes are dropped first and built
    once after (as bench/match.py does)."""
    indexes = await secondary_indexes(raw, "volunteers")
    for name, _ in indexes:
        await raw.execute(f'DROP INDEX "{name}"')
    for start, count in synthetic.id_chunks(first_id, n, CHUNK):
        users, vols = population.rows(start, count)
        await raw.copy_records_to_table(
            "users", records=users, columns=(*synthetic.USER_COLUMNS, "email", "password_hash")
        )
        await raw.copy_records_to_table(
            "volunteers", records=vols, columns=synthetic.VOLUNTEER_COLUMNS
        )
    await raw.execute(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"
    )
    await raw.execute("SET maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        await raw.execute(definition)
    await raw.execute("VACUUM ANALYZE volunteers")


async def add_residents(conn: asyncpg.Connection, n: int, now: datetime) -> list[int]:
    first = int(await conn.fetchval("SELECT max(id) FROM users")) + 1
    rows = [
        (uid, f"h{uid}", False, "resident", now, f"h{uid}@bench.invalid", "!")
        for uid in range(first, first + n)
    ]
    await conn.copy_records_to_table(
        "users", records=rows, columns=(*synthetic.USER_COLUMNS, "email", "password_hash")
    )
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"
    )
    return [r[0] for r in rows]


def _post_rows(
    specs: list[synthetic.RequestSpec],
    authors: list[int],
    grid: synthetic.Grid,
    home: tuple[float, float],
    now: datetime,
    seed: int,
) -> list[tuple[object, ...]]:
    rng = np.random.default_rng([seed, 17])
    dlon, dlat = home[0] - synthetic.CHATELET[0], home[1] - synthetic.CHATELET[1]
    lon = np.array([s.lon + dlon for s in specs])
    lat = np.array([s.lat + dlat for s in specs])
    keys, clon, clat = grid.cells(lon, lat)
    points = synthetic.ewkb_points(lon, lat)
    centres = synthetic.ewkb_points(clon, clat)
    offers = rng.random(len(specs)) < OFFER_SHARE
    rows = []
    for i, s in enumerate(specs):
        offer = bool(offers[i])
        rows.append(
            (
                authors[i % len(authors)],
                "offer" if offer else "request",
                s.category,
                s.skill_tags,
                f"{'Offre' if offer else 'Demande'} de voisinage {i}",
                "",
                s.schedule_kind,
                s.starts_at,
                s.ends_at,
                s.weekly_days,
                synthetic.clock_time(s.weekly_start),
                synthetic.clock_time(s.weekly_end),
                synthetic.to_multirange(s.slots),
                s.volunteers_needed,
                s.languages,
                s.urgency,
                [] if offer else s.beneficiary_flags,
                False if offer else s.sensitive,
                s.search_radius_m,
                points[i],
                keys[i],
                centres[i],
                "published",
                now + timedelta(days=14),
                now - timedelta(minutes=int(rng.integers(1, 7 * 24 * 60))),
                False if offer else s.language_required,
            )
        )
    return rows


async def sessions(conn: asyncpg.Connection, user_ids: list[int], now: datetime) -> list[str]:
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    await conn.copy_records_to_table(
        "sessions",
        records=[
            (token_hash(t), uid, now + SESSION_TTL) for t, uid in zip(tokens, user_ids, strict=True)
        ],
        columns=("token_hash", "user_id", "expires_at"),
    )
    return tokens


async def build(dsn: str, settings: Settings, size: Size, seed: int = 20_241_205) -> Dataset:
    """Fill the (migrated, empty) database at ``dsn``; ``settings`` point at it."""
    t0 = time.perf_counter()
    engine = create_engine(settings, pool_size=1)
    try:
        await load_demo(engine, settings)
        log("demo neighbourhood loaded")
        raw = await asyncpg.connect(dsn)
        try:
            await synthetic.register_geometry_codec(raw)
            await raw.execute("SET synchronous_commit = off")
            now = synthetic.utcnow()
            staff_id = int(
                await raw.fetchval("SELECT id FROM users WHERE role = 'social_worker' LIMIT 1")
            )
            grid = synthetic.Grid(settings.grid_cell_m)
            population = Neighbourhood(seed, grid, staff_id, now)
            population.home = (settings.home_lon, settings.home_lat)
            first_id = int(await raw.fetchval("SELECT max(id) FROM users")) + 1
            await load_volunteers(raw, population, first_id, size.volunteers)
            residents = await add_residents(raw, max(size.posts // 2, size.resident_sessions), now)
            specs = synthetic.request_specs(seed, size.posts, now)
            rows = _post_rows(specs, residents, grid, population.home, now, seed)
            await raw.copy_records_to_table("posts", records=rows, columns=POST_COLUMNS)
            await raw.execute("ANALYZE posts")
            log(f"{size.volunteers:,} volunteers, {len(rows):,} open posts")
            request_ids = [
                r["id"]
                for r in await raw.fetch(
                    "SELECT id FROM posts WHERE kind = 'request' AND status = 'published' "
                    "AND title LIKE 'Demande de voisinage%' ORDER BY id LIMIT $1",
                    size.matched,
                )
            ]
        finally:
            await raw.close()
        # Real propositions, by the application's own matcher, each request committed.
        for post_id in request_ids:
            async with engine.begin() as conn:
                await match_post(conn, post_id, settings, now=now)
        raw = await asyncpg.connect(dsn)
        try:
            await raw.execute("SET synchronous_commit = off")
            # What the worker's fan-out writes: one inbox row per proposition (and the
            # outbox event it points to, already handled).
            await raw.execute(
                """
                WITH m AS (
                    SELECT id, volunteer_id, post_id FROM matches WHERE status = 'proposed'
                ), e AS (
                    INSERT INTO outbox (topic, payload, dispatched_at, processed_at)
                    SELECT 'bench.seed', jsonb_build_object('match_id', m.id), now(), now()
                    FROM m RETURNING id, CAST(payload ->> 'match_id' AS bigint) AS match_id
                )
                INSERT INTO notifications (user_id, event_id, kind, title, body, link)
                SELECT m.volunteer_id, e.id, 'match.proposed', 'Nouvelle proposition',
                       'Un voisin a besoin d''aide près de chez vous.',
                       '/propositions/' || m.id
                FROM e JOIN m ON m.id = e.match_id
                """
            )
            propositions = int(await raw.fetchval("SELECT count(*) FROM matches"))
            notifications = int(await raw.fetchval("SELECT count(*) FROM notifications"))
            log(f"{propositions:,} propositions by the matcher, {notifications:,} notifications")
            proposed = [
                r["volunteer_id"]
                for r in await raw.fetch(
                    "SELECT DISTINCT volunteer_id FROM matches ORDER BY volunteer_id"
                )
            ]
            others = range(first_id, first_id + size.volunteers)
            rng = np.random.default_rng([seed, 23])
            chosen = proposed[: size.volunteer_sessions]
            rest = size.volunteer_sessions - len(chosen)
            if rest > 0:
                taken = set(chosen)
                pool = [v for v in rng.choice(others, rest * 2, replace=False).tolist()]
                chosen += [v for v in pool if v not in taken][:rest]
            volunteer_tokens = await sessions(raw, chosen, now)
            resident_tokens = await sessions(raw, residents[: size.resident_sessions], now)
            for table in ("sessions", "matches", "notifications", "outbox", "posts", "users"):
                await raw.execute(f"VACUUM ANALYZE {table}")
        finally:
            await raw.close()
    finally:
        await engine.dispose()
    return Dataset(
        volunteers=size.volunteers,
        posts=len(rows),
        propositions=propositions,
        notifications=notifications,
        volunteer_tokens=volunteer_tokens,
        resident_tokens=resident_tokens,
        home=population.home,
        seconds=time.perf_counter() - t0,
    )
