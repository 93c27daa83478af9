"""Weekly arrangements (issue 12, "Posts"): «la visite d'aujourd'hui a eu lieu» records a
check-in (day, who, optional note) and keeps the arrangement open; «arrêter
l'accompagnement» asks first and ends it for good, with an optional reason. One-off help
keeps its single «C'est fait»."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.access import Viewer
from voisins.errors import Conflict, Invalid, NotFound
from voisins.matching import checkins, lifecycle
from voisins.schedule import PARIS

from .support.csrf import csrf_of
from .support.matching import match_of
from .support.people import Person
from .support.world import HOME_ALICE, World, build_world, post_body

API = "/api/v1"
WEEKLY = {"type": "weekly", "days": [1, 2, 3, 4, 5, 6, 7], "start": "10:00", "end": "12:00"}


def plain(html: str) -> str:
    """The page's text with French typography's no-break spaces as plain ones."""
    return html.replace("\u00a0", " ").replace("\u202f", " ")


def signed_in(client: AsyncTestClient, person: Person) -> None:
    client.cookies.clear()
    client.cookies.set("voisins_session", person.token)


async def form(client: AsyncTestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    opened = await client.get(page)
    assert opened.status_code == 200, opened.text
    return await client.post(
        action, data={**data, "_csrf_token": csrf_of(opened.text)}, follow_redirects=False
    )


async def confirmed(
    client: AsyncTestClient, engine: AsyncEngine, world: World, schedule: dict[str, Any]
) -> tuple[int, int]:
    """Alice's request, accepted by Vera (not sensitive: confirmed at once)."""
    async with engine.begin() as conn:  # a second one in a test: past Vera's cooldown
        await conn.execute(text("UPDATE volunteers SET last_matched_at = NULL"))
    created = await client.post(
        f"{API}/posts",
        json=post_body(HOME_ALICE, title="Une visite pour les courses", schedule=schedule),
        headers=world.alice.headers,
    )
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    match_id = await match_of(engine, post_id, world.vera.id)
    accepted = await client.post(f"{API}/matches/{match_id}/accept", headers=world.vera.headers)
    assert accepted.json()["status"] == "confirmed", accepted.text
    return post_id, int(match_id)


async def rows(engine: AsyncEngine, match_id: int) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT visited_on, author_id, note FROM checkins WHERE match_id = :m "
                        "ORDER BY visited_on"
                    ),
                    {"m": match_id},
                )
            ).all()
        )


async def match_row(engine: AsyncEngine, match_id: int) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT m.status, m.close_reason, p.status AS post_status FROM matches m "
                    "JOIN posts p ON p.id = m.post_id WHERE m.id = :m"
                ),
                {"m": match_id},
            )
        ).one()


