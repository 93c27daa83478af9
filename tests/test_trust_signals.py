"""Trust signals (issue 15): on a match, the volunteer's «Vérifié par le centre social X»
(when vetted), the month they joined and the helps they completed — shown with their
name only; on a proposition, the centre supporting an assisted resident. Nothing else
about a person, in the API and on the pages, in French and in English."""

from __future__ import annotations

import calendar
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.volunteer import RECORD_VALIDITY
from voisins.clock import PARIS
from voisins.schedule import paris_today

from .support.matching import match_of
from .support.people import Person, staff
from .support.world import (
    HOME_ALICE,
    HOME_ODILE,
    World,
    build_world,
    post_body,
    vet,
)

GOUTTE_DOR = "Centre social Goutte d'Or"
BELLEVILLE = "Centre social Belleville"
FRENCH_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
ANSWER_KEYS = {"id", "status", "distance", "responded_at", "volunteer", "volunteer_trust"}
TRUST_KEYS = {"vetted_by", "member_since", "helps_completed"}
PROPOSITION_KEYS = {
    "id", "status", "post", "distance", "why", "proposed_at", "deadline_at",
    "requester_trust", "requester", "location",
}  # fmt: skip


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _answers(client: AsyncTestClient, post_id: int, who: Person) -> list[dict[str, Any]]:
    body = await _ok(await client.get(f"/api/v1/posts/{post_id}/matches", headers=who.headers))
    return list(body["answers"])


async def _member_since(engine: AsyncEngine, person: Person) -> datetime:
    async with engine.connect() as conn:
        created: datetime = (
            await conn.execute(text("SELECT created_at FROM users WHERE id = :u"), {"u": person.id})
        ).scalar_one()
    return created.astimezone(PARIS)


async def _extract(
    client: AsyncTestClient, worker: Person, volunteer: Person, age: timedelta
) -> None:
    """A worker records an ID check and an extract ``age`` old (today in UTC, as the
    vetting record counts)."""
    await _ok(
        await client.put(
            f"/api/v1/volunteers/{volunteer.id}/vetting",
            json={
                "id_checked_at": datetime.now(UTC).isoformat(),
                "record_extract_date": (paris_today(datetime.now(UTC)) - age).isoformat(),
            },
            headers=worker.headers,
        )
    )


async def _accept(client: AsyncTestClient, match_id: int, volunteer: Person) -> str:
    body = await _ok(
        await client.post(f"/api/v1/matches/{match_id}/accept", headers=volunteer.headers)
    )
    return str(body["status"])


async def _visit_under_review(
    client: AsyncTestClient, engine: AsyncEngine
) -> tuple[World, int, int]:
    """Alice's sensitive request, accepted by the vetted Vera, waits for the review: the
    world, the post and the match."""
    world = await build_world(client, engine)
    await vet(client, world, world.vera)
    visit = await _ok(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ALICE, category="visite_convivialite", title="Une visite"),
            headers=world.alice.headers,
        ),
        201,
    )
    match_id = await match_of(engine, visit["id"], world.vera.id)
    assert await _accept(client, match_id, world.vera) == "pending_review"
    return world, int(visit["id"]), match_id


async def test_a_vetted_volunteer_shows_the_centre_once_named_and_only_then(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, visit, match_id = await _visit_under_review(client, engine)
    # Under review the author sees an anonymous answer: no name, no trust signal (they
    # would single the volunteer out across requests).
    [anonymous] = await _answers(client, visit, world.alice)
    assert set(anonymous) == ANSWER_KEYS
    assert anonymous["volunteer"] is None and anonymous["volunteer_trust"] is None
    # The reviewing social worker sees whom they approve, trust included.
    [reviewed] = await _answers(client, visit, world.worker_18)
    assert reviewed["volunteer"]["user_id"] == world.vera.id
    assert reviewed["volunteer_trust"]["vetted_by"] == GOUTTE_DOR
    await _ok(
        await client.post(
            f"/api/v1/matches/{match_id}/approve",
            json={"note": "vérifié"},
            headers=world.worker_18.headers,
        )
    )
    [named] = await _answers(client, visit, world.alice)
    assert set(named) == ANSWER_KEYS and named["volunteer"]["user_id"] == world.vera.id
    since = await _member_since(engine, world.vera)
    assert named["volunteer_trust"] == {
        "vetted_by": GOUTTE_DOR,
        "member_since": f"{since.year:04d}-{since.month:02d}",
        "helps_completed": 0,
    }
    # The same for whoever may see it: the worker acting for no one sees the same signals.
    [same] = await _answers(client, visit, world.worker_18)
    assert same["volunteer_trust"] == named["volunteer_trust"]


async def test_an_expired_extract_or_no_id_check_shows_no_centre(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["alice"]
    match_id = await match_of(engine, post_id, world.vera.id)
    await _extract(client, world.worker_18, world.vera, RECORD_VALIDITY + timedelta(days=1))
    assert await _accept(client, match_id, world.vera) == "confirmed"
    [answer] = await _answers(client, post_id, world.alice)
    assert answer["volunteer"] is not None
    assert set(answer["volunteer_trust"]) == TRUST_KEYS
    assert answer["volunteer_trust"]["vetted_by"] is None
    # The oldest extract still current (accounts/vetting.py's rule) names the centre.
    await _extract(client, world.worker_18, world.vera, RECORD_VALIDITY)
    [answer] = await _answers(client, post_id, world.alice)
    assert answer["volunteer_trust"]["vetted_by"] == GOUTTE_DOR
    # An extract without the ID check is no vetting.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers SET id_checked_at = NULL, id_checked_by = NULL "
                "WHERE user_id = :v"
            ),
            {"v": world.vera.id},
        )
    [answer] = await _answers(client, post_id, world.alice)
    assert answer["volunteer_trust"]["vetted_by"] is None


