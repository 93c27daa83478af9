"""Statistics per centre: the figures of a month seeded with known times and answers,
the CSV export that carries the same figures, the activity map that hides small cells,
and who may read any of it.

The month is March 2024 in the Goutte d'Or (the world's centre_18). Its posts and their
match histories are written straight in SQL at known instants; the expected numbers
below are worked out by hand from that seed. March 2024 ends with the switch to summer
time (31 March, 02:00), and two posts sit a few minutes on either side of Paris midnight
at each end of the month, so the period's days must be Paris days, not UTC ones.

Over 400 lines: one month's figures worked out by hand, then each figure checked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins.geo.coordinates import LonLat
from voisins.geo.grid import Cell, cell_centre, cell_polygon, snap
from voisins.geo.sql import point_4326
from voisins.moderation.stats import END_REASONS, HOUSING_METRICS
from voisins.schedule import to_multirange, weekly_slots

from .support.entitlement import VIEWERS, headers_of
from .support.leak_scanner import Place, leaks
from .support.matching import offset, user
from .support.sign_in import half_logged_in
from .support.world import World, build_world

PARIS = ZoneInfo("Europe/Paris")
API = "/api/v1"
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}
OPERATIONS = ("statistics", "statistics.csv", "activity.geojson")

# Three public cells of the Goutte d'Or: X gets 5 posts of the month (shown on the map),
# Y gets 4 (suppressed; 3 more posts there are outside the figures), Z gets 1.
CELL_X = snap(LonLat(2.354, 48.885), 500)
CELL_Y = CELL_X._replace(iy=CELL_X.iy - 1)
CELL_Z = CELL_X._replace(ix=CELL_X.ix - 1)


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=PARIS)


def march(day: int, hour: int, minute: int = 0) -> datetime:
    return paris(3, day, hour, minute)


@dataclass
class Seed:
    """What the seed wrote: post ids by name and every exact point used."""

    posts: dict[str, int] = field(default_factory=dict)
    places: list[Place] = field(default_factory=list)
    volunteers: dict[str, int] = field(default_factory=dict)


_POST = text(
    f"""
    INSERT INTO posts (author_id, kind, category, title, schedule_kind, weekly_days,
        weekly_start, weekly_end, slots, volunteers_needed, sensitive, point, cell_key,
        cell_centre, status, closed_reason, expires_at, published_at, created_at)
    VALUES (:author, :kind, :category, :title, 'weekly', '{{1}}', :start, :end,
        :slots, :needed, :sensitive, {point_4326("lon", "lat")}, :cell_key,
        {point_4326("cell_lon", "cell_lat")}, :status, :closed_reason, :expires,
        :published, :created)
    RETURNING id
    """
)


class Seeder:
    def __init__(self, conn: AsyncConnection, seed: Seed, author: int) -> None:
        self.conn = conn
        self.seed = seed
        self.author = author
        self.in_cell: dict[Cell, int] = {}

    def _point(self, cell: Cell) -> tuple[float, float]:
        """A distinct exact point near the middle of ``cell`` (20–60 m from its centre)."""
        n = self.in_cell.get(cell, 0)
        self.in_cell[cell] = n + 1
        centre = cell_centre(cell)
        point = offset((centre.lon, centre.lat), east_m=20 + 7 * n, north_m=-30 + 9 * n)
        assert snap(LonLat(*point), 500) == cell
        return point

    async def post(
        self,
        name: str,
        cell: Cell,
        centre_id: int,
        *,
        created: datetime,
        published: datetime | None,
        kind: str = "request",
        category: str = "courses",
        status: str = "published",
        needed: int = 1,
        sensitive: bool = False,
    ) -> int:
        point = self._point(cell)
        public = cell_centre(cell)
        post_id = (
            await self.conn.execute(
                _POST,
                {
                    "author": self.author,
                    "kind": kind,
                    "category": category,
                    "title": f"Titre {name}",
                    "start": time(10),
                    "end": time(12),
                    "slots": to_multirange(weekly_slots([1], "10:00", "12:00")),
                    "needed": needed,
                    "sensitive": sensitive,
                    "lon": point[0],
                    "lat": point[1],
                    "cell_key": cell.key,
                    "cell_lon": public.lon,
                    "cell_lat": public.lat,
                    "status": status,
                    "closed_reason": "aide réalisée" if status == "closed" else None,
                    "expires": created + timedelta(days=14),
                    "published": published,
                    "created": created,
                },
            )
        ).scalar_one()
        await self.conn.execute(
            text("INSERT INTO post_centres (post_id, centre_id) VALUES (:p, :c)"),
            {"p": post_id, "c": centre_id},
        )
        self.seed.posts[name] = post_id
        self.seed.places.append(Place(name, point))
        return int(post_id)

    async def match(
        self,
        post: str,
        volunteer: str,
        *steps: tuple[str, datetime],
        sensitive: bool = False,
        reviewer: int | None = None,
    ) -> None:
        """A match through legal transitions (the guard trigger still checks them), with
        its history written at the given instants: ``steps[0]`` is the proposition."""
        volunteer_id = self.seed.volunteers[volunteer]
        proposed_at = steps[0][1]
        match_id = (
            await self.conn.execute(
                text(
                    "INSERT INTO matches (post_id, volunteer_id, sensitive, score, "
                    "score_breakdown, distance_m, proposed_at, deadline_at) "
                    "VALUES (:p, :v, :s, 0.5, '{}', 800, :at, :deadline) RETURNING id"
                ),
                {
                    "p": self.seed.posts[post],
                    "v": volunteer_id,
                    "s": sensitive,
                    "at": proposed_at,
                    "deadline": proposed_at + timedelta(days=1),
                },
            )
        ).scalar_one()
        previous: str | None = None
        for status, at in steps:
            if previous is not None:
                await self.conn.execute(
                    text(
                        "UPDATE matches SET status = :s, reviewed_by = :r, review_reason = :rr, "
                        "closed_by = :cb, close_reason = :cr WHERE id = :id"
                    ),
                    {
                        "s": status,
                        "r": reviewer if status in ("approved", "rejected") else None,
                        "rr": "Vu au centre" if status in ("approved", "rejected") else None,
                        "cb": volunteer_id if status == "cancelled" else None,
                        "cr": "Empêchement" if status == "cancelled" else None,
                        "id": match_id,
                    },
                )
            await self.conn.execute(
                text(
                    "INSERT INTO match_history (match_id, from_status, to_status, at) "
                    "VALUES (:m, :f, :t, :at)"
                ),
                {"m": match_id, "f": previous, "t": status, "at": at},
            )
            previous = status


async def seed_march(engine: AsyncEngine, world: World) -> Seed:
    """The month, post by post (R: requests, O: offers of the Goutte d'Or in March)."""
    seed = Seed()
    c18, c20 = world.centre_18, world.centre_20
    async with engine.begin() as conn:
        # The history below is written at known instants instead of the trigger's clock
        # (rolled back with the transaction if anything fails).
        await conn.execute(text("ALTER TABLE matches DISABLE TRIGGER matches_record"))
        author = await user(conn, "Auteur")
        for name in ("V1", "V2", "V3", "V4", "V5", "V6"):
            seed.volunteers[name] = await user(conn, name)
        s = Seeder(conn, seed, author)

        # R1: published on the 3rd, accepted by V4 10 min later and cancelled; published
        # again on the 4th at 10:00 and accepted by V1 at 12:30: 150 min from its latest
        # publication (V4's earlier acceptance is before it and does not count).
        await s.post(
            "R1", CELL_X, c18, created=march(3, 9), published=march(4, 10), status="closed"
        )
        await s.match(
            "R1",
            "V4",
            ("proposed", march(3, 9)),
            ("accepted", march(3, 9, 10)),
            ("confirmed", march(3, 9, 10)),
            ("cancelled", march(3, 10)),
        )
        await s.match(
            "R1",
            "V1",
            ("proposed", march(4, 10)),
            ("accepted", march(4, 12, 30)),
            ("confirmed", march(4, 12, 30)),
            ("completed", march(5, 18)),
        )
        # R2: accepted by V2 after 30 min, later cancelled: still matched.
        await s.post("R2", CELL_X, c18, created=march(5, 9), published=march(5, 9))
        await s.match(
            "R2",
            "V2",
            ("proposed", march(5, 9)),
            ("accepted", march(5, 9, 30)),
            ("confirmed", march(5, 9, 30)),
            ("cancelled", march(6, 8)),
        )
        # R3: a sensitive visit accepted by V1 after 120 min, then rejected by the social
        # worker: a volunteer did say yes, so matched. V4 declined it.
        await s.post(
            "R3",
            CELL_Y,
            c18,
            created=march(10, 14),
            published=march(10, 14),
            category="visite_convivialite",
            sensitive=True,
        )
        await s.match(
            "R3",
            "V1",
            ("proposed", march(10, 14)),
            ("accepted", march(10, 16)),
            ("pending_review", march(10, 16)),
            ("rejected", march(11, 9)),
            sensitive=True,
            reviewer=world.worker_18.id,
        )
        await s.match("R3", "V4", ("proposed", march(10, 14)), ("declined", march(10, 14, 20)))
        # R4: two places; V3 accepts after 60 min (the first), V2 after 200.
        await s.post(
            "R4",
            CELL_Y,
            c18,
            created=march(20, 7, 50),
            published=march(20, 8),
            category="aide_numerique",
            status="matched",
            needed=2,
        )
        await s.match(
            "R4",
            "V3",
            ("proposed", march(20, 8)),
            ("accepted", march(20, 9)),
            ("confirmed", march(20, 9)),
        )
        await s.match(
            "R4",
            "V2",
            ("proposed", march(20, 8)),
            ("accepted", march(20, 11, 20)),
            ("confirmed", march(20, 11, 20)),
        )
        # R5: still open; V4 declined it. R6: created 10 min after Paris midnight on the
        # 1st (23:10 UTC on 29 February), expired unanswered. R7: 23:30 on the 31st in
        # summer time (21:30 UTC), withdrawn unanswered.
        await s.post("R5", CELL_X, c18, created=march(15, 10), published=march(15, 10))
        await s.match("R5", "V4", ("proposed", march(15, 10)), ("declined", march(15, 12)))
        await s.post(
            "R6",
            CELL_Y,
            c18,
            created=march(1, 0, 10),
            published=march(1, 0, 10),
            category="transport_accompagnement",
            status="expired",
        )
        await s.post(
            "R7",
            CELL_Z,
            c18,
            created=march(31, 23, 30),
            published=march(31, 23, 30),
            status="withdrawn",
        )
        # Offers.
        await s.post("O1", CELL_X, c18, created=march(2, 11), published=march(2, 11), kind="offer")
        await s.post(
            "O2",
            CELL_X,
            c18,
            created=march(12, 17),
            published=march(12, 17),
            kind="offer",
            category="bricolage_jardinage",
        )
        await s.post(
            "O3",
            CELL_Y,
            c18,
            created=march(25, 9),
            published=march(25, 9),
            kind="offer",
            status="closed",
        )

        # Outside the figures: never published (a draft, one waiting for review), just
        # before and just after the month in Paris time, and another centre's request.
        await s.post("draft", CELL_Y, c18, created=march(8, 10), published=None, status="draft")
        await s.post(
            "in_review", CELL_X, c18, created=march(9, 10), published=None, status="in_review"
        )
        feb = paris(2, 29, 23, 30)  # 22:30 UTC on 29 February
        await s.post("before", CELL_Y, c18, created=feb, published=feb, status="matched")
        await s.match(
            "before",
            "V6",
            ("proposed", feb),
            ("accepted", feb + timedelta(minutes=5)),
            ("confirmed", feb + timedelta(minutes=5)),
        )
        april = paris(4, 1, 0, 30)  # 22:30 UTC on 31 March
        await s.post("after", CELL_Y, c18, created=april, published=april)
        belleville = snap(LonLat(2.385, 48.871), 500)
        await s.post("other_centre", belleville, c20, created=march(12, 9), published=march(12, 9))
        await s.match(
            "other_centre",
            "V5",
            ("proposed", march(12, 9)),
            ("accepted", march(12, 9, 1)),
            ("confirmed", march(12, 9, 1)),
        )
        await conn.execute(text("ALTER TABLE matches ENABLE TRIGGER matches_record"))
    return seed


async def get(
    client: AsyncTestClient,
    world: World,
    viewer: str,
    operation: str,
    centre_id: int,
    **params: str,
) -> Any:
    client.cookies.clear()
    return await client.get(
        f"{API}/centres/{centre_id}/{operation}",
        params=params,
        headers=headers_of(world, viewer),
    )


async def ok_json(response: Any) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


async def audit_rows(engine: AsyncEngine, after_id: int) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT actor_id, action, object_type, object_id, outcome FROM audit_log "
                "WHERE id > :after ORDER BY id"
            ),
            {"after": after_id},
        )
        return [tuple(r) for r in rows]


