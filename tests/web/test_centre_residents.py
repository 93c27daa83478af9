"""Following an assisted resident's requests from the centre's pages: the request's own
page shows a worker acting for them its state, the volunteer and the contact (not the
public view); «c'est fait», cancelling and feedback are done for the resident from
their page, through the life cycle, with the worker recorded as the one who acted and
every act audited; another centre's worker is refused and changes nothing.

World (tests/support/world.with_matches): Odile is assisted by the Goutte d'Or
(worker_18); Vera, vetted, said yes to her two visits (pending review)."""

from __future__ import annotations

import html

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ..support.csrf import csrf_of
from ..support.people import Person, audit_mark, staff
from ..support.sign_in import sign_in
from ..support.world import World, build_world, with_matches


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await with_matches(client, engine, await build_world(client, engine))
    client.cookies.clear()
    return world


def _plain(page: str) -> str:
    return html.unescape(page).replace("\xa0", " ").replace("\u202f", " ")


async def _approve(client: AsyncTestClient, world: World, match: str) -> int:
    match_id = world.matches[match]
    approved = await client.post(
        f"/api/v1/matches/{match_id}/approve",
        json={"reason": "Bénévole connue du centre"},
        headers=world.worker_18.headers,
    )
    assert approved.json()["status"] == "confirmed", approved.text
    return match_id


_MARK: dict[str, int] = {}


@pytest.fixture(autouse=True)
async def _audit_from_here(engine: AsyncEngine) -> None:
    """audit_log outlives each test while ids restart: count only this test's rows."""
    _MARK["audit"] = await audit_mark(engine)