async def test_the_centre_named_is_the_one_of_the_volunteers_territory(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """A worker member of both centres vets Victor, who lives in Belleville: Belleville
    vouches for him, not the worker's first centre."""
    world = await build_world(client, engine)
    both = await staff(client, engine, centre_ids=(world.centre_18, world.centre_20))
    assert world.centre_18 < world.centre_20
    await _extract(client, both, world.victor, timedelta(days=10))
    post_id = world.posts["alice"]
    assert await _accept(
        client, await match_of(engine, post_id, world.victor.id), world.victor
    ) == ("confirmed")
    [answer] = await _answers(client, post_id, world.alice)
    assert answer["volunteer_trust"]["vetted_by"] == BELLEVILLE


async def test_helps_completed_counts_the_volunteers_completed_matches(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    # Published before Vera accepts anything (a volunteer who accepts is not proposed
    # more for a while).
    second = await _ok(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ALICE, title="Un carton"),
            headers=world.alice.headers,
        ),
        201,
    )
    posts = [world.posts["alice"], second["id"]]
    matches = [await match_of(engine, p, world.vera.id) for p in posts]
    for match_id in matches:
        assert await _accept(client, match_id, world.vera) == "confirmed"

    async def counts() -> list[int]:
        return [
            (await _answers(client, p, world.alice))[0]["volunteer_trust"]["helps_completed"]
            for p in posts
        ]

    assert await counts() == [0, 0]
    await _ok(
        await client.post(f"/api/v1/matches/{matches[0]}/complete", headers=world.alice.headers)
    )
    assert await counts() == [1, 1]
    await _ok(
        await client.post(f"/api/v1/matches/{matches[1]}/complete", headers=world.alice.headers)
    )
    assert await counts() == [2, 2]


async def _two_propositions(client: AsyncTestClient, engine: AsyncEngine) -> tuple[World, int, int]:
    """Vera, vetted, is proposed a visit to Odile (assisted by the Goutte d'Or centre)
    and Alice's shopping: the world and the two matches."""
    world = await build_world(client, engine)
    await vet(client, world, world.vera)
    body = await _ok(
        await client.post(
            "/api/v1/posts",
            json=post_body(
                HOME_ODILE,
                category="visite_convivialite",
                title="Une visite le jeudi",
                on_behalf_of=world.odile_id,
                schedule={"type": "weekly", "days": [4], "start": "15:00", "end": "17:00"},
            ),
            headers=world.worker_18.headers,
        ),
        201,
    )
    odile_match = await match_of(engine, int(body["id"]), world.vera.id)
    return world, odile_match, await match_of(engine, world.posts["alice"], world.vera.id)