async def last_audit_id(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log"))).scalar_one()
        )


# ---------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------


def polygon(cell: Cell) -> list[list[float]]:
    return [[lon, lat] for lon, lat in cell_polygon(cell).exterior.coords]


async def test_the_figures_of_a_seeded_month(client: AsyncTestClient, engine: AsyncEngine) -> None:
    world = await build_world(client, engine)
    seed = await seed_march(engine, world)
    posts = seed.posts
    before = await last_audit_id(engine)

    stats = await ok_json(
        await get(client, world, "worker_18", "statistics", world.centre_18, **MARCH)
    )
    assert stats["centre_id"] == world.centre_18
    assert stats["centre_name"] == "Centre social Goutte d'Or"
    assert stats["period"] == {
        "from": "2024-03-01",
        "to": "2024-03-31",
        "days": 31,
        "timezone": "Europe/Paris",
    }
    # R1–R7 are the month's requests (the draft, the one in review, 29 February,
    # 1 April and Belleville's are not); O1–O3 its offers. A volunteer accepted R1, R2,
    # R3 and R4: 4 of 7. Minutes from the latest publication to the first acceptance
    # after it: R1 150, R2 30, R3 120, R4 60 → 30, 60, 120, 150 → median (60 + 120) / 2.
    # Volunteers who accepted: V1 (R1, R3), V2 (R2, R4), V3 (R4), V4 (R1, then
    # cancelled) — not V5 (Belleville) nor V6 (February).
    assert stats["totals"] == {
        "requests": 7,
        "offers": 3,
        "requests_matched": 4,
        "requests_unmatched": 3,
        "matched_share": round(4 / 7, 4),
        "median_minutes_to_first_acceptance": 90.0,
        "active_volunteers": 4,
    }
    assert stats["totals"]["matched_share"] == 0.5714
    by_category = {c["category"]: c for c in stats["categories"]}
    assert len(by_category) == 10  # every category, zeros included
    figures = {
        c: (v["requests"], v["offers"], v["requests_matched"])
        for c, v in by_category.items()
        if v["requests"] or v["offers"]
    }
    assert figures == {
        "courses": (4, 2, 2),  # R1 R2 R5 R7; O1 O3; R1 R2
        "visite_convivialite": (1, 0, 1),  # R3
        "aide_numerique": (1, 0, 1),  # R4
        "transport_accompagnement": (1, 0, 0),  # R6
        "bricolage_jardinage": (0, 1, 0),  # O2
    }
    assert by_category["courses"]["label_fr"] == "Courses"
    assert by_category["courses"]["label_en"] == "Shopping"

    # Unanswered requests, oldest first: public cell, no place, no author.
    cell_y, cell_x = cell_centre(CELL_Y), cell_centre(CELL_X)
    assert stats["unmatched"] == [
        {
            "id": posts["R6"],
            "category": "transport_accompagnement",
            "created_on": "2024-03-01",
            "status": "expired",
            "cell": {"key": CELL_Y.key, "lon": cell_y.lon, "lat": cell_y.lat},
            "title": "Titre R6",
        },
        {
            "id": posts["R5"],
            "category": "courses",
            "created_on": "2024-03-15",
            "status": "published",
            "cell": {"key": CELL_X.key, "lon": cell_x.lon, "lat": cell_x.lat},
            "title": "Titre R5",
        },
        {
            "id": posts["R7"],
            "category": "courses",
            "created_on": "2024-03-31",
            "status": "withdrawn",
            "cell": {
                "key": CELL_Z.key,
                "lon": cell_centre(CELL_Z).lon,
                "lat": cell_centre(CELL_Z).lat,
            },
            "title": "Titre R7",
        },
    ]
    assert not leaks(stats, seed.places)
    # An administrator reads the same figures, without the titles (casework text).
    by_admin = await ok_json(
        await get(client, world, "admin", "statistics", world.centre_18, **MARCH)
    )
    assert by_admin["totals"] == stats["totals"]
    assert [u["title"] for u in by_admin["unmatched"]] == [None, None, None]
    assert [u["id"] for u in by_admin["unmatched"]] == [u["id"] for u in stats["unmatched"]]

    # Belleville's own month: its one request, accepted after a minute.
    belleville = await ok_json(
        await get(client, world, "worker_20", "statistics", world.centre_20, **MARCH)
    )
    assert belleville["totals"] == {
        "requests": 1,
        "offers": 0,
        "requests_matched": 1,
        "requests_unmatched": 0,
        "matched_share": 1.0,
        "median_minutes_to_first_acceptance": 1.0,
        "active_volunteers": 1,
    }
    # A month without posts: zeros, and no share or median rather than a made-up one.
    empty = await ok_json(
        await get(
            client,
            world,
            "worker_18",
            "statistics",
            world.centre_18,
            **{"from": "2023-03-01", "to": "2023-03-31"},
        )
    )
    assert empty["totals"] == {
        "requests": 0,
        "offers": 0,
        "requests_matched": 0,
        "requests_unmatched": 0,
        "matched_share": None,
        "median_minutes_to_first_acceptance": None,
        "active_volunteers": 0,
    }
    assert empty["unmatched"] == []

    # Every read is in the audit log, with who read which centre's figures.
    assert await audit_rows(engine, before) == [
        (world.worker_18.id, "statistics.read", "centre", world.centre_18, "allowed"),
        (world.admin.id, "statistics.read", "centre", world.centre_18, "allowed"),
        (world.worker_20.id, "statistics.read", "centre", world.centre_20, "allowed"),
        (world.worker_18.id, "statistics.read", "centre", world.centre_18, "allowed"),
    ]


