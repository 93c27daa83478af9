"""The match life cycle: enforced in the database, safe under concurrency, revealing
the name and exact address only once confirmed, and the phone and e-mail only once
their owner shares them from the conversation (issue 15).

Over 400 lines: one state machine, each transition and its races."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from voisins.accounts.access import Viewer
from voisins.errors import Conflict
from voisins.matching.engine import escalate_due
from voisins.matching.lifecycle import accept
from voisins.moderation.review import decide_match
from voisins.settings import Settings, load_settings

from .support.matching import (
    CHATELET,
    author,
    match_of,
    offset,
    proposed_to,
    request,
    user,
    volunteer,
)
from .support.people import register, staff
from .support.world import GOUTTE_DOR, HOME_ALICE, HOME_VERA, post_body, volunteer_body


async def _volunteer_via_api(
    client: AsyncTestClient, name: str, at: tuple[float, float], **changes: Any
) -> Any:
    person = await register(client, name)
    response = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(at, **changes), headers=person.headers
    )
    assert response.status_code == 200, response.text
    return person


async def test_non_sensitive_accept_confirms_and_reveals_contacts_to_both(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    vera = await _volunteer_via_api(client, "Vera", HOME_VERA)
    alice = await register(client, "Alice")
    body = post_body(
        HOME_ALICE, location={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "address": "12 rue Léon"}
    )
    post = (await client.post("/api/v1/posts", json=body, headers=alice.headers)).json()

    [proposition] = (await client.get("/api/v1/me/propositions", headers=vera.headers)).json()[
        "items"
    ]
    assert proposition["post"]["id"] == post["id"]
    assert proposition["distance"]["label_fr"] == "moins de 1 km"
    assert proposition["requester"] is None and proposition["location"] is None
    assert proposition["why"] == {
        "category": "courses",
        "skills": [],
        "languages": [],
        "available": True,
        "distance": proposition["distance"],
    }
    # Before anyone says yes the author sees how many were asked, not who.
    before = (await client.get(f"/api/v1/posts/{post['id']}/matches", headers=alice.headers)).json()
    assert before == {"asked": 1, "waiting": 1, "said_no": 0, "answers": []}

    accepted = await client.post(
        f"/api/v1/matches/{proposition['id']}/accept", headers=vera.headers
    )
    assert accepted.json() == {"id": proposition["id"], "status": "confirmed"}
    mine = (
        await client.get(f"/api/v1/me/propositions/{proposition['id']}", headers=vera.headers)
    ).json()
    assert mine["requester"]["display_name"].startswith("Alice")
    assert mine["location"] == {
        "lon": HOME_ALICE[0],
        "lat": HOME_ALICE[1],
        "address": "12 rue Léon",
    }
    [seen_by_alice] = (
        await client.get(f"/api/v1/posts/{post['id']}/matches", headers=alice.headers)
    ).json()["answers"]
    # Confirmation names each side to the other; contacts stay theirs until shared.
    assert seen_by_alice["volunteer"]["display_name"].startswith("Vera")
    assert (seen_by_alice["volunteer"]["email"], seen_by_alice["volunteer"]["phone"]) == (
        None,
        None,
    )
    assert (mine["requester"]["email"], mine["requester"]["phone"]) == (None, None)
    assert "lon" not in str(seen_by_alice)  # never the volunteer's home
    # Each side shares from the conversation; the other side then sees it.
    for who in (vera, alice):
        shared = await client.put(
            f"/api/v1/matches/{proposition['id']}/contacts",
            json={"phone": False, "email": True},
            headers=who.headers,
        )
        assert shared.status_code == 200, shared.text
    [seen_by_alice] = (
        await client.get(f"/api/v1/posts/{post['id']}/matches", headers=alice.headers)
    ).json()["answers"]
    assert seen_by_alice["volunteer"]["email"] == vera.email
    assert "lon" not in str(seen_by_alice)
    mine = (
        await client.get(f"/api/v1/me/propositions/{proposition['id']}", headers=vera.headers)
    ).json()
    assert mine["requester"]["email"] == alice.email
    got = (await client.get(f"/api/v1/posts/{post['id']}", headers=alice.headers)).json()
    assert got["status"] == "matched"

    history = (
        await client.get(f"/api/v1/matches/{proposition['id']}/history", headers=alice.headers)
    ).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"),
        ("proposed", "accepted"),
        ("accepted", "confirmed"),
    ]
    assert history[1]["actor_id"] == vera.id


async def test_sensitive_match_waits_for_review_then_confirms(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin = await staff(client, engine, role="admin")
    centre = (
        await client.post(
            "/api/v1/centres", json={"name": "Centre social Goutte d'Or", "territory": GOUTTE_DOR},
            headers=admin.headers,
        )
    ).json()  # fmt: skip
    worker = await staff(client, engine, centre_ids=(centre["id"],))
    other_worker = await staff(client, engine)
    vera = await _volunteer_via_api(client, "Vera", HOME_VERA)
    victor = await _volunteer_via_api(client, "Victor", (HOME_VERA[0] + 0.004, HOME_VERA[1]))
    for person in (vera, victor):
        vetted = await client.put(
            f"/api/v1/volunteers/{person.id}/vetting",
            json={
                "id_checked_at": datetime.now(UTC).isoformat(),
                "record_extract_date": (date.today() - timedelta(days=90)).isoformat(),
            },
            headers=worker.headers,
        )
        assert vetted.json()["vetted"] is True
    alice = await register(client, "Alice")
    post = (
        await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE, category="visite_convivialite"),
            headers=alice.headers,
        )
    ).json()  # fmt: skip
    assert post["sensitive"] is True
    match_id = await match_of(engine, post["id"], vera.id)
    accepted = await client.post(f"/api/v1/matches/{match_id}/accept", headers=vera.headers)
    assert accepted.json()["status"] == "pending_review"
    pending = (await client.get(f"/api/v1/me/propositions/{match_id}", headers=vera.headers)).json()
    assert pending["requester"] is None and pending["location"] is None

    refused = await client.post(
        f"/api/v1/matches/{match_id}/approve", json={"reason": "ok"}, headers=other_worker.headers
    )
    assert refused.status_code == 403
    no_reason = await client.post(
        f"/api/v1/matches/{match_id}/approve", json={}, headers=worker.headers
    )
    assert no_reason.status_code == 422
    approved = await client.post(
        f"/api/v1/matches/{match_id}/approve",
        json={"reason": "Bénévole connue du centre, extrait vérifié"},
        headers=worker.headers,
    )
    assert approved.json()["status"] == "confirmed"
    confirmed = (
        await client.get(f"/api/v1/me/propositions/{match_id}", headers=vera.headers)
    ).json()
    assert confirmed["location"]["lon"] == HOME_ALICE[0]
    assert confirmed["requester"]["display_name"].startswith("Alice")
    assert confirmed["requester"]["email"] is None  # not shared yet
    seen = (await client.get(f"/api/v1/posts/{post['id']}/matches", headers=alice.headers)).json()
    assert [m["volunteer"]["display_name"] for m in seen["answers"] if m["volunteer"]] == ["Vera"]
    assert [m["volunteer"]["email"] for m in seen["answers"] if m["volunteer"]] == [None]
    # Once approved the conversation is open: each side may share their e-mail there.
    for who in (vera, alice):
        shared = await client.put(
            f"/api/v1/matches/{match_id}/contacts",
            json={"phone": False, "email": True},
            headers=who.headers,
        )
        assert shared.status_code == 200, shared.text
    confirmed = (
        await client.get(f"/api/v1/me/propositions/{match_id}", headers=vera.headers)
    ).json()
    assert confirmed["requester"]["email"] == alice.email
    seen = (await client.get(f"/api/v1/posts/{post['id']}/matches", headers=alice.headers)).json()
    assert [m["volunteer"]["email"] for m in seen["answers"] if m["volunteer"]] == [vera.email]
    history = (
        await client.get(f"/api/v1/matches/{match_id}/history", headers=worker.headers)
    ).json()
    assert [h["to_status"] for h in history] == [
        "proposed", "accepted", "pending_review", "approved", "confirmed"
    ]  # fmt: skip
    assert history[3]["actor_id"] == worker.id
    assert history[3]["reason"].startswith("Bénévole connue")


async def test_rejection_proposes_the_next_candidate(
    engine: AsyncEngine, settings: Settings
) -> None:
    one = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        match_batch_per_needed=1,
    )
    first = await volunteer(
        engine, offset(CHATELET, east_m=100), vetted=True, categories=("garde_ponctuelle",)
    )
    second = await volunteer(
        engine, offset(CHATELET, east_m=900), vetted=True, categories=("garde_ponctuelle",)
    )
    post_id = await request(engine, one, await author(engine), category="garde_ponctuelle")
    assert await proposed_to(engine, post_id) == [first]
    match_id = await match_of(engine, post_id, first)
    async with engine.begin() as conn:
        await accept(
            conn,
            Viewer(id=first, role="resident", second_factor=False),
            match_id,
            now=datetime.now(UTC),
        )
    async with engine.begin() as conn:
        centre_id = (
            await conn.execute(
                text(
                    "INSERT INTO centres (name, territory) VALUES ('Centre Châtelet', "
                    "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(2.347, 48.8589), 4326), 0.02))) "
                    "RETURNING id"
                )
            )
        ).scalar_one()
        await conn.execute(
            text("INSERT INTO post_centres VALUES (:p, :c)"), {"p": post_id, "c": centre_id}
        )
        reviewer_id = await user(conn, "Travailleuse sociale")
        await conn.execute(
            text("UPDATE users SET role = 'social_worker' WHERE id = :i"), {"i": reviewer_id}
        )
    reviewer = Viewer(
        id=reviewer_id, role="social_worker", second_factor=True, centre_ids=frozenset({centre_id})
    )
    async with engine.begin() as conn:
        outcome = await decide_match(
            conn, reviewer, match_id, approve=False, reason="Pas d'extrait récent", settings=one,
            now=datetime.now(UTC),
        )  # fmt: skip
    assert outcome == "rejected"
    assert await proposed_to(engine, post_id) == [first, second]


async def test_invalid_transitions_are_refused_by_the_database(
    engine: AsyncEngine, settings: Settings
) -> None:
    vol = await volunteer(engine, offset(CHATELET, east_m=100))
    post_id = await request(engine, settings, await author(engine))
    match_id = await match_of(engine, post_id, vol)
    for sql, message in [
        (
            "UPDATE matches SET status = 'confirmed' WHERE id = :m",
            "cannot go from proposed to confirmed",
        ),
        (
            "UPDATE matches SET status = 'completed' WHERE id = :m",
            "cannot go from proposed to completed",
        ),
        (
            "INSERT INTO matches (post_id, volunteer_id, status, sensitive, score, "
            "score_breakdown, distance_m, deadline_at) SELECT post_id, volunteer_id, "
            "'confirmed', false, 1, '{}', 1, now() FROM matches WHERE id = :m",
            "starts as proposed",
        ),
        ("UPDATE match_history SET to_status = 'confirmed' WHERE match_id = :m", "append-only"),
        ("DELETE FROM match_history WHERE match_id = :m", "append-only"),
    ]:
        with pytest.raises(DBAPIError, match=message):
            async with engine.begin() as conn:
                await conn.execute(text(sql), {"m": match_id})
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE matches SET status = 'declined' WHERE id = :m"), {"m": match_id}
        )
    with pytest.raises(DBAPIError, match="cannot go from declined to accepted"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE matches SET status = 'accepted' WHERE id = :m"), {"m": match_id}
            )


async def test_accept_twice_after_expiry_by_a_stranger_and_decline_after_confirmation(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    vera = await _volunteer_via_api(client, "Vera", HOME_VERA)
    victor = await _volunteer_via_api(client, "Victor", (HOME_VERA[0] + 0.003, HOME_VERA[1]))
    stranger = await register(client, "Sam")
    alice = await register(client, "Alice")
    post = (
        await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE, volunteers_needed=2), headers=alice.headers
        )
    ).json()
    vera_match = await match_of(engine, post["id"], vera.id)
    victor_match = await match_of(engine, post["id"], victor.id)

    assert (
        await client.post(f"/api/v1/matches/{vera_match}/accept", headers=stranger.headers)
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/matches/{vera_match}/accept", headers=vera.headers)
    ).status_code == 200
    twice = await client.post(f"/api/v1/matches/{vera_match}/accept", headers=vera.headers)
    assert twice.status_code == 409
    assert "already confirmed" in twice.json()["detail"]
    late = await client.post(f"/api/v1/matches/{vera_match}/decline", headers=vera.headers)
    assert late.status_code == 409

    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE matches SET deadline_at = now() - interval '1 minute' WHERE id = :m"),
            {"m": victor_match},
        )
    expired = await client.post(f"/api/v1/matches/{victor_match}/accept", headers=victor.headers)
    assert expired.status_code == 409
    assert "expired" in expired.json()["detail"]


@pytest.mark.parametrize("needed", [1, 3])
async def test_concurrent_accepts_fill_exactly_the_needed_places(
    engine: AsyncEngine, settings: Settings, needed: int
) -> None:
    wide = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        match_batch_per_needed=50,
    )
    volunteers = [
        await volunteer(engine, offset(CHATELET, east_m=10 * i)) for i in range(50 * needed)
    ]
    post_id = await request(engine, wide, await author(engine), volunteers_needed=needed)
    proposed = await proposed_to(engine, post_id)
    candidates = proposed[:50]
    assert len(candidates) == 50 and set(candidates) <= set(volunteers)
    matches = [await match_of(engine, post_id, v) for v in candidates]
    pool = create_async_engine(settings.sqlalchemy_url, pool_size=50, max_overflow=0)
    now = datetime.now(UTC)

    async def try_accept(volunteer_id: int, match_id: int) -> int:
        viewer = Viewer(id=volunteer_id, role="resident", second_factor=False)
        try:
            async with pool.begin() as conn:
                await accept(conn, viewer, match_id, now=now)
        except Conflict as exc:
            return exc.status_code
        return 200

    try:
        statuses = await asyncio.gather(
            *(try_accept(v, m) for v, m in zip(candidates, matches, strict=True))
        )
    finally:
        await pool.dispose()
    assert statuses.count(200) == needed
    assert statuses.count(409) == 50 - needed
    async with engine.connect() as conn:
        held = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM matches WHERE post_id = :p AND match_holds_place(status)"
                ),
                {"p": post_id},
            )
        ).scalar()
        post_status = (
            await conn.execute(text("SELECT status FROM posts WHERE id = :p"), {"p": post_id})
        ).scalar()
    assert held == needed
    assert post_status == "matched"


async def test_pausing_or_suspending_withdraws_open_propositions(
    engine: AsyncEngine, settings: Settings
) -> None:
    paused = await volunteer(engine, offset(CHATELET, east_m=100))
    suspended = await volunteer(engine, offset(CHATELET, east_m=200))
    post_id = await request(engine, settings, await author(engine))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE volunteers SET paused = true WHERE user_id = :v"), {"v": paused}
        )
        await conn.execute(
            text("UPDATE users SET status = 'suspended' WHERE id = :v"), {"v": suspended}
        )
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT m.status, h.reason FROM matches m JOIN match_history h "
                    "ON h.match_id = m.id AND h.to_status = m.status WHERE m.post_id = :p "
                    "ORDER BY m.volunteer_id"
                ),
                {"p": post_id},
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("withdrawn", "volunteer paused"),
        ("withdrawn", "volunteer suspended"),
    ]


# Far from every other test's people (Clermont-Ferrand): here nobody else can help.
CLERMONT = (3.0870, 45.7772)


async def test_a_cancelled_place_with_nobody_else_nearby_keeps_searching_not_unanswered(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    """The only volunteer nearby accepts, then cancels: the request is published again
    and its search goes on at the next deadline. It is not filed as unanswered (no
    follow-up, no «Pas encore de réponse» to its author), and a volunteer who joins
    meanwhile is asked at that deadline."""
    vera = await _volunteer_via_api(client, "Vera", CLERMONT)
    alice = await register(client, "Alice")
    made = await client.post("/api/v1/posts", json=post_body(CLERMONT), headers=alice.headers)
    post_id = made.json()["id"]
    vera_match = await match_of(engine, post_id, vera.id)
    assert (
        await client.post(f"/api/v1/matches/{vera_match}/accept", headers=vera.headers)
    ).status_code == 200
    cancelled = await client.post(
        f"/api/v1/matches/{vera_match}/cancel", json={"reason": "Empêchement"}, headers=vera.headers
    )
    assert cancelled.json()["status"] == "cancelled"
    shown = (await client.get(f"/api/v1/posts/{post_id}", headers=alice.headers)).json()
    assert shown["status"] == "published"
    async with engine.connect() as conn:
        filed = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM followups WHERE post_id = :p), "
                    "(SELECT count(*) FROM outbox WHERE topic IN "
                    "('post.unanswered', 'post.no_response') "
                    "AND payload ->> 'post_id' = CAST(:p AS text)), "
                    "(SELECT match_exhausted_at IS NULL AND match_deadline_at > now() "
                    "FROM posts WHERE id = :p)"
                ),
                {"p": post_id},
            )
        ).one()
    assert tuple(filed) == (0, 0, True)
    victor = await _volunteer_via_api(client, "Victor", (CLERMONT[0] + 0.002, CLERMONT[1]))
    later = datetime.now(UTC) + timedelta(seconds=settings.match_deadline_s + 1)
    async with engine.begin() as conn:
        await escalate_due(conn, settings, now=later)
    async with engine.connect() as conn:
        asked = await conn.execute(
            text("SELECT volunteer_id, status FROM matches WHERE post_id = :p ORDER BY id"),
            {"p": post_id},
        )
        assert [tuple(r) for r in asked] == [(vera.id, "cancelled"), (victor.id, "proposed")]


async def test_cancellation_reopens_the_request_and_completion_takes_feedback(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    vera = await _volunteer_via_api(client, "Vera", HOME_VERA)
    victor = await _volunteer_via_api(client, "Victor", (HOME_VERA[0] + 0.003, HOME_VERA[1]))
    alice = await register(client, "Alice")
    post = (
        await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    ).json()
    vera_match = await match_of(engine, post["id"], vera.id)
    await client.post(f"/api/v1/matches/{vera_match}/accept", headers=vera.headers)
    no_reason = await client.post(
        f"/api/v1/matches/{vera_match}/cancel", json={}, headers=alice.headers
    )
    assert no_reason.status_code == 422
    cancelled = await client.post(
        f"/api/v1/matches/{vera_match}/cancel", json={"reason": "Empêchement"}, headers=vera.headers
    )
    assert cancelled.json()["status"] == "cancelled"
    reopened = (await client.get(f"/api/v1/posts/{post['id']}", headers=alice.headers)).json()
    assert reopened["status"] == "published"
    # Victor's proposition was withdrawn when Vera took the place; the place reopened,
    # so he is asked again (Vera, who cancelled, is not).
    [again] = (await client.get("/api/v1/me/propositions", headers=victor.headers)).json()["items"]
    assert again["status"] == "proposed"
    assert (await client.get("/api/v1/me/propositions", headers=vera.headers)).json()["items"] == []
    assert (
        await client.post(f"/api/v1/matches/{again['id']}/accept", headers=victor.headers)
    ).status_code == 200
    done = await client.post(f"/api/v1/matches/{again['id']}/complete", headers=alice.headers)
    assert done.json()["status"] == "completed"
    closed = (await client.get(f"/api/v1/posts/{post['id']}", headers=alice.headers)).json()
    assert closed["status"] == "closed"
    thanks = await client.post(
        f"/api/v1/matches/{again['id']}/feedback", json={"kind": "thanks", "comment": "Merci !"},
        headers=alice.headers,
    )  # fmt: skip
    assert thanks.status_code == 201
    twice = await client.post(
        f"/api/v1/matches/{again['id']}/feedback", json={"kind": "thanks"}, headers=alice.headers
    )
    assert twice.status_code == 409
    no_show = await client.post(
        f"/api/v1/matches/{vera_match}/feedback", json={"kind": "no_show"}, headers=alice.headers
    )
    assert no_show.status_code == 201
    async with engine.connect() as conn:
        counts = dict(
            (
                await conn.execute(
                    text("SELECT user_id, (completed_count, no_show_count) FROM volunteers")
                )
            ).all()
        )
    assert counts[vera.id] == (0, 1)
    assert counts[victor.id] == (1, 0)
