"""A new or updated volunteer profile is offered the open requests nearby that fit
(issue 12, "Posts"): the matcher run from the volunteer's side, by the worker, from the
outbox row the profile change wrote — with every rule of the request's own search
(public cells, reach, category, vetting, language, blocks, quota, never asked twice)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.access import Viewer
from voisins.matching import lifecycle
from voisins.matching.profile_change import match_volunteer
from voisins.settings import Settings

from .support.burst_worker import deliver_pending
from .support.matching import CHATELET, author, in_cell, match_of, request, volunteer
from .support.people import register
from .support.world import HOME_ALICE, HOME_VERA, post_body, volunteer_body


async def offered(engine: AsyncEngine, settings: Settings, volunteer_id: int) -> list[int]:
    async with engine.begin() as conn:
        outcome = await match_volunteer(conn, volunteer_id, settings, now=datetime.now(UTC))
    return outcome.proposed


async def asked_about(engine: AsyncEngine, volunteer_id: int) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT post_id, status FROM matches WHERE volunteer_id = :v ORDER BY post_id"),
            {"v": volunteer_id},
        )
        return [(r.post_id, r.status) for r in rows]


async def test_a_new_volunteer_is_offered_only_the_open_requests_that_fit_them(
    engine: AsyncEngine, settings: Settings
) -> None:
    by = await author(engine)
    near = await request(engine, settings, by, in_cell(CHATELET, 1, 0))
    other_kind = await request(
        engine, settings, by, in_cell(CHATELET, 0, 1), category="bricolage_jardinage"
    )
    too_far = await request(engine, settings, by, in_cell(CHATELET, 14, 0))  # 7 km
    # Within the volunteer's 3 km, but not within the request's own 1 km.
    short_reach = await request(engine, settings, by, in_cell(CHATELET, 0, -4), search_radius_km=1)
    sensitive = await request(
        engine, settings, by, in_cell(CHATELET, -1, 0), category="visite_convivialite"
    )
    arabic = await request(
        engine, settings, by, in_cell(CHATELET, 1, 1), languages=["ar"], language_required=True
    )
    blocker = await author(engine)
    blocked = await request(engine, settings, blocker, in_cell(CHATELET, -1, -1))
    # A request another volunteer already holds.
    holder = await volunteer(engine, in_cell(CHATELET, 2, 2), categories=("pret_don",))
    full = await request(engine, settings, by, in_cell(CHATELET, 2, 2), category="pret_don")
    async with engine.begin() as conn:
        match_id = (
            await conn.execute(
                text("SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v"),
                {"p": full, "v": holder},
            )
        ).scalar_one()
        await lifecycle.accept(
            conn, Viewer(id=holder, role="resident", second_factor=False), match_id,
            now=datetime.now(UTC),
        )  # fmt: skip

    newcomer = await volunteer(
        engine, in_cell(CHATELET), radius_m=3000,
        categories=("courses", "visite_convivialite", "pret_don"), max_active_matches=10,
    )  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO blocks (blocker_id, blocked_id) VALUES (:b, :v)"),
            {"b": blocker.id, "v": newcomer},
        )
    # Not: another kind of help, too far, beyond the request's own reach, sensitive
    # (not vetted), a language they do not speak, an author who blocked them, full.
    assert await offered(engine, settings, newcomer) == [near]
    assert await asked_about(engine, newcomer) == [(near, "proposed")]
    refused = {other_kind, too_far, short_reach, sensitive, arabic, blocked, full}
    assert len(refused | {near}) == 8  # eight distinct requests were there to choose from
    # Vetted (ID and a recent criminal-record extract), the sensitive visit fits too;
    # the request already proposed is not proposed again.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers SET id_checked_at = now(), id_checked_by = user_id, "
                "record_extract_date = :d, record_checked_by = user_id WHERE user_id = :v"
            ),
            {"d": date.today() - timedelta(days=10), "v": newcomer},
        )
    assert await offered(engine, settings, newcomer) == [sensitive]
    assert await asked_about(engine, newcomer) == sorted(
        [(near, "proposed"), (sensitive, "proposed")]
    )


async def test_no_second_proposal_and_a_no_is_not_asked_again(
    engine: AsyncEngine, settings: Settings
) -> None:
    by = await author(engine)
    first = await request(engine, settings, by, in_cell(CHATELET, 1, 0))
    second = await request(engine, settings, by, in_cell(CHATELET, 0, 1))
    newcomer = await volunteer(engine, in_cell(CHATELET), radius_m=3000)
    assert sorted(await offered(engine, settings, newcomer)) == sorted([first, second])
    # The job runs again (a retry, another profile change): nothing new.
    assert await offered(engine, settings, newcomer) == []
    assert len(await asked_about(engine, newcomer)) == 2
    match_id = await match_of(engine, first, newcomer)
    async with engine.begin() as conn:
        await lifecycle.decline(
            conn, Viewer(id=newcomer, role="resident", second_factor=False), match_id, settings,
            now=datetime.now(UTC),
        )  # fmt: skip
    assert await offered(engine, settings, newcomer) == []
    assert await asked_about(engine, newcomer) == sorted(
        [(first, "declined"), (second, "proposed")]
    )


async def test_the_volunteers_free_places_cap_the_offers_nearest_first(
    engine: AsyncEngine, settings: Settings
) -> None:
    by = await author(engine)
    nearest = await request(engine, settings, by, in_cell(CHATELET, 1, 0))
    await request(engine, settings, by, in_cell(CHATELET, 4, 0))
    await request(engine, settings, by, in_cell(CHATELET, 5, 0))
    busy = await volunteer(engine, in_cell(CHATELET), radius_m=3000, max_active_matches=2)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE volunteers SET active_matches = 1 WHERE user_id = :v"), {"v": busy}
        )
    assert await offered(engine, settings, busy) == [nearest]
    full = await volunteer(engine, in_cell(CHATELET), radius_m=3000, max_active_matches=1)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE volunteers SET active_matches = 1 WHERE user_id = :v"), {"v": full}
        )
    assert await offered(engine, settings, full) == []
    paused = await volunteer(engine, in_cell(CHATELET), radius_m=3000, paused=True)
    assert await offered(engine, settings, paused) == []


async def test_the_offers_depend_on_the_public_cell_not_the_exact_point(
    engine: AsyncEngine, settings: Settings
) -> None:
    """Two volunteers of one cell, at its opposite corners, with a 1 km reach: the
    request two cells away is 1 km from their cell centre, 0.8 km from one of them and
    1.2 km from the other. Both are offered the same requests."""
    by = await author(engine)
    ring = await request(engine, settings, by, in_cell(CHATELET, 2, 0))
    await request(engine, settings, by, in_cell(CHATELET, 3, 0))  # 1.5 km: beyond
    west = await volunteer(engine, in_cell(CHATELET, at=(0.05, 0.5)), radius_m=1000)
    east = await volunteer(engine, in_cell(CHATELET, at=(0.95, 0.5)), radius_m=1000)
    assert await offered(engine, settings, west) == [ring]
    assert await offered(engine, settings, east) == [ring]


async def deliver(engine: AsyncEngine, settings: Settings) -> None:
    """Relay the outbox and run the burst workers, twice: the events the first run's
    jobs write (the propositions the matcher made) go out in the second."""
    for _ in range(2):
        await deliver_pending(engine, settings)


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def test_a_profile_saved_through_the_api_is_offered_by_the_worker_not_in_the_request(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    alice = await register(client, "Alice")
    posted = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    assert posted.status_code == 201, posted.text
    post_id = posted.json()["id"]
    vera = await register(client, "Vera")
    saved = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert saved.status_code == 200, saved.text
    # The request answered at once; the matching waits for the worker.
    assert await asked_about(engine, vera.id) == []
    events = await rows(
        engine, "SELECT payload FROM outbox WHERE topic = 'volunteer.profile_changed'"
    )
    assert [e.payload for e in events] == [{"volunteer_id": vera.id}]
    await deliver(engine, settings)
    assert await asked_about(engine, vera.id) == [(post_id, "proposed")]
    told = await rows(
        engine, "SELECT user_id, kind, link FROM notifications WHERE kind = 'match.proposed'"
    )
    assert [(t.user_id, t.link) for t in told] == [(vera.id, "/propositions")]
    # Saving the same profile again writes no event; a wider radius does, and the
    # worker then finds nothing new to propose: one proposition, one notification.
    again = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert again.status_code == 200
    wider = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA, radius_km=5), headers=vera.headers
    )
    assert wider.status_code == 200
    assert (
        len(await rows(engine, "SELECT 1 FROM outbox WHERE topic = 'volunteer.profile_changed'"))
        == 2
    )
    await deliver(engine, settings)
    assert await asked_about(engine, vera.id) == [(post_id, "proposed")]
    assert len(await rows(engine, "SELECT 1 FROM notifications WHERE user_id = :v", v=vera.id)) == 1
    assert await rows(engine, "SELECT id FROM outbox WHERE processed_at IS NULL") == []


async def test_only_changes_that_decide_the_fit_ask_for_offers(engine: AsyncEngine) -> None:
    """The outbox row is written by the database whatever path changed the profile: a
    new profile, a change of place, reach, kinds of help, languages, free time or
    vetting, and the end of a pause — not a pause, nor the matcher's own bookkeeping."""

    async def events(volunteer_id: int) -> int:
        async with engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM outbox WHERE topic = 'volunteer.profile_changed' "
                            "AND payload->>'volunteer_id' = :v"
                        ),
                        {"v": str(volunteer_id)},
                    )
                ).scalar_one()
            )

    async def change(volunteer_id: int, assignments: str, **params: Any) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"UPDATE volunteers SET {assignments} WHERE user_id = :v"),
                {**params, "v": volunteer_id},
            )

    someone = await volunteer(engine, in_cell(CHATELET))
    assert await events(someone) == 1
    await change(someone, "last_proposed_at = now(), active_matches = 1")
    await change(someone, "radius_m = radius_m")  # the same value
    assert await events(someone) == 1
    await change(someone, "paused = true")
    await change(someone, "radius_m = 4000")  # while paused: nothing to offer
    assert await events(someone) == 1
    await change(someone, "paused = false")
    assert await events(someone) == 2
    await change(someone, "languages = '{fr,ar}'")
    await change(someone, "record_extract_date = :d, record_checked_by = user_id", d=date.today())
    assert await events(someone) == 4