async def test_todays_visit_is_recorded_once_and_the_arrangement_stays_open(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id, match_id = await confirmed(client, engine, world, WEEKLY)
    signed_in(client, world.vera)
    page = await client.get("/mes-aides")
    card = plain(page.text).split(f'id="proposition-{match_id}"')[1].split("</li>")[0]
    assert "La visite d&#39;aujourd&#39;hui a eu lieu" in card
    assert "C&#39;est fait" not in card  # the ambiguous button is gone for weekly help
    assert f'href="/mes-aides/{match_id}/arreter' in card

    done = await form(
        client,
        "/mes-aides",
        f"/mes-aides/{match_id}/visite",
        {"note": "Courses faites, tout va bien"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/mes-aides?fait=visite")
    today = datetime.now(PARIS).date()
    assert [(r.visited_on, r.author_id, r.note) for r in await rows(engine, match_id)] == [
        (today, world.vera.id, "Courses faites, tout va bien")
    ]
    assert (await match_row(engine, match_id)).status == "confirmed"
    # Alice says it too, the same day, without a word: still one visit, the note kept.
    signed_in(client, world.alice)
    again = await form(
        client, f"/annonces/{post_id}", f"/annonces/{post_id}/reponses/{match_id}/visite", {}
    )
    assert again.status_code == 303, again.text
    assert [(r.visited_on, r.note) for r in await rows(engine, match_id)] == [
        (today, "Courses faites, tout va bien")
    ]
    # Both sides see the history.
    shown = await client.get(f"/annonces/{post_id}")
    assert "Les visites" in shown.text and "Courses faites, tout va bien" in shown.text
    signed_in(client, world.vera)
    listed = await client.get("/mes-aides?fait=visite")
    assert "C&#39;est noté : la visite d&#39;aujourd&#39;hui a eu lieu." in plain(listed.text)
    assert re.search(rf'<time datetime="{today.isoformat()}">', listed.text)


async def test_stopping_asks_first_then_ends_the_arrangement_for_good(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    _post_id, match_id = await confirmed(client, engine, world, WEEKLY)
    signed_in(client, world.vera)
    asked = await client.get(f"/mes-aides/{match_id}/arreter")
    assert asked.status_code == 200
    assert "Les visites s&#39;arrêtent pour de bon." in plain(asked.text)
    assert (await match_row(engine, match_id)).status == "confirmed"  # asking changed nothing
    vera = Viewer(id=world.vera.id, role="resident", second_factor=False)
    async with engine.begin() as conn:
        await checkins.record_visit(
            conn, vera, match_id, checkins.VisitIn(note="La dernière visite"), now=datetime.now(UTC)
        )
    stopped = await client.post(
        f"/mes-aides/{match_id}/arreter",
        data={"reason": "Je déménage", "_csrf_token": csrf_of(asked.text)},
        follow_redirects=False,
    )
    assert stopped.status_code == 303 and stopped.headers["location"] == "/mes-aides?fait=arrete"
    row = await match_row(engine, match_id)
    assert (row.status, row.close_reason, row.post_status) == ("completed", "Je déménage", "closed")
    # The visits stay in the history of the ended arrangement.
    past = await client.get("/mes-aides")
    card = plain(past.text).split(f'id="proposition-{match_id}"')[1].split("</li>")[0]
    assert "La dernière visite" in card and "La visite d&#39;aujourd&#39;hui" not in card
    # Over: no more visits.
    async with engine.begin() as conn:
        with pytest.raises(Conflict):
            await checkins.record_visit(
                conn, vera, match_id, checkins.VisitIn(), now=datetime.now(UTC)
            )


async def test_the_author_stops_from_the_post_page_without_a_reason(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id, match_id = await confirmed(client, engine, world, WEEKLY)
    signed_in(client, world.alice)
    asked = await client.get(f"/annonces/{post_id}/reponses/{match_id}/arreter")
    assert asked.status_code == 200 and "Oui, arrêter l&#39;accompagnement" in asked.text
    stopped = await client.post(
        f"/annonces/{post_id}/reponses/{match_id}/arreter",
        data={"reason": "", "_csrf_token": csrf_of(asked.text)},
        follow_redirects=False,
    )
    assert stopped.status_code == 303, stopped.text
    row = await match_row(engine, match_id)
    assert (row.status, row.close_reason) == ("completed", None)


async def test_one_off_help_keeps_its_single_cest_fait(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    _post_id, match_id = await confirmed(client, engine, world, post_body(HOME_ALICE)["schedule"])
    signed_in(client, world.vera)
    page = await client.get("/mes-aides")
    card = plain(page.text).split(f'id="proposition-{match_id}"')[1].split("</li>")[0]
    assert "C&#39;est fait" in card and "La visite d&#39;aujourd&#39;hui" not in card
    vera = Viewer(id=world.vera.id, role="resident", second_factor=False)
    async with engine.begin() as conn:
        with pytest.raises(Conflict):
            await checkins.record_visit(
                conn, vera, match_id, checkins.VisitIn(), now=datetime.now(UTC)
            )
    async with engine.begin() as conn:
        with pytest.raises(Conflict):
            await lifecycle.stop_arrangement(conn, vera, match_id, None, now=datetime.now(UTC))
    assert (await match_row(engine, match_id)).status == "confirmed"


async def test_only_the_two_sides_record_and_read_visits_and_never_in_the_future(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    _post_id, match_id = await confirmed(client, engine, world, WEEKLY)
    now = datetime.now(UTC)
    for who in (world.victor, world.stranger):
        viewer = Viewer(id=who.id, role="resident", second_factor=False)
        async with engine.begin() as conn:
            with pytest.raises(NotFound):
                await checkins.record_visit(conn, viewer, match_id, checkins.VisitIn(), now=now)
        async with engine.begin() as conn:
            with pytest.raises(NotFound):
                await checkins.list_visits(conn, viewer, match_id)
    vera = Viewer(id=world.vera.id, role="resident", second_factor=False)
    tomorrow = (now.astimezone(PARIS) + timedelta(days=1)).date()
    async with engine.begin() as conn:
        with pytest.raises(Invalid):
            await checkins.record_visit(
                conn, vera, match_id, checkins.VisitIn(visited_on=tomorrow), now=now
            )
    long_note = await client.post(
        f"/mes-aides/{match_id}/visite", data={"note": "x" * 281}, follow_redirects=False
    )
    assert long_note.status_code in (401, 403)  # no session, no CSRF: nothing written
    signed_in(client, world.vera)
    too_long = await form(
        client, "/mes-aides", f"/mes-aides/{match_id}/visite", {"note": "x" * 281}
    )
    assert too_long.status_code == 422
    assert "Le mot fait 280 caractères au plus." in plain(too_long.text)
    assert await rows(engine, match_id) == []
    async with engine.begin() as conn:
        entry = await checkins.record_visit(conn, vera, match_id, checkins.VisitIn(), now=now)
        listed = await checkins.list_visits(conn, vera, match_id)
    assert entry.by_volunteer and entry.by_name and entry.by_name.startswith("Vera")
    assert [e.visited_on for e in listed] == [now.astimezone(PARIS).date()]


async def test_the_api_records_visits_by_the_same_rule(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    _post_id, weekly = await confirmed(client, engine, world, WEEKLY)
    today = datetime.now(PARIS).date().isoformat()
    first = await client.post(
        f"{API}/matches/{weekly}/checkins",
        json={"visited_on": today, "note": "Tout va bien"},
        headers=world.alice.headers,
    )
    assert first.status_code == 201, first.text
    assert first.json()["note"] == "Tout va bien"
    twice = await client.post(
        f"{API}/matches/{weekly}/checkins", json={"visited_on": today}, headers=world.vera.headers
    )
    assert twice.status_code == 201 and twice.json()["id"] == first.json()["id"]
    assert twice.json()["note"] == "Tout va bien"
    long_note = await client.post(
        f"{API}/matches/{weekly}/checkins",
        json={"visited_on": today, "note": "x" * 281},
        headers=world.vera.headers,
    )
    assert long_note.status_code == 422 and "note" in long_note.json()["fields"]
    assert len(await rows(engine, weekly)) == 1
    # One-off help has no visits to record: it is done, or not.
    _other, once = await confirmed(client, engine, world, post_body(HOME_ALICE)["schedule"])
    refused = await client.post(
        f"{API}/matches/{once}/checkins", json={"visited_on": today}, headers=world.vera.headers
    )
    assert refused.status_code == 409, refused.text
    assert await rows(engine, once) == []


async def test_the_api_lists_visits_and_stops_an_arrangement(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    _post_id, weekly = await confirmed(client, engine, world, WEEKLY)
    today = datetime.now(PARIS).date().isoformat()
    recorded = await client.post(
        f"{API}/matches/{weekly}/checkins",
        json={"visited_on": today, "note": "Jeux de cartes"},
        headers=world.vera.headers,
    )
    assert recorded.status_code == 201, recorded.text
    listed = await client.get(f"{API}/matches/{weekly}/visits", headers=world.alice.headers)
    assert listed.status_code == 200, listed.text
    [visit] = listed.json()
    assert (visit["visited_on"], visit["note"], visit["by_volunteer"]) == (
        today, "Jeux de cartes", True
    )  # fmt: skip
    assert visit["by_name"].startswith("Vera")
    assert (
        await client.get(f"{API}/matches/{weekly}/visits", headers=world.victor.headers)
    ).status_code == 404
    short = await client.post(
        f"{API}/matches/{weekly}/stop", json={"reason": "x"}, headers=world.vera.headers
    )
    assert short.status_code == 422 and "reason" in short.json()["fields"]
    stopped = await client.post(
        f"{API}/matches/{weekly}/stop", json={"reason": "Fin de l'été"}, headers=world.vera.headers
    )
    assert stopped.json() == {"id": weekly, "status": "completed"}
    row = await match_row(engine, weekly)
    assert (row.status, row.close_reason) == ("completed", "Fin de l'été")
    again = await client.post(f"{API}/matches/{weekly}/stop", json={}, headers=world.vera.headers)
    assert again.status_code == 409
    # One-off help is not an arrangement: it is marked done, not stopped.
    _other, once = await confirmed(client, engine, world, post_body(HOME_ALICE)["schedule"])
    refused = await client.post(f"{API}/matches/{once}/stop", json={}, headers=world.vera.headers)
    assert refused.status_code == 409
    assert (await match_row(engine, once)).status == "confirmed"