async def _one(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def _audited(engine: AsyncEngine, actor: Person, action: str, match_id: int) -> int:
    return int(
        await _one(  # type: ignore[call-overload]
            engine,
            "SELECT count(*) FROM audit_log WHERE actor_id = :a AND action = :x "
            "AND object_id = :m AND outcome = 'allowed' AND id > :floor",
            a=actor.id,
            x=action,
            m=match_id,
            floor=_MARK["audit"],
        )
    )


async def test_the_request_page_shows_an_acting_worker_the_state_volunteer_and_contact(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    await _approve(client, world, "odile_vera_1")
    post = world.posts["odile_1"]
    colleague = await staff(client, engine, centre_ids=(world.centre_18,))
    for worker in (world.worker_18, colleague):
        sign_in(client, worker)
        page = await client.get(f"/annonces/{post}")
        assert page.status_code == 200
        text_ = _plain(page.text)
        assert "État : " in text_ and "C'est confirmé. Vous pouvez vous écrire." in text_
        assert "Vera" in text_ and world.phones["vera"] in text_
        assert f'href="/centre/habitants/{world.odile_id}"' in page.text
        assert f'action="/centre/habitants/{world.odile_id}/reponses/' in page.text
        # They can change the request's text for her, as she could herself.
        assert f'href="/annonces/{post}/modifier"' in page.text
        assert (await client.get(f"/annonces/{post}/modifier")).status_code == 200
    # Belleville's worker does not act for Odile: the public view, no one named.
    sign_in(client, world.worker_20)
    public = await client.get(f"/annonces/{post}")
    assert public.status_code == 200
    assert world.phones["vera"] not in public.text and "Vera" not in public.text
    assert "/centre/habitants/" not in public.text
    assert f"/annonces/{post}/modifier" not in public.text


async def test_done_feedback_and_cancel_are_done_for_the_resident_and_audited(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    odile = world.odile_id
    first = await _approve(client, world, "odile_vera_1")
    second = world.matches["odile_vera_2"]  # still pending review
    sign_in(client, world.worker_18)
    page = await client.get(f"/centre/habitants/{odile}")
    token = csrf_of(page.text)
    assert f'action="/centre/habitants/{odile}/reponses/{first}/terminer"' in page.text
    assert f'action="/centre/habitants/{odile}/reponses/{second}/annuler"' in page.text

    done = await client.post(
        f"/centre/habitants/{odile}/reponses/{first}/terminer",
        data={"_csrf_token": token, "retour": "habitant"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/centre/habitants/{odile}?fait=terminee#reponse-{first}"
    after = await client.get(done.headers["location"])
    assert "C'est noté : l'aide a eu lieu." in _plain(after.text)
    assert await _one(engine, "SELECT status FROM matches WHERE id = :m", m=first) == "completed"
    # The history names the worker as the one who acted, and the act is traced.
    actor = await _one(
        engine,
        "SELECT actor_id FROM match_history WHERE match_id = :m AND to_status = 'completed'",
        m=first,
    )
    assert actor == world.worker_18.id
    assert await _audited(engine, world.worker_18, "match.complete_for_resident", first) == 1

    # Feedback: a choice is needed; then it is the resident's, given once for the centre.
    missing = await client.post(
        f"/centre/habitants/{odile}/reponses/{first}/avis",
        data={"_csrf_token": token, "retour": "habitant", "comment": "Très bien"},
    )
    assert missing.status_code == 400
    assert f'id="feedback_{first}-error"' in missing.text and "Très bien" in missing.text
    given = await client.post(
        f"/centre/habitants/{odile}/reponses/{first}/avis",
        data={"_csrf_token": token, "retour": "annonce", "kind": "thanks"},
        follow_redirects=False,
    )
    assert given.status_code == 303
    assert given.headers["location"] == (
        f"/annonces/{world.posts['odile_1']}?fait=avis#reponse-{first}"
    )
    shown = await client.get(given.headers["location"])
    assert "L'avis de la personne est enregistré." in _plain(shown.text)
    assert "Avis de la personne : Merci, tout s'est bien passé." in _plain(shown.text)
    assert await _audited(engine, world.worker_18, "match.feedback_for_resident", first) == 1
    colleague = await staff(client, engine, centre_ids=(world.centre_18,))
    sign_in(client, colleague)
    token = csrf_of((await client.get(f"/centre/habitants/{odile}")).text)
    again = await client.post(
        f"/centre/habitants/{odile}/reponses/{first}/avis",
        data={"_csrf_token": token, "retour": "habitant", "kind": "no_show"},
    )
    assert again.status_code == 409 and "un collègue" in _plain(again.text)
    assert await _one(engine, "SELECT count(*) FROM feedback WHERE match_id = :m", m=first) == 1
    assert await _one(engine, "SELECT no_show_count FROM volunteers WHERE user_id = :v",
                      v=world.vera.id) == 0  # fmt: skip

    # Cancel: a reason is needed; then the match is cancelled and Vera is told.
    blank = await client.post(
        f"/centre/habitants/{odile}/reponses/{second}/annuler",
        data={"_csrf_token": token, "retour": "habitant", "reason": " "},
    )
    assert blank.status_code == 400 and f'id="cancel_{second}-error"' in blank.text
    assert "<details open>" in blank.text
    cancelled = await client.post(
        f"/centre/habitants/{odile}/reponses/{second}/annuler",
        data={"_csrf_token": token, "retour": "habitant", "reason": "Odile est hospitalisée"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert await _one(engine, "SELECT status FROM matches WHERE id = :m", m=second) == "cancelled"
    assert await _one(engine, "SELECT closed_by FROM matches WHERE id = :m", m=second) == (
        colleague.id
    )
    assert await _audited(engine, colleague, "match.cancel_for_resident", second) == 1
    told = await _one(
        engine,
        "SELECT count(*) FROM outbox WHERE topic = 'match.cancelled' "
        "AND CAST(payload ->> 'match_id' AS bigint) = :m",
        m=second,
    )
    assert told == 1


async def test_another_centres_worker_and_residents_are_refused_and_change_nothing(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    odile = world.odile_id
    first = await _approve(client, world, "odile_vera_1")
    for who in (world.worker_20, world.alice):
        sign_in(client, who)
        # Any page of theirs carries the form token (the header's forms).
        token = csrf_of((await client.get("/messages")).text)
        for action, data in (("terminer", {}), ("annuler", {"reason": "Plus besoin"}),
                             ("avis", {"kind": "no_show"})):  # fmt: skip
            refused = await client.post(
                f"/centre/habitants/{odile}/reponses/{first}/{action}",
                data={"_csrf_token": token, **data},
            )
            assert refused.status_code == 403, (who.email, action)
            assert "Accès refusé" in refused.text and world.phones["vera"] not in refused.text
    assert await _one(engine, "SELECT status FROM matches WHERE id = :m", m=first) == "confirmed"
    refusals = await _one(
        engine,
        "SELECT count(*) FROM audit_log WHERE actor_id = :a AND outcome = 'refused' "
        "AND action LIKE 'refused.pageCentreResident%' AND id > :floor",
        a=world.worker_20.id,
        floor=_MARK["audit"],
    )
    assert refusals == 3
    # Someone else's answer through Odile's address is not found.
    sign_in(client, world.worker_18)
    token = csrf_of((await client.get(f"/centre/habitants/{odile}")).text)
    basile = world.matches["basile_victor"]
    other = await client.post(
        f"/centre/habitants/{odile}/reponses/{basile}/terminer", data={"_csrf_token": token}
    )
    assert other.status_code == 404 and "Page introuvable" in other.text
    assert await _one(engine, "SELECT status FROM matches WHERE id = :m", m=basile) == "confirmed"