async def test_the_csv_export_carries_the_same_figures(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    await seed_march(engine, world)
    stats = await ok_json(
        await get(client, world, "worker_18", "statistics", world.centre_18, **MARCH)
    )
    before = await last_audit_id(engine)

    response = await get(client, world, "worker_18", "statistics.csv", world.centre_18, **MARCH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="statistiques-centre-{world.centre_18}-2024-03-01-2024-03-31.csv"'
    )
    assert response.content.startswith("\ufeff".encode())  # Excel reads UTF-8 with it
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Centre", "Du", "Au", "Indicateur", "Catégorie", "Valeur"]
    assert {tuple(r[:3]) for r in rows[1:]} == {
        ("Centre social Goutte d'Or", "2024-03-01", "2024-03-31")
    }
    values = {(r[3], r[4]): r[5] for r in rows[1:]}
    assert len(values) == len(rows) - 1  # one row per metric and category
    everything = "Toutes catégories"
    totals = stats["totals"]
    assert values == {
        ("Demandes publiées", everything): "7",
        ("Offres publiées", everything): "3",
        ("Demandes mises en relation", everything): "4",
        ("Demandes sans mise en relation", everything): "3",
        ("Part des demandes mises en relation (%)", everything): "57,1",
        ("Délai médian jusqu'à la première acceptation (minutes)", everything): "90,0",
        ("Bénévoles actifs", everything): "4",
        **{
            (metric, c["label_fr"]): str(c[key])
            for c in stats["categories"]
            for metric, key in (
                ("Demandes publiées", "requests"),
                ("Offres publiées", "offers"),
                ("Demandes mises en relation", "requests_matched"),
            )
        },
        # No housing pair in this seed (tests/test_housing_followups_stats.py counts them).
        **{
            (label_fr, "Hébergement intergénérationnel"): (
                "" if key == "average_length_days" else "0"
            )
            for key, (label_fr, _) in HOUSING_METRICS.items()
        },
        **{
            ("Binômes de logement terminés, par motif", label_fr): "0"
            for label_fr, _ in END_REASONS.values()
        },
    }
    # ...which are the JSON's figures.
    assert values[("Demandes publiées", everything)] == str(totals["requests"])
    assert float(
        values[("Part des demandes mises en relation (%)", everything)].replace(",", ".")
    ) == round(totals["matched_share"] * 100, 1)
    assert values[("Demandes publiées", "Courses")] == "4"
    assert values[("Offres publiées", "Bricolage et jardinage")] == "1"

    # English on request, or by the viewer's own locale: commas, decimal points.
    english = await get(
        client, world, "worker_18", "statistics.csv", world.centre_18, lang="en", **MARCH
    )
    assert english.status_code == 200, english.text
    assert "statistics-centre-" in english.headers["content-disposition"]
    en_rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert en_rows[0] == ["Centre", "From", "To", "Metric", "Category", "Value"]
    en_values = {(r[3], r[4]): r[5] for r in en_rows[1:]}
    assert en_values[("Share of requests matched (%)", "All categories")] == "57.1"
    assert en_values[("Median time to first acceptance (minutes)", "All categories")] == "90.0"
    assert en_values[("Requests published", "Shopping")] == "4"
    assert len(en_values) == len(values)
    client.cookies.clear()
    switched = await client.patch(
        f"{API}/me", json={"locale": "en"}, headers=world.worker_18.headers
    )
    assert switched.status_code == 200, switched.text
    by_locale = await get(client, world, "worker_18", "statistics.csv", world.centre_18, **MARCH)
    assert by_locale.content == english.content
    forced = await get(
        client, world, "worker_18", "statistics.csv", world.centre_18, lang="fr", **MARCH
    )
    assert forced.content == response.content

    # A month without requests leaves the share and the median empty, not zero.
    empty = await get(
        client,
        world,
        "worker_18",
        "statistics.csv",
        world.centre_18,
        lang="fr",
        **{"from": "2023-03-01", "to": "2023-03-31"},
    )
    assert empty.status_code == 200, empty.text
    empty_values = {
        (r[3], r[4]): r[5]
        for r in csv.reader(io.StringIO(empty.content.decode("utf-8-sig")), delimiter=";")
    }
    assert empty_values[("Part des demandes mises en relation (%)", everything)] == ""
    assert (
        empty_values[("Délai médian jusqu'à la première acceptation (minutes)", everything)] == ""
    )
    assert empty_values[("Demandes publiées", everything)] == "0"

    assert [row[1] for row in await audit_rows(engine, before)] == ["statistics.export"] * 5


async def test_the_activity_map_shows_cells_of_five_posts_or_more_only(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    seed = await seed_march(engine, world)
    before = await last_audit_id(engine)

    response = await get(client, world, "worker_18", "activity.geojson", world.centre_18, **MARCH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["min_items_per_cell"] == 5
    # X holds 5 posts of the month (R1 R2 R5 O1 O2; the post in review does not count):
    # shown. Y holds 4 (R3 R4 R6 O3) and Z 1 (R7): left out — not even as an empty cell.
    assert body["features"] == [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [polygon(CELL_X)]},
            "properties": {"requests": 3, "offers": 2, "matched": 2},
        }
    ]
    ring = body["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert all(round(v, 6) == v for corner in ring for v in corner)
    assert 2 < ring[0][0] < 3 and 48 < ring[0][1] < 49  # longitude first
    for hidden in (CELL_Y, CELL_Z):
        assert hidden.key not in response.text
    assert not leaks(body, seed.places)

    # With the day before and the day after, Y reaches 6 (the posts of 29 February and
    # 1 April, Paris time) and appears; the draft there still does not count.
    wider = await ok_json(
        await get(
            client,
            world,
            "worker_18",
            "activity.geojson",
            world.centre_18,
            **{"from": "2024-02-29", "to": "2024-04-01"},
        )
    )
    shown = {
        tuple(map(tuple, f["geometry"]["coordinates"][0])): f["properties"]
        for f in wider["features"]
    }
    assert shown == {
        tuple(map(tuple, polygon(CELL_X))): {"requests": 3, "offers": 2, "matched": 2},
        # R3 R4 R6 + 29 February + 1 April; O3; accepted: R3 R4 and 29 February's.
        tuple(map(tuple, polygon(CELL_Y))): {"requests": 5, "offers": 1, "matched": 3},
    }
    assert not leaks(wider, seed.places)
    assert [row[1] for row in await audit_rows(engine, before)] == ["statistics.map"] * 2


# ---------------------------------------------------------------------------------------
# Who may read them, and what is refused
# ---------------------------------------------------------------------------------------


async def test_only_the_centres_social_workers_and_administrators_read_its_statistics(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    await seed_march(engine, world)
    c18 = world.centre_18
    allowed = {"worker_18", "admin"}
    for operation in OPERATIONS:
        for viewer in VIEWERS:
            response = await get(client, world, viewer, operation, c18, **MARCH)
            if viewer in allowed:
                assert response.status_code == 200, (operation, viewer, response.text)
                continue
            expected = 401 if viewer == "anonymous" else 403
            assert response.status_code == expected, (operation, viewer, response.text)
            body = response.json()
            assert set(body) == {"error", "detail", "fields"}
            assert "Titre" not in response.text and "requests" not in body

    # Staff who have not proven their second factor: refused, whichever centre.
    for half in (
        await half_logged_in(client, engine, centre_ids=(c18,)),
        await half_logged_in(client, engine, role="admin"),
    ):
        for operation in OPERATIONS:
            client.cookies.clear()
            response = await client.get(
                f"{API}/centres/{c18}/{operation}", params=MARCH, headers=half.headers
            )
            assert response.status_code == 403, response.text
            assert "second factor" in response.json()["detail"]

    # A partner centre's social workers act for the centre: they read its statistics
    # (with the titles), until the partnership ends.
    partner_url = f"{API}/centres/{c18}/partners"
    client.cookies.clear()
    made = await client.post(
        partner_url, json={"partner_id": world.centre_20}, headers=world.admin.headers
    )
    assert made.status_code == 200, made.text
    for operation in OPERATIONS:
        assert (await get(client, world, "worker_20", operation, c18, **MARCH)).status_code == 200
    by_partner = await ok_json(await get(client, world, "worker_20", "statistics", c18, **MARCH))
    assert by_partner["unmatched"][0]["title"] == "Titre R6"
    client.cookies.clear()
    ended = await client.delete(f"{partner_url}/{world.centre_20}", headers=world.admin.headers)
    assert ended.status_code == 200, ended.text
    for operation in OPERATIONS:
        assert (await get(client, world, "worker_20", operation, c18, **MARCH)).status_code == 403

    # A centre that does not exist.
    for operation in OPERATIONS:
        missing = await get(client, world, "admin", operation, 999_999)
        assert missing.status_code == 404, missing.text


async def test_a_bad_period_is_refused_naming_the_field(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    c18 = world.centre_18
    for operation in OPERATIONS:
        for params, named in (
            ({"from": "2024-03-31", "to": "2024-03-01"}, {"from", "to"}),
            ({"from": "2023-01-01", "to": "2024-01-02"}, {"from", "to"}),  # 367 days
            ({"from": "2024-13-01"}, {"from"}),
            ({"to": "demain"}, {"to"}),
            # The calendar's edges: the default start or the day after would overflow.
            ({"to": "9999-12-31"}, {"to"}),
            ({"to": "0001-01-05"}, {"to"}),
            ({"from": "9999-12-30", "to": "9999-12-31"}, {"from"}),
        ):
            response = await get(client, world, "worker_18", operation, c18, **params)
            assert response.status_code in (400, 422), response.text
            assert response.status_code == 422, (operation, params, response.text)
            assert set(response.json()["fields"]) == named, response.json()
    wrong_lang = await get(client, world, "worker_18", "statistics.csv", c18, lang="de")
    assert wrong_lang.status_code == 422 and "lang" in wrong_lang.json()["fields"]

    # 2024 is a leap year: its 366 days are one period.
    year = await ok_json(
        await get(
            client,
            world,
            "worker_18",
            "statistics",
            c18,
            **{"from": "2024-01-01", "to": "2024-12-31"},
        )
    )
    assert year["period"]["days"] == 366

    # By default: the last 30 days, today (Paris) included — the world's posts of today.
    today = datetime.now(PARIS).date()
    default = await ok_json(await get(client, world, "worker_18", "statistics", c18))
    assert default["period"] == {
        "from": (today - timedelta(days=29)).isoformat(),
        "to": today.isoformat(),
        "days": 30,
        "timezone": "Europe/Paris",
    }
    # Alice's request and draft (not counted), Odile's visit: two published requests.
    assert default["totals"]["requests"] == 2
    only_to = await ok_json(
        await get(client, world, "worker_18", "statistics", c18, to="2024-03-31")
    )
    assert (only_to["period"]["from"], only_to["period"]["days"]) == ("2024-03-02", 30)
    ten_days_ago = (today - timedelta(days=9)).isoformat()
    only_from = await ok_json(
        await get(client, world, "worker_18", "statistics", c18, **{"from": ten_days_ago})
    )
    assert (only_from["period"]["to"], only_from["period"]["days"]) == (today.isoformat(), 10)