async def test_an_assisted_resident_shows_the_supporting_centre_on_the_proposition(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, odile_match, alice_match = await _two_propositions(client, engine)
    mine = await _ok(
        await client.get(f"/api/v1/me/propositions/{odile_match}", headers=world.vera.headers)
    )
    # Known before saying yes, and nothing else: no name, no contact yet.
    assert set(mine) == PROPOSITION_KEYS and mine["status"] == "proposed"
    assert mine["requester_trust"] == {"supported_by": GOUTTE_DOR}
    assert mine["requester"] is None and mine["location"] is None
    alices = await _ok(
        await client.get(f"/api/v1/me/propositions/{alice_match}", headers=world.vera.headers)
    )
    assert alices["requester_trust"] == {"supported_by": None}
    listed = await _ok(await client.get("/api/v1/me/propositions", headers=world.vera.headers))
    by_id = {p["id"]: p for p in listed["items"]}
    assert all(set(p) == PROPOSITION_KEYS for p in listed["items"])
    assert by_id[odile_match]["requester_trust"]["supported_by"] == GOUTTE_DOR
    assert by_id[alice_match]["requester_trust"]["supported_by"] is None
    # A withdrawn consent supports no one any more.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE consents SET withdrawn_at = now() WHERE resident_id = :r"),
            {"r": world.odile_id},
        )
    mine = await _ok(
        await client.get(f"/api/v1/me/propositions/{odile_match}", headers=world.vera.headers)
    )
    assert mine["requester_trust"] == {"supported_by": None}


def _card(page: str, anchor: str) -> str:
    """The text of the card that starts at ``id="anchor"`` (up to the next card)."""
    start = page.index(f'id="{anchor}"')
    end = page.find('class="card"', start + 1)
    return html.unescape(page[start : end if end > 0 else len(page)])


def _squash(value: str) -> str:
    # French typography puts no-break spaces in; compare words.
    return re.sub(r"\s+", " ", value.replace("\u202f", " ").replace("\xa0", " "))


async def _page(client: AsyncTestClient, who: Person, path: str) -> str:
    """``path`` as ``who`` sees it (the pages' session is the API's, by its cookie)."""
    client.cookies.set("voisins_session", who.token)
    try:
        page = await client.get(path)
    finally:
        client.cookies.clear()
    assert page.status_code == 200, page.text
    return page.text


async def _locale(client: AsyncTestClient, who: Person, locale: str) -> None:
    await _ok(await client.patch("/api/v1/me", json={"locale": locale}, headers=who.headers))


async def test_pages_show_the_signals_in_french_and_english(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, odile_match, alice_match = await _two_propositions(client, engine)
    since = await _member_since(engine, world.vera)
    client.cookies.clear()

    # The volunteer's propositions: the supporting centre on Odile's, nothing on Alice's.
    for locale, said in (
        ("fr", "Accompagné par le Centre social Goutte d'Or"),
        ("en", "Supported by Centre social Goutte d'Or"),
    ):
        await _locale(client, world.vera, locale)
        page = await _page(client, world.vera, "/propositions")
        assert said in _squash(_card(page, f"proposition-{odile_match}"))
        alices = _squash(_card(page, f"proposition-{alice_match}"))
        assert "Centre social" not in alices

    # Alice's answer, once confirmed: the centre, the month, the count.
    assert await _accept(client, alice_match, world.vera) == "confirmed"
    fr_month = f"{FRENCH_MONTHS[since.month - 1]} {since.year}"
    en_month = f"{calendar.month_name[since.month]} {since.year}"
    for locale, words in (
        ("fr", ["Vérifié par le Centre social Goutte d'Or", f"Membre depuis {fr_month}",
                "0 aide réalisée"]),
        ("en", ["Verified by Centre social Goutte d'Or", f"Member since {en_month}",
                "0 helps completed"]),
    ):  # fmt: skip
        await _locale(client, world.alice, locale)
        page = await _page(client, world.alice, f"/annonces/{world.posts['alice']}")
        answer = _squash(_card(page, f"reponse-{alice_match}"))
        for word in words:
            assert word in answer, (locale, word, answer)

    await _ok(
        await client.post(f"/api/v1/matches/{alice_match}/complete", headers=world.alice.headers)
    )
    await _locale(client, world.alice, "fr")
    page = await _page(client, world.alice, f"/annonces/{world.posts['alice']}")
    assert "1 aide réalisée" in _squash(_card(page, f"reponse-{alice_match}"))

    # The social worker following Odile's visit sees the volunteer's signals under review.
    assert await _accept(client, odile_match, world.vera) == "pending_review"
    page = await _page(client, world.worker_18, f"/centre/habitants/{world.odile_id}")
    followed = _squash(html.unescape(page))
    assert "Vérifié par le Centre social Goutte d'Or" in followed
    assert f"Membre depuis {fr_month}" in followed and "1 aide réalisée" in followed


async def test_an_anonymous_answer_shows_no_signal_on_the_page(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, visit, match_id = await _visit_under_review(client, engine)
    client.cookies.clear()
    page = await _page(client, world.alice, f"/annonces/{visit}")
    answer = _squash(_card(page, f"reponse-{match_id}"))
    assert "Vérifié" not in answer and "Membre depuis" not in answer and "réalisée" not in answer
