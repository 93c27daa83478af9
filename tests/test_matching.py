"""The matcher: each filter, scoring order, offers, escalation, fairness.

Over 400 lines: one matcher, a test per filter and rule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from voisins.accounts.access import Viewer
from voisins.geo.geocoder import DisabledGeocoder
from voisins.locations import LocationIn
from voisins.matching.engine import escalate_due, next_step
from voisins.matching.lifecycle import accept, cancel, reopen_and_rematch
from voisins.matching.publication import create_and_match
from voisins.matching.scoring import Features, components, score
from voisins.posts.schemas import PostIn, WeeklyIn
from voisins.settings import Settings, load_settings

from .support.matching import (
    CHATELET,
    author,
    in_cell,
    match_of,
    offset,
    proposed_to,
    request,
    volunteer,
)

# The engine reads the real clock, so the tests' "now" is the real one too.
NOW = datetime.now(UTC)


def _features(**overrides: Any) -> Features:
    values: dict[str, Any] = {
        "volunteer_id": 1,
        "distance_m": 500.0,
        "skill_overlap": 0,
        "post_skills": 0,
        "available_minutes": 120,
        "post_minutes": 120,
        "language_match": True,
        "last_proposed_at": None,
        "completed": 0,
        "no_shows": 0,
    }
    values.update(overrides)
    return Features(**values)


def test_score_components_are_explainable(settings: Settings) -> None:
    result = score(_features(distance_m=300), settings, NOW)
    assert set(result.components) == {
        "distance",
        "skill",
        "availability",
        "language",
        "fairness",
        "reliability",
    }
    assert all(0 <= c.value <= 1 for c in result.components.values())
    assert result.components["distance"].weight == settings.weight_distance
    assert result.total == pytest.approx(
        sum(c.value * c.weight for c in result.components.values()), abs=1e-3
    )


def test_nearer_skilled_available_fresh_reliable_rank_higher(settings: Settings) -> None:
    def total(**overrides: Any) -> float:
        return score(_features(**overrides), settings, NOW).total

    assert total(distance_m=300) > total(distance_m=3000)
    assert total(post_skills=2, skill_overlap=2) > total(post_skills=2, skill_overlap=1)
    assert total(available_minutes=120) > total(available_minutes=30)
    assert total(last_proposed_at=NOW - timedelta(days=5)) > total(
        last_proposed_at=NOW - timedelta(hours=1)
    )
    assert total(completed=9, no_shows=0) > total(completed=1, no_shows=3)


def test_fairness_recovers_over_three_days() -> None:
    fresh = components(_features(last_proposed_at=NOW - timedelta(hours=1)), NOW)["fairness"]
    rested = components(_features(last_proposed_at=NOW - timedelta(days=4)), NOW)["fairness"]
    assert fresh == pytest.approx(1 / 72)
    assert rested == 1.0


# Each case: how the excluded volunteer differs from a good one, and what the request asks.
# Skills, languages and availability are not here: they are scored, not filtered
# (test_soft_criteria_rank_but_never_exclude), unless the request requires a language.
FILTERS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "beyond the volunteer's own radius": ({"at_cells": 5, "radius_m": 2000}, {}, {}),
    "beyond the request's radius": (
        {"at_cells": 7, "radius_m": 20000},
        {"search_radius_km": 3},
        {},
    ),
    "category not covered": ({"categories": ("bricolage_jardinage",)}, {}, {}),
    "required language not spoken": (
        {"languages": ("fr",)},
        {"languages": ["ar"], "language_required": True},
        {"languages": ("fr", "ar")},
    ),
    "paused": ({"paused": True}, {}, {}),
    "at the maximum of active matches": ({"active_matches": 2, "max_active_matches": 2}, {}, {}),
    "in cool-down after a recent match": ({"last_matched_at": NOW - timedelta(minutes=10)}, {}, {}),
    "not vetted for a sensitive post": (
        {"vetted": False},
        {"category": "visite_convivialite"},
        {"vetted": True, "categories": ("visite_convivialite",)},
    ),
}


@pytest.mark.parametrize("case", sorted(FILTERS))
async def test_each_filter_alone_excludes_a_candidate(
    engine: AsyncEngine, settings: Settings, case: str
) -> None:
    excluded_changes, request_fields, good_changes = FILTERS[case]
    excluded_changes = dict(excluded_changes)
    at_cells = excluded_changes.pop("at_cells", 1)
    base = {"categories": ("courses", "visite_convivialite")} | good_changes
    good = await volunteer(engine, in_cell(CHATELET, dx=1), **base)
    excluded = await volunteer(engine, in_cell(CHATELET, dx=at_cells), **(base | excluded_changes))
    post_id = await request(engine, settings, await author(engine), **request_fields)
    assert await proposed_to(engine, post_id) == [good], case
    assert excluded


async def test_suspended_volunteers_blocks_and_the_author_are_excluded(
    engine: AsyncEngine, settings: Settings
) -> None:
    who = await author(engine)
    good = await volunteer(engine, offset(CHATELET, east_m=200))
    suspended = await volunteer(engine, offset(CHATELET, east_m=210))
    blocked = await volunteer(engine, offset(CHATELET, east_m=220))
    blocking = await volunteer(engine, offset(CHATELET, east_m=230))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET status = 'suspended' WHERE id = :i"), {"i": suspended}
        )
        await conn.execute(
            text("INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b), (:c, :a)"),
            {"a": who.id, "b": blocked, "c": blocking},
        )
        # The author is a volunteer too: never proposed their own request.
        await conn.execute(
            text(
                "INSERT INTO volunteers (user_id, point, cell_key, cell_centre, radius_m, "
                "categories, availability) SELECT :a, point, cell_key, cell_centre, radius_m, "
                "categories, availability FROM volunteers WHERE user_id = :g"
            ),
            {"a": who.id, "g": good},
        )
    post_id = await request(engine, settings, who)
    assert await proposed_to(engine, post_id) == [good]


async def test_nearer_volunteer_ranks_first_and_breakdown_is_stored(
    engine: AsyncEngine, settings: Settings
) -> None:
    far = await volunteer(engine, in_cell(CHATELET, dy=6, at=(0.1, 0.9)))
    near = await volunteer(engine, in_cell(CHATELET, dy=1, at=(0.9, 0.1)))
    post_id = await request(engine, settings, await author(engine))
    assert await proposed_to(engine, post_id) == [near, far]
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT volunteer_id, distance_m, score_breakdown FROM matches "
                    "ORDER BY score DESC"
                )
            )
        ).all()
    assert rows[0].volunteer_id == near
    # Distances are between cell centres (one and six cells north), never exact.
    assert [r.distance_m for r in rows] == [500, 3000]
    assert set(rows[0].score_breakdown) >= {"distance", "fairness", "reliability"}
    assert (
        rows[0].score_breakdown["distance"]["value"] > rows[1].score_breakdown["distance"]["value"]
    )


async def test_skills_can_outrank_a_little_distance(
    engine: AsyncEngine, settings: Settings
) -> None:
    plain = await volunteer(engine, in_cell(CHATELET), skills=("couture",))
    expert = await volunteer(engine, in_cell(CHATELET, dx=1), skills=("couture", "retouches"))
    post_id = await request(
        engine, settings, await author(engine), skill_tags=["couture", "retouches"]
    )
    assert await proposed_to(engine, post_id) == [expert, plain]


async def test_an_offer_finds_open_requests_nearby_in_its_category(
    engine: AsyncEngine, settings: Settings
) -> None:
    requester = await author(engine)
    wanted = await request(engine, settings, requester, category="bricolage_jardinage")
    other_category = await request(engine, settings, requester, category="aide_numerique")
    far_away = await request(
        engine,
        settings,
        requester,
        at=offset(CHATELET, north_m=15000),
        category="bricolage_jardinage",
    )
    helper = await author(engine)
    offer = await request(
        engine, settings, helper, kind="offer", category="bricolage_jardinage",
        at=offset(CHATELET, east_m=500),
    )  # fmt: skip
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT post_id, volunteer_id, offer_id, status FROM matches ORDER BY id")
            )
        ).all()
    assert [(r.post_id, r.volunteer_id, r.offer_id, r.status) for r in rows] == [
        (wanted, helper.id, offer, "proposed")
    ]
    assert other_category and far_away


async def test_escalation_next_batch_then_wider_then_follow_up(
    engine: AsyncEngine, settings: Settings
) -> None:
    one_at_a_time = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        match_batch_per_needed=1,
        match_max_batches=2,
        match_widen_factor=2.0,
        match_deadline_s=3600,
    )
    first = await volunteer(engine, in_cell(CHATELET), radius_m=20000)
    second = await volunteer(engine, in_cell(CHATELET, dx=2), radius_m=20000)
    wider = await volunteer(engine, in_cell(CHATELET, dx=7), radius_m=20000)  # 3.5 km
    await volunteer(engine, in_cell(CHATELET, dx=13), radius_m=20000)  # beyond 2 × 3 km
    post_id = await request(engine, one_at_a_time, await author(engine), search_radius_km=3)
    assert await proposed_to(engine, post_id) == [first]

    async with engine.begin() as conn:
        deadline = (
            await conn.execute(
                text("SELECT match_deadline_at FROM posts WHERE id = :p"), {"p": post_id}
            )
        ).scalar_one()
        # Before the deadline nothing moves.
        assert await escalate_due(conn, one_at_a_time, now=deadline - timedelta(seconds=1)) == []
    clock = deadline + timedelta(seconds=1)
    async with engine.begin() as conn:
        [outcome] = await escalate_due(conn, one_at_a_time, now=clock)
    assert (outcome.batch, outcome.radius_m, outcome.proposed) == (2, 3000, [second])
    clock += timedelta(hours=1, seconds=1)
    async with engine.begin() as conn:
        [outcome] = await escalate_due(conn, one_at_a_time, now=clock)
    assert (outcome.batch, outcome.radius_m, outcome.proposed) == (3, 6000, [wider])
    clock += timedelta(hours=1, seconds=1)
    async with engine.begin() as conn:
        [outcome] = await escalate_due(conn, one_at_a_time, now=clock)
    assert outcome.followup is True
    async with engine.connect() as conn:
        statuses = (
            (
                await conn.execute(
                    text("SELECT status FROM matches WHERE post_id = :p ORDER BY id"),
                    {"p": post_id},
                )
            )
            .scalars()
            .all()
        )
        followups = (await conn.execute(text("SELECT post_id, reason FROM followups"))).all()
        topics = (await conn.execute(text("SELECT topic FROM outbox ORDER BY id"))).scalars().all()
    assert statuses == ["expired", "expired", "expired"]
    assert [(f.post_id, f.reason) for f in followups] == [(post_id, "no_response")]
    assert topics.count("match.proposed") == 3
    # The centre gets it on its follow-up list, and the author is told.
    assert topics[-2:] == ["post.no_response", "post.unanswered"]
    # A later sweep leaves it alone: no dead loop, no duplicate follow-up.
    async with engine.begin() as conn:
        assert await escalate_due(conn, one_at_a_time, now=clock + timedelta(days=1)) == []


async def test_no_candidate_at_all_goes_straight_to_follow_up(
    engine: AsyncEngine, settings: Settings
) -> None:
    post_id = await request(engine, settings, await author(engine))
    async with engine.connect() as conn:
        exhausted = (
            await conn.execute(
                text("SELECT match_exhausted_at FROM posts WHERE id = :p"), {"p": post_id}
            )
        ).scalar()
        followups = (await conn.execute(text("SELECT count(*) FROM followups"))).scalar()
    assert exhausted is not None
    assert followups == 1


def test_next_step_sequence(settings: Settings) -> None:
    assert next_step(0, 3000, settings) == (1, 3000)
    assert next_step(1, 3000, settings) == (2, 3000)
    # Widened to whole kilometres (1.5 × 3 km → 5 km), like every radius the matcher uses.
    assert next_step(2, 3000, settings) == (3, 5000)
    assert next_step(3, 3000, settings) is None
    assert next_step(2, 20000, settings) is None


async def test_fairness_spreads_propositions_across_equally_good_volunteers(
    engine: AsyncEngine, settings: Settings
) -> None:
    volunteers = [await volunteer(engine, CHATELET, radius_m=3000) for _ in range(30)]
    who = await author(engine)
    for index in range(100):
        # 100 identical requests over an afternoon (the clock moves a minute each).
        post_id = await request(engine, settings, who)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE volunteers "
                    "SET last_proposed_at = last_proposed_at - CAST(:shift AS interval)"
                ),
                {"shift": timedelta(minutes=1)},
            )
        assert post_id and index >= 0
    async with engine.connect() as conn:
        counts = dict(
            (
                await conn.execute(
                    text("SELECT volunteer_id, count(*) FROM matches GROUP BY volunteer_id")
                )
            ).all()
        )
    per_volunteer = [counts.get(v, 0) for v in volunteers]
    # 100 requests × 10 propositions over 30 volunteers: about 33 each.
    assert min(per_volunteer) >= 30, per_volunteer
    assert max(per_volunteer) <= 37, per_volunteer


async def test_soft_criteria_rank_but_never_exclude(
    engine: AsyncEngine, settings: Settings
) -> None:
    """A request with a skill nobody has, in a language nobody speaks, at an hour
    nobody is free, still reaches the five shopping volunteers within 1 km; those who
    match more of it come first."""
    plain = [await volunteer(engine, in_cell(CHATELET, dx=1), hours=("18:00", "20:00"))
             for _ in range(4)]  # fmt: skip
    better = await volunteer(
        engine, in_cell(CHATELET, dx=1), skills=("couture",), languages=("fr", "ar")
    )
    post_id = await request(
        engine, settings, await author(engine), skill_tags=["couture", "tricot"],
        languages=["ar"], schedule=WeeklyIn(days=[3], start="10:00", end="12:00"),
    )  # fmt: skip
    proposed = await proposed_to(engine, post_id)
    assert proposed[0] == better
    assert sorted(proposed[1:]) == sorted(plain)


async def test_weekly_availability_is_preferred_not_required(
    engine: AsyncEngine, settings: Settings
) -> None:
    evening = await volunteer(engine, in_cell(CHATELET), hours=("18:00", "21:00"))
    morning = await volunteer(engine, in_cell(CHATELET), hours=("09:00", "11:00"))
    post_id = await request(
        engine,
        settings,
        await author(engine),
        schedule=WeeklyIn(days=[3], start="10:00", end="12:00"),
    )
    assert await proposed_to(engine, post_id) == [morning, evening]


async def test_a_required_language_falls_back_to_the_full_sweep(
    engine: AsyncEngine, settings: Settings
) -> None:
    from voisins.geo.coordinates import LonLat
    from voisins.geo.grid import snap
    from voisins.matching.candidates import Request, find_candidates
    from voisins.schedule import to_multirange, weekly_slots

    # The three nearest offer the category but speak no Arabic; the fourth does.
    for dx in (0, 1, 2):
        await volunteer(engine, in_cell(CHATELET, dx=dx), languages=("fr",))
    speaker = await volunteer(engine, in_cell(CHATELET, dx=3), languages=("fr", "ar"))
    home = snap(LonLat(*CHATELET), 500)
    request_ = Request(
        post_id=0,
        author_id=0,
        category="courses",
        skill_tags=[],
        languages=["ar"],
        language_required=True,
        slots=to_multirange(weekly_slots([1], "10:00", "12:00")),
        sensitive=False,
        cell_srid=home.srid,
        cell_x=(home.ix + 0.5) * 500,
        cell_y=(home.iy + 0.5) * 500,
    )
    async with engine.connect() as conn:
        walked_only = await find_candidates(
            conn, request_, radius_m=5000, window=5, now=NOW, cooldown_s=0, walk_rows=2
        )
        default = await find_candidates(
            conn, request_, radius_m=5000, window=5, now=NOW, cooldown_s=0
        )
    assert [f.volunteer_id for f in walked_only] == [speaker]
    assert [f.volunteer_id for f in default] == [speaker]


async def test_an_offer_tells_its_author_and_each_request_author(
    engine: AsyncEngine, settings: Settings
) -> None:
    requester = await author(engine)
    wanted = await request(engine, settings, requester, category="bricolage_jardinage")
    helper = await author(engine)
    offer = await request(
        engine, settings, helper, kind="offer", category="bricolage_jardinage",
        at=in_cell(CHATELET, dx=1),
    )  # fmt: skip
    async with engine.connect() as conn:
        events = (
            await conn.execute(
                text("SELECT topic, payload FROM outbox WHERE topic LIKE '%offer%' ORDER BY id")
            )
        ).all()
    assert [(e.topic, e.payload) for e in events] == [
        ("match.offer_proposed", {"post_id": offer}),
        ("post.offer_nearby", {"post_id": wanted, "offer_id": offer}),
    ]


async def test_cancelling_one_of_two_places_asks_again_for_that_place(
    engine: AsyncEngine, settings: Settings
) -> None:
    people = [await volunteer(engine, in_cell(CHATELET)) for _ in range(3)]
    who = await author(engine)
    post_id = await request(engine, settings, who, volunteers_needed=2)
    first, second, third = sorted(await proposed_to(engine, post_id))
    assert sorted(people) == [first, second, third]
    now = datetime.now(UTC)
    for volunteer_id in (first, second):
        async with engine.begin() as conn:
            viewer = Viewer(id=volunteer_id, role="resident", second_factor=False)
            await accept(conn, viewer, await match_of(engine, post_id, volunteer_id), now=now)
    async with engine.begin() as conn:
        viewer = Viewer(id=first, role="resident", second_factor=False)
        await cancel(
            conn, viewer, await match_of(engine, post_id, first), "Empêchement", settings, now=now
        )
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT volunteer_id, status FROM matches WHERE post_id = :p "
                    "ORDER BY volunteer_id, id"
                ),
                {"p": post_id},
            )
        ).all()
        post = (
            await conn.execute(
                text("SELECT status, match_exhausted_at FROM posts WHERE id = :p"), {"p": post_id}
            )
        ).one()
        followups = (await conn.execute(text("SELECT count(*) FROM followups"))).scalar()
    # The third volunteer, withdrawn when the places were filled, is asked again; the
    # request is open, not filed as unanswered.
    assert [tuple(r) for r in rows] == [
        (first, "cancelled"),
        (second, "confirmed"),
        (third, "withdrawn"),
        (third, "proposed"),
    ]
    assert post.status == "published" and post.match_exhausted_at is None
    assert followups == 0


async def test_a_paused_volunteer_is_not_asked_the_same_request_again(
    engine: AsyncEngine, settings: Settings
) -> None:
    pausing = await volunteer(engine, in_cell(CHATELET))
    other = await volunteer(engine, in_cell(CHATELET, dx=1))
    post_id = await request(engine, settings, await author(engine))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE volunteers SET paused = true WHERE user_id = :v"), {"v": pausing}
        )
        await conn.execute(
            text("UPDATE volunteers SET paused = false WHERE user_id = :v"), {"v": pausing}
        )
        # The search starts over (as when a place reopens): the pause is not a replay.
        await reopen_and_rematch(conn, post_id, settings, datetime.now(UTC))
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT volunteer_id, status FROM matches WHERE post_id = :p ORDER BY id"),
                {"p": post_id},
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted([(pausing, "withdrawn"), (other, "proposed")])


async def test_fifty_publications_at_once_at_one_spot_all_succeed(
    engine: AsyncEngine, settings: Settings
) -> None:
    """The same volunteers are asked by 50 concurrent publications: they are locked in
    one order, so the transactions queue instead of deadlocking."""
    for _ in range(30):
        await volunteer(engine, in_cell(CHATELET), max_active_matches=20)
    residents = [await author(engine) for _ in range(50)]
    pool = create_async_engine(settings.sqlalchemy_url, pool_size=50, max_overflow=0)

    async def publish(who: Any) -> str:
        body = PostIn(
            kind="request", category="courses", title="Courses",
            location=LocationIn(lon=CHATELET[0], lat=CHATELET[1]),
            schedule=WeeklyIn(days=[1], start="10:00", end="12:00"),
        )  # fmt: skip
        try:
            async with pool.begin() as conn:
                await create_and_match(
                    conn, who, body, geocoder=DisabledGeocoder(), settings=settings
                )
        except Exception as exc:  # what the API would turn into a 500
            return type(exc).__name__
        return "created"

    try:
        outcomes = await asyncio.gather(*(publish(who) for who in residents))
    finally:
        await pool.dispose()
    assert outcomes == ["created"] * 50
    async with engine.connect() as conn:
        proposals = (await conn.execute(text("SELECT count(*) FROM matches"))).scalar()
    assert proposals == 50 * settings.match_batch_per_needed
