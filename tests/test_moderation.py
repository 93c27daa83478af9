"""The centre social workspace on real PostgreSQL: review queue, post review, vetting,
reports, blocks, suspension, follow-ups and the audit trail.

Over 400 lines: the workspace's API, one section per duty, on one seeded world."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins import audit
from voisins.moderation.followups import raise_followups
from voisins.settings import Settings

from .support.database import scalar
from .support.followups import no_response_followup
from .support.people import audit_mark
from .support.world import (
    HOME_ALICE,
    HOME_ODILE,
    HOME_OUTSIDE,
    World,
    build_world,
    post_body,
    with_matches,
)

API = "/api/v1"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def world_with_matches(client: AsyncTestClient, engine: AsyncEngine) -> World:
    return await with_matches(client, engine, await build_world(client, engine))


# ---------------------------------------------------------------------------------------
# Review queue and the sensitive path end to end
# ---------------------------------------------------------------------------------------


async def test_queue_shows_the_centres_pending_matches_with_what_is_needed_to_decide(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await world_with_matches(client, engine)
    mark = await audit_mark(engine)
    queue = await ok(await client.get(f"{API}/moderation/queue", headers=world.worker_18.headers))
    items = queue["items"]
    assert [i["id"] for i in items] == [
        world.matches["odile_vera_1"],
        world.matches["odile_vera_2"],
    ]
    first = items[0]
    assert first["type"] == "match" and first["post"]["sensitive"] is True
    assert first["author"]["assisted"] is True and first["author"]["display_name"] == "Odile"
    vetting = first["volunteer"]["vetting"]
    assert vetting["vetted"] is True and vetting["record_checked_by"] == world.worker_18.id
    assert date.fromisoformat(vetting["record_expires_on"]) > date.today() + timedelta(days=900)
    assert first["volunteer"]["completed"] == 0 and first["reports"] == []
    # No exact place in the queue: the public cell only.
    assert "location" not in first["post"] and first["post"]["cell_key"]
    # Each item shown is traced.
    traced = await scalar(
        engine,
        "SELECT count(*) FROM audit_log WHERE id > :m AND action = 'review_queue.view' "
        "AND actor_id = :w",
        m=mark,
        w=world.worker_18.id,
    )
    assert traced == 2

    # Another centre's social worker sees nothing of it; residents are refused.
    other = await ok(await client.get(f"{API}/moderation/queue", headers=world.worker_20.headers))
    assert other["items"] == []
    for person in (world.alice, world.vera, world.admin):
        refused = await client.get(f"{API}/moderation/queue", headers=person.headers)
        assert refused.status_code == 403, person.role


async def test_approval_shows_contacts_and_address_and_rejection_asks_the_next(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await world_with_matches(client, engine)
    first, second = world.matches["odile_vera_1"], world.matches["odile_vera_2"]
    refused = await client.post(
        f"{API}/matches/{first}/approve", json={"reason": "vu"}, headers=world.worker_20.headers
    )
    assert refused.status_code == 403
    await ok(
        await client.post(
            f"{API}/matches/{first}/approve",
            json={"reason": "Bénévole connue du centre"},
            headers=world.worker_18.headers,
        )
    )
    seen = await ok(await client.get(f"{API}/me/propositions/{first}", headers=world.vera.headers))
    assert (seen["location"]["lon"], seen["location"]["lat"]) == HOME_ODILE
    assert seen["requester"]["display_name"] == "Odile"
    # The worker who posted for Odile sees the volunteer's contact.
    mine = await ok(
        await client.get(
            f"{API}/posts/{world.posts['odile_1']}/matches", headers=world.worker_18.headers
        )
    )
    assert [m["volunteer"]["phone"] for m in mine["answers"] if m["volunteer"]] == [
        world.phones["vera"]
    ]

    await ok(
        await client.post(
            f"{API}/matches/{second}/reject",
            json={"reason": "Deux visites la même semaine, c'est trop"},
            headers=world.worker_18.headers,
        )
    )
    assert await scalar(engine, "SELECT status FROM matches WHERE id = :m", m=second) == "rejected"
    topics = await scalar(
        engine,
        "SELECT array_agg(topic ORDER BY id) FROM outbox WHERE payload->>'match_id' = :m",
        m=str(second),
    )
    assert "match.rejected" in topics


# ---------------------------------------------------------------------------------------
# Centres that review every post
# ---------------------------------------------------------------------------------------


async def test_all_posts_level_holds_posts_until_a_social_worker_decides(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    async with engine.begin() as conn:  # worker_18 runs the centre
        await conn.execute(
            text("UPDATE centre_members SET member_role = 'centre_admin' WHERE user_id = :w"),
            {"w": world.worker_18.id},
        )
    await ok(
        await client.patch(
            f"{API}/centres/{world.centre_18}",
            json={"moderation_level": "all_posts"},
            headers=world.worker_18.headers,
        )
    )
    held = await ok(
        await client.post(
            f"{API}/posts",
            json=post_body(HOME_ALICE, title="Aide au ménage"),
            headers=world.alice.headers,
        ),
        201,
    )
    assert held["status"] == "in_review"
    assert (
        await scalar(engine, "SELECT count(*) FROM matches WHERE post_id = :p", p=held["id"]) == 0
    )
    assert (
        await client.get(f"{API}/posts/{held['id']}", headers=world.vera.headers)
    ).status_code == 404
    browse = await ok(
        await client.get(
            f"{API}/posts", params={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "radius_km": 2}
        )
    )
    assert held["id"] not in [p["id"] for p in browse["items"]]
    # A post a social worker writes for a resident of their centre is not held.
    odile = await ok(
        await client.post(
            f"{API}/posts",
            json=post_body(HOME_ODILE, on_behalf_of=world.odile_id),
            headers=world.worker_18.headers,
        ),
        201,
    )
    assert odile["status"] == "published"

    queue = await ok(await client.get(f"{API}/moderation/queue", headers=world.worker_18.headers))
    assert [(i["type"], i["id"]) for i in queue["items"]] == [("post", held["id"])]
    for who in (world.worker_20, world.alice):
        refused = await client.post(
            f"{API}/moderation/posts/{held['id']}/approve",
            json={"reason": "d'accord"},
            headers=who.headers,
        )
        assert refused.status_code == 403
    missing_reason = await client.post(
        f"{API}/moderation/posts/{held['id']}/approve", json={}, headers=world.worker_18.headers
    )
    assert missing_reason.status_code == 422 and "note" in missing_reason.json()["fields"]
    approved = await ok(
        await client.post(
            f"{API}/moderation/posts/{held['id']}/approve",
            json={"reason": "Demande claire"},
            headers=world.worker_18.headers,
        )
    )
    assert approved == {"id": held["id"], "status": "published"}
    proposed = await scalar(
        engine,
        "SELECT count(*) FROM matches WHERE post_id = :p AND status = 'proposed'",
        p=held["id"],
    )
    assert proposed >= 1  # matched at once
    again = await client.post(
        f"{API}/moderation/posts/{held['id']}/reject",
        json={"reason": "trop tard"},
        headers=world.worker_18.headers,
    )
    assert again.status_code == 409

    refused_post = await ok(
        await client.post(
            f"{API}/posts",
            json=post_body(HOME_ALICE, title="Vente de tupperware"),
            headers=world.alice.headers,
        ),
        201,
    )
    await ok(
        await client.post(
            f"{API}/moderation/posts/{refused_post['id']}/reject",
            json={"reason": "Vente déguisée", "message": "Voisins n'est pas un site de vente"},
            headers=world.worker_18.headers,
        )
    )
    mine = await ok(
        await client.get(f"{API}/posts/{refused_post['id']}", headers=world.alice.headers)
    )
    assert mine["status"] == "rejected"
    # The author reads the message; ``reason`` (the former name of the note) stays inside.
    assert mine["review_reason"] == "Voisins n'est pas un site de vente"
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM outbox WHERE topic = 'post.rejected' "
            "AND payload->>'post_id' = :p",
            p=str(refused_post["id"]),
        )
        == 1
    )
    # Edited and submitted again, it waits for review once more.
    resubmitted = await ok(
        await client.post(f"{API}/posts/{refused_post['id']}/publish", headers=world.alice.headers)
    )
    assert resubmitted["status"] == "in_review"


# ---------------------------------------------------------------------------------------
# Vetting
# ---------------------------------------------------------------------------------------


async def test_vetting_record_shows_who_checked_and_when_the_extract_expires(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    old = (date.today() - timedelta(days=3 * 366)).isoformat()
    await ok(
        await client.put(
            f"{API}/volunteers/{world.victor.id}/vetting",
            json={"id_checked_at": datetime.now(UTC).isoformat(), "record_extract_date": old},
            headers=world.worker_20.headers,
        )
    )
    record = await ok(
        await client.get(
            f"{API}/volunteers/{world.victor.id}/vetting", headers=world.worker_20.headers
        )
    )
    assert record["vetted"] is False  # the extract is older than three years
    assert date.fromisoformat(record["record_expires_on"]) < date.today()
    assert record["id_checked_by"] == world.worker_20.id
    # Victor lives in Belleville: the Goutte d'Or's worker is refused his record too.
    for who in (world.alice, world.victor, world.vera, world.worker_18):
        response = await client.get(
            f"{API}/volunteers/{world.victor.id}/vetting", headers=who.headers
        )
        assert response.status_code == 403


# ---------------------------------------------------------------------------------------
# Reports and blocks
# ---------------------------------------------------------------------------------------


async def test_reports_reach_only_the_covering_centre_and_never_name_the_reporter(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await world_with_matches(client, engine)
    on_post = await ok(
        await client.post(
            f"{API}/reports",
            json={"post_id": world.posts["alice"], "reason": "inappropriate", "comment": "Bizarre"},
            headers=world.vera.headers,
        ),
        201,
    )
    about_person = await ok(
        await client.post(
            f"{API}/reports",
            json={"match_id": world.matches["basile_victor"], "reason": "no_show"},
            headers=world.basile.headers,
        ),
        201,
    )
    assert set(on_post) == {"id", "status"}
    # Reporting someone one has no match with is refused without saying whether it exists.
    stranger = await client.post(
        f"{API}/reports",
        json={"match_id": world.matches["basile_victor"], "reason": "fraud"},
        headers=world.alice.headers,
    )
    assert stranger.status_code == 404
    both = await client.post(
        f"{API}/reports",
        json={"post_id": 1, "match_id": 1, "reason": "other"},
        headers=world.alice.headers,
    )
    assert both.status_code == 422
    assert set(both.json()["fields"]) == {"post_id", "match_id", "message_id"}

    seen_18 = await ok(
        await client.get(f"{API}/moderation/reports", headers=world.worker_18.headers)
    )
    assert [r["id"] for r in seen_18["items"]] == [on_post["id"]]
    assert seen_18["items"][0]["reporter_id"] == world.vera.id
    seen_20 = await ok(
        await client.get(f"{API}/moderation/reports", headers=world.worker_20.headers)
    )
    assert [r["id"] for r in seen_20["items"]] == [about_person["id"]]
    assert seen_20["items"][0]["reported_id"] == world.victor.id
    for who in (world.alice, world.victor, world.vera):
        refused = await client.get(f"{API}/moderation/reports", headers=who.headers)
        assert refused.status_code == 403
    # Nothing the reported author can read names the reporter (Vera was only proposed
    # Alice's request: Alice never learnt who she is).
    alice_post = world.posts["alice"]
    for path in ("/me", "/me/notifications", "/me/posts", f"/posts/{alice_post}/matches"):
        body = (await client.get(f"{API}{path}", headers=world.alice.headers)).text
        assert world.vera.email not in body and "inappropriate" not in body, path

    wrong_centre = await client.post(
        f"{API}/moderation/reports/{about_person['id']}/resolve",
        json={"resolution": "vu au centre"},
        headers=world.worker_18.headers,
    )
    assert wrong_centre.status_code == 404
    resolved = await ok(
        await client.post(
            f"{API}/moderation/reports/{about_person['id']}/resolve",
            json={"resolution": "Appel à Victor, malentendu sur l'heure"},
            headers=world.worker_20.headers,
        )
    )
    assert resolved["resolved_at"] is not None
    still_open = await ok(
        await client.get(f"{API}/moderation/reports", headers=world.worker_20.headers)
    )
    assert still_open["items"] == []


async def test_blocking_withdraws_propositions_both_ways_and_stops_new_ones(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await world_with_matches(client, engine)
    # Vera blocks the author of Alice's request, without learning who it is.
    blocked = await ok(
        await client.post(
            f"{API}/me/blocks", json={"post_id": world.posts["alice"]}, headers=world.vera.headers
        ),
        201,
    )
    assert blocked == {"status": "blocked"}
    status = await scalar(
        engine, "SELECT status FROM matches WHERE id = :m", m=world.matches["alice_vera"]
    )
    assert status == "withdrawn"
    again = await ok(
        await client.post(
            f"{API}/posts",
            json=post_body(HOME_ALICE, title="Encore des courses"),
            headers=world.alice.headers,
        ),
        201,
    )
    to_vera = await scalar(
        engine,
        "SELECT count(*) FROM matches WHERE post_id = :p AND volunteer_id = :v",
        p=again["id"],
        v=world.vera.id,
    )
    assert to_vera == 0
    listed = await ok(await client.get(f"{API}/me/blocks", headers=world.vera.headers))
    assert len(listed) == 1 and listed[0]["display_name"] is None
    blocked = listed[0]
    assert (
        await client.delete(f"{API}/me/blocks/{blocked['id']}", headers=world.alice.headers)
    ).status_code == 404
    assert (
        await client.delete(f"{API}/me/blocks/{blocked['id']}", headers=world.vera.headers)
    ).status_code == 204
    assert await ok(await client.get(f"{API}/me/blocks", headers=world.vera.headers)) == []


# ---------------------------------------------------------------------------------------
# Suspension
# ---------------------------------------------------------------------------------------


async def test_suspension_ends_propositions_notifications_and_matches_within_a_second(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await world_with_matches(client, engine)
    victor = world.victor
    # Deliveries waiting for Victor (e-mails held by quiet hours, say).
    async with engine.begin() as conn:
        event = (
            await conn.execute(
                text(
                    "INSERT INTO outbox (topic, payload) "
                    "VALUES ('match.proposed', '{}') RETURNING id"
                )
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO deliveries (event_id, user_id, channel, kind, not_before) "
                "VALUES (:e, :v, 'email', 'match.proposed', now() + interval '8 hours')"
            ),
            {"e": event, "v": victor.id},
        )
    assert (
        await scalar(
            engine, "SELECT status FROM matches WHERE id = :m", m=world.matches["alice_victor"]
        )
        == "proposed"
    )

    refused = await client.post(
        f"{API}/moderation/people/{victor.id}/suspend",
        json={"reason": "Comportement déplacé"},
        headers=world.alice.headers,
    )
    assert refused.status_code == 403
    started = time.monotonic()
    response = await ok(
        await client.post(
            f"{API}/moderation/people/{victor.id}/suspend",
            json={"reason": "Comportement déplacé signalé deux fois"},
            headers=world.worker_20.headers,
        )
    )
    # Measured against the database, as the worker would see it.
    while True:
        pending = await scalar(
            engine,
            "SELECT count(*) FROM deliveries WHERE user_id = :v "
            "AND status IN ('pending', 'digest')",
            v=victor.id,
        )
        proposed = await scalar(
            engine,
            "SELECT count(*) FROM matches WHERE volunteer_id = :v AND status = 'proposed'",
            v=victor.id,
        )
        held = await scalar(
            engine,
            "SELECT count(*) FROM matches WHERE volunteer_id = :v "
            "AND status IN ('accepted', 'pending_review', 'approved', 'confirmed')",
            v=victor.id,
        )
        if pending == proposed == held == 0 or time.monotonic() - started > 1.0:
            break
    elapsed = time.monotonic() - started
    assert (pending, proposed, held) == (0, 0, 0)
    assert elapsed < 1.0, elapsed
    assert response["cancelled_matches"] == 1 and response["withdrawn_propositions"] >= 1
    assert response["cancelled_deliveries"] == 1

    cancelled = world.matches["basile_victor"]
    row = await scalar(
        engine,
        "SELECT ARRAY[close_note, close_reason] FROM matches WHERE id = :m "
        "AND status = 'cancelled'",
        m=cancelled,
    )
    # The suspension's reason is an internal note: Basile is told in neutral words.
    assert row == ["Comportement déplacé signalé deux fois", None]
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM outbox WHERE topic = 'match.cancelled' "
            "AND payload->>'match_id' = :m",
            m=str(cancelled),
        )
        == 1
    )
    # Basile's request searches again; Victor's session is over.
    assert (
        await scalar(
            engine, "SELECT status FROM posts WHERE id = :p", p=world.posts["basile_request"]
        )
        == "published"
    )
    assert (await client.get(f"{API}/me", headers=victor.headers)).status_code == 401
    twice = await client.post(
        f"{API}/moderation/people/{victor.id}/suspend",
        json={"reason": "encore"},
        headers=world.worker_20.headers,
    )
    assert twice.status_code == 409
    back = await ok(
        await client.post(
            f"{API}/moderation/people/{victor.id}/reinstate",
            json={"reason": "Entretien au centre"},
            headers=world.worker_20.headers,
        )
    )
    assert back["status"] == "active"


async def test_a_social_worker_of_another_centre_cannot_suspend(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    refused = await client.post(
        f"{API}/moderation/people/{world.victor.id}/suspend",
        json={"reason": "pas chez nous"},
        headers=world.worker_18.headers,
    )
    assert refused.status_code == 403
    assert (
        await scalar(engine, "SELECT status FROM users WHERE id = :v", v=world.victor.id)
        == "active"
    )


# ---------------------------------------------------------------------------------------
# Follow-up list
# ---------------------------------------------------------------------------------------


async def test_isolated_people_and_missed_visits_join_the_follow_up_list_once(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await world_with_matches(client, engine)
    first = world.matches["odile_vera_1"]
    await ok(
        await client.post(
            f"{API}/matches/{first}/approve", json={"reason": "ok"}, headers=world.worker_18.headers
        )
    )
    now = datetime.now(UTC)
    # Nothing happened for Odile for 40 days; the visit was confirmed 15 days ago.
    async with engine.begin() as conn:
        for table, column in (("users", "created_at"), ("posts", "created_at")):
            await conn.execute(text(f"UPDATE {table} SET {column} = now() - interval '40 days'"))
        await conn.execute(
            text("ALTER TABLE match_history DISABLE TRIGGER match_history_no_update")
        )
        await conn.execute(text("UPDATE match_history SET at = now() - interval '40 days'"))
        await conn.execute(text("ALTER TABLE match_history ENABLE TRIGGER match_history_no_update"))
        await conn.execute(
            text("UPDATE matches SET confirmed_at = now() - interval '15 days' WHERE id = :m"),
            {"m": first},
        )
        raised = await raise_followups(conn, settings, now=now)
        assert raised == 2
        assert await raise_followups(conn, settings, now=now + timedelta(hours=1)) == 0

    listed = await ok(
        await client.get(f"{API}/moderation/followups", headers=world.worker_18.headers)
    )
    reasons = {i["reason"]: i for i in listed["items"]}
    assert {"isolated", "missed_checkin"} <= set(reasons)
    isolated = reasons["isolated"]
    assert isolated["person"]["display_name"] == "Odile"
    assert isolated["person"]["phone"] == "01 42 00 00 00"
    assert reasons["missed_checkin"]["match_id"] == first
    assert (
        await ok(await client.get(f"{API}/moderation/followups", headers=world.worker_20.headers))
    )["items"] == []

    contacted = await ok(
        await client.post(
            f"{API}/moderation/followups/{isolated['id']}/contact",
            json={"outcome": "Appel : va bien, souhaite une visite le jeudi"},
            headers=world.worker_18.headers,
        )
    )
    assert contacted["contacted_by"] == world.worker_18.id and contacted["outcome"].startswith(
        "Appel"
    )
    twice = await client.post(
        f"{API}/moderation/followups/{isolated['id']}/contact",
        json={"outcome": "encore"},
        headers=world.worker_18.headers,
    )
    assert twice.status_code == 409
    still_open = await ok(
        await client.get(f"{API}/moderation/followups", headers=world.worker_18.headers)
    )
    still = [i["reason"] for i in still_open["items"] if i["reason"] != "no_response"]
    assert still == ["missed_checkin"]

    # Vera records this week's visit: the next sweep raises nothing for it.
    await ok(
        await client.post(
            f"{API}/matches/{first}/checkins",
            json={"visited_on": date.today().isoformat()},
            headers=world.vera.headers,
        ),
        201,
    )
    future = await client.post(
        f"{API}/matches/{first}/checkins",
        json={"visited_on": (date.today() + timedelta(days=2)).isoformat()},
        headers=world.vera.headers,
    )
    assert future.status_code == 422 and "visited_on" in future.json()["fields"]
    async with engine.begin() as conn:
        assert await raise_followups(conn, settings, now=now + timedelta(days=7)) == 0


# ---------------------------------------------------------------------------------------
# Audit trail
# ---------------------------------------------------------------------------------------


async def test_refused_authorisations_are_traced_without_payload(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await world_with_matches(client, engine)
    mark = await audit_mark(engine)
    match_id = world.matches["odile_vera_1"]
    refused = await client.post(
        f"{API}/matches/{match_id}/approve",
        json={"reason": "secret text"},
        headers=world.worker_20.headers,
    )
    assert refused.status_code == 403
    assert (
        await client.get(f"{API}/moderation/queue", headers=world.alice.headers)
    ).status_code == 403
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT * FROM audit_log WHERE id > :m AND outcome = 'refused' ORDER BY id"),
                {"m": mark},
            )
        ).all()
    assert [(r.action, r.object_type, r.object_id, r.actor_id) for r in rows] == [
        ("refused.approveMatch", "match", match_id, world.worker_20.id),
        ("refused.listReviewQueue", "route", None, world.alice.id),
    ]
    assert all("secret" not in str(tuple(r)) for r in rows)


async def test_audit_log_refuses_update_delete_and_truncate_by_the_application_role(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await audit.record(conn, None, "test.write", "route")
    last = await audit_mark(engine)
    for statement in (
        "UPDATE audit_log SET action = 'tampered' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError) as refused:
            async with engine.begin() as conn:
                await conn.execute(text(statement), {"id": last})
        assert "permission denied" in str(refused.value) or "append-only" in str(refused.value)
    assert (
        await scalar(engine, "SELECT action FROM audit_log WHERE id = :id", id=last) == "test.write"
    )
    # Back-dating is impossible too, so nothing young becomes purgeable.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO audit_log (at, actor_role, action, object_type, outcome) "
                "VALUES (now() - interval '2 years', 'admin', 'test.old', 'route', 'allowed')"
            )
        )
        assert await audit.purge_expired(conn) == 0
    assert await scalar(engine, "SELECT count(*) FROM audit_log WHERE action = 'test.old'") == 1


# ---------------------------------------------------------------------------------------
# Role matrix over every moderation endpoint
# ---------------------------------------------------------------------------------------


async def test_role_matrix_residents_volunteers_and_other_centres_are_refused(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """Every moderation action on items of the Goutte d'Or centre, tried by a resident,
    a volunteer and the Belleville social worker: refused (403, or 404 where existence
    itself is private), the item unchanged. Staff without their second factor are
    refused everything by tests/test_access_matrix.py."""
    world = await world_with_matches(client, engine)
    draft = await ok(
        await client.post(
            f"{API}/posts", json=post_body(HOME_ALICE, publish=False), headers=world.alice.headers
        ),
        201,
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE posts SET status = 'in_review' WHERE id = :p"), {"p": draft["id"]}
        )
    followup = await no_response_followup(engine, world.posts["alice"], world.centre_18)
    report = await ok(
        await client.post(
            f"{API}/reports",
            json={"post_id": world.posts["alice"], "reason": "unsafe"},
            headers=world.vera.headers,
        ),
        201,
    )
    match_id = world.matches["odile_vera_1"]
    reason = {"reason": "Une raison suffisante"}
    actions: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/matches/{match_id}/approve", reason),
        ("POST", f"/matches/{match_id}/reject", reason),
        ("POST", f"/moderation/posts/{draft['id']}/approve", reason),
        ("POST", f"/moderation/posts/{draft['id']}/reject", reason),
        ("POST", f"/moderation/followups/{followup}/contact", {"outcome": "Appel passé"}),
        ("POST", f"/moderation/reports/{report['id']}/resolve", {"resolution": "Vu au centre"}),
        ("POST", f"/moderation/people/{world.alice.id}/suspend", reason),
    ]
    staff_only_reads = ["/moderation/queue", "/moderation/followups", "/moderation/reports"]
    mark = await audit_mark(engine)
    forbidden = 0
    for who in (world.alice, world.vera, world.worker_20):
        for method, path, body in actions:
            response = await client.request(method, f"{API}{path}", json=body, headers=who.headers)
            assert response.status_code in (403, 404), (who.email, path, response.text)
            assert set(response.json()) == {"error", "detail", "fields"}
            forbidden += response.status_code == 403
        for path in staff_only_reads:
            response = await client.get(f"{API}{path}", headers=who.headers)
            if who is world.worker_20:  # a social worker: their own centres' items only
                assert response.status_code == 200 and response.json()["items"] == [], path
            else:
                assert response.status_code == 403, (who.email, path)
                forbidden += 1
        # Vera lives in the Goutte d'Or: Belleville's worker is refused her record too.
        vetting = await client.get(f"{API}/volunteers/{world.vera.id}/vetting", headers=who.headers)
        assert vetting.status_code == 403
        forbidden += 1
    # Nothing moved.
    async with engine.connect() as conn:
        state = (
            await conn.execute(
                text(
                    "SELECT (SELECT status FROM matches WHERE id = :m), "
                    "(SELECT status FROM posts WHERE id = :p), "
                    "(SELECT contacted_at FROM followups WHERE id = :f), "
                    "(SELECT resolved_at FROM reports WHERE id = :r), "
                    "(SELECT status FROM users WHERE id = :a)"
                ),
                {
                    "m": match_id,
                    "p": draft["id"],
                    "f": followup,
                    "r": report["id"],
                    "a": world.alice.id,
                },
            )
        ).one()
    assert tuple(state) == ("pending_review", "in_review", None, None, "active")
    # And every refusal (403; a 404 hides existence and is no authorisation) left a trace.
    refused = await scalar(
        engine,
        "SELECT count(*) FROM audit_log WHERE id > :m AND outcome = 'refused' "
        "AND actor_id = ANY(:ids)",
        m=mark,
        ids=[world.alice.id, world.vera.id, world.worker_20.id],
    )
    assert forbidden > 10 and refused == forbidden


async def test_reading_someones_sensitive_record_leaves_a_trace(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    mark = await audit_mark(engine)
    await ok(
        await client.get(f"{API}/posts/{world.posts['alice']}", headers=world.worker_18.headers)
    )
    await ok(await client.get(f"{API}/posts/{world.posts['alice']}", headers=world.alice.headers))
    await ok(
        await client.get(
            f"{API}/assisted-residents/{world.odile_id}", headers=world.worker_18.headers
        )
    )
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT actor_id, action, object_id FROM audit_log WHERE id > :m ORDER BY id"),
                {"m": mark},
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (world.worker_18.id, "post.view_private", world.posts["alice"]),
        (world.worker_18.id, "assisted_resident.view", world.odile_id),
    ]  # the author reading her own post is no access to trace


async def test_administrators_follow_up_what_no_centre_covers(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    outside = await ok(
        await client.post(
            f"{API}/posts", json=post_body(HOME_OUTSIDE), headers=world.alice.headers
        ),
        201,
    )
    async with engine.begin() as conn:
        orphan = (
            await conn.execute(
                text(
                    "INSERT INTO followups (reason, post_id, centre_id) "
                    "VALUES ('no_response', :p, NULL) ON CONFLICT DO NOTHING RETURNING id"
                ),
                {"p": outside["id"]},
            )
        ).scalar()
        orphan = (
            orphan
            or (
                await conn.execute(
                    text("SELECT id FROM followups WHERE post_id = :p AND centre_id IS NULL"),
                    {"p": outside["id"]},
                )
            ).scalar_one()
        )
    seen = await ok(await client.get(f"{API}/moderation/followups", headers=world.admin.headers))
    # Only the items no centre covers (the world's stranger, outside too, has one).
    assert orphan in [i["id"] for i in seen["items"]]
    assert {i["centre_id"] for i in seen["items"]} == {None}
    # Social workers follow their own centres' items only.
    for worker in (world.worker_18, world.worker_20):
        listed = await ok(await client.get(f"{API}/moderation/followups", headers=worker.headers))
        assert orphan not in [i["id"] for i in listed["items"]]
        refused = await client.post(
            f"{API}/moderation/followups/{orphan}/contact",
            json={"outcome": "Appel passé"},
            headers=worker.headers,
        )
        assert refused.status_code == 404
    done = await ok(
        await client.post(
            f"{API}/moderation/followups/{orphan}/contact",
            json={"outcome": "Appel : orientée vers la mairie"},
            headers=world.admin.headers,
        )
    )
    assert done["contacted_by"] == world.admin.id
    # Residents still may not.
    assert (
        await client.get(f"{API}/moderation/followups", headers=world.alice.headers)
    ).status_code == 403
