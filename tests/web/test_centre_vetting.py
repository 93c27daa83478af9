"""Vetting volunteers from the centre's pages and the API: finding a volunteer by name,
e-mail or phone within the territories of the worker's centres only, the volunteers
awaiting vetting and the extracts running out within 60 days, the record written on
the volunteer's page — and a worker of another centre refused everywhere (audited).

Vera lives in the Goutte d'Or (centre_18), Victor in Belleville (centre_20). Every date
is relative to today: the suite passes on any day."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.volunteer import RECORD_VALIDITY

from ..support.csrf import csrf_of
from ..support.people import Person, audit_mark, register
from ..support.sign_in import half_logged_in, sign_in
from ..support.world import (
    HOME_ALICE,
    World,
    build_world,
    vetting_body,
    vetting_refused,
    volunteer_body,
)

API = "/api/v1"
VERA_PHONE = "06 33 33 33 33"
VICTOR_PHONE = "+33 6 44 44 44 44"


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await build_world(client, engine)
    for who, phone in ((world.vera, VERA_PHONE), (world.victor, VICTOR_PHONE)):
        patched = await client.patch(f"{API}/me", json={"phone": phone}, headers=who.headers)
        assert patched.status_code == 200, patched.text
    client.cookies.clear()
    return world


async def _volunteer(client: AsyncTestClient, name: str, **overrides: object) -> Person:
    """A new volunteer of the Goutte d'Or."""
    person = await register(client, name)
    made = await client.put(
        f"{API}/me/volunteer", json=volunteer_body(HOME_ALICE, **overrides), headers=person.headers
    )
    assert made.status_code == 200, made.text
    return person


async def _set_record(engine: AsyncEngine, who: Person, checker: Person, extract: date) -> None:
    """A record as it would stand after past checks (the API refuses no past date, but
    writing it here keeps the test about the lists)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers SET id_checked_at = now() - interval '1 day', "
                "id_checked_by = :w, record_extract_date = :d, record_checked_by = :w "
                "WHERE user_id = :v"
            ),
            {"w": checker.id, "d": extract, "v": who.id},
        )


_MARK: dict[str, int] = {}


@pytest.fixture(autouse=True)
async def _audit_from_here(engine: AsyncEngine) -> None:
    _MARK["audit"] = await audit_mark(engine)


async def _audit(engine: AsyncEngine, actor: Person, action: str, outcome: str = "allowed") -> list:
    """This test's audit rows (audit_log outlives each test, ids restart)."""
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT object_id FROM audit_log WHERE actor_id = :a AND action = :x "
                        "AND outcome = :o AND id > :m ORDER BY id"
                    ),
                    {"a": actor.id, "x": action, "o": outcome, "m": _MARK["audit"]},
                )
            ).scalars()
        )


def _plain(page: str) -> str:
    """A page's text as typed: entities decoded, French non-breaking spaces (the
    typography filter's) as plain ones."""
    return html.unescape(page).replace("\xa0", " ").replace("\u202f", " ")


def _ids(found: list[dict]) -> set[int]:
    return {item["id"] for item in found}


async def test_the_api_finds_by_name_email_and_phone_within_the_workers_territory_only(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    async def search(who: Person, q: str) -> set[int]:
        response = await client.get(f"{API}/volunteers", params={"q": q}, headers=who.headers)
        assert response.status_code == 200, response.text
        found = response.json()
        for item in found:  # who and how to reach them, never where they live
            assert set(item) == {
                "id", "display_name", "email", "phone", "member_since",
                "sensitive_categories", "vetting",
            }  # fmt: skip
        return _ids(found)

    vera, victor = world.vera, world.victor
    w18, w20 = world.worker_18, world.worker_20
    assert await search(w18, "ver") == {vera.id}  # a part of the name, any case
    assert await search(w18, vera.email.upper()) == {vera.id}
    assert await search(w18, "06.33.33.33.33") == {vera.id}  # digits, however written
    assert await search(w18, "+33 6 33 33 33 33") == {vera.id}
    # Victor lives in Belleville: the Goutte d'Or's worker finds him by nothing.
    for q in ("Victor", victor.email, "06 44 44 44 44", "44 44 44"):
        assert await search(w18, q) == set(), q
    assert await search(w20, "06 44 44 44 44") == {victor.id}  # stored as +33 6 …
    assert await search(w20, "victor") == {victor.id}
    assert await search(w20, "vera") == set()
    # Residents who are no volunteers are never found (Alice lives in the Goutte d'Or).
    assert await search(w18, "alice") == set()
    # Administrators see every territory.
    assert await search(world.admin, "@example") >= {vera.id, victor.id}

    short = await client.get(f"{API}/volunteers", params={"q": "v"}, headers=w18.headers)
    assert short.status_code == 422 and "q" in short.json()["fields"], short.text
    for who in (world.alice, vera):
        refused = await client.get(f"{API}/volunteers", params={"q": "vera"}, headers=who.headers)
        assert refused.status_code == 403
    # Every search is traced, and so is everyone it showed.
    assert await _audit(engine, w18, "vetting.search")
    assert vera.id in await _audit(engine, w18, "vetting.view")
    assert victor.id not in await _audit(engine, w18, "vetting.view")


async def test_a_worker_of_another_centre_cannot_read_or_write_the_record(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    vera = world.vera
    url = f"{API}/volunteers/{vera.id}/vetting"
    extract = (date.today() - timedelta(days=10)).isoformat()
    body = vetting_body(10)

    await vetting_refused(client, url, world.worker_20)
    # Nor through the pages: the record page and its form are the audited 403 page.
    sign_in(client, world.worker_20)
    page = await client.get(f"/centre/verification/{vera.id}")
    assert page.status_code == 403 and "Accès refusé" in page.text
    assert VERA_PHONE not in page.text and vera.email not in page.text
    own = await client.get("/centre/verification")
    posted = await client.post(
        f"/centre/verification/{vera.id}",
        data={"_csrf_token": csrf_of(own.text), "record_extract_date": extract},
    )
    assert posted.status_code == 403 and "Accès refusé" in posted.text
    client.cookies.clear()

    record = (await client.get(url, headers=world.worker_18.headers)).json()
    assert record["record_extract_date"] is None and record["vetted"] is False
    refused = await _audit(engine, world.worker_20, "refused.getVetting", "refused")
    refused += await _audit(engine, world.worker_20, "refused.setVetting", "refused")
    assert len(refused) == 2
    assert len(await _audit(engine, world.worker_20, "refused.pageCentreVolunteerVetting",
                            "refused")) == 1  # fmt: skip
    # The territory's own worker writes it; an unknown volunteer is not found.
    done = await client.put(url, json=body, headers=world.worker_18.headers)
    assert done.status_code == 200 and done.json()["vetted"] is True
    missing = await client.get(f"{API}/volunteers/999999/vetting", headers=world.worker_18.headers)
    assert missing.status_code == 404
    # Someone who is no volunteer has no record.
    alice = await client.get(
        f"{API}/volunteers/{world.alice.id}/vetting", headers=world.worker_18.headers
    )
    assert alice.status_code == 404


async def test_the_vetting_page_finds_a_volunteer_by_name_email_or_phone(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.worker_18)
    start = await client.get("/centre/verification")
    assert start.status_code == 200
    assert "Numéro du bénévole" not in start.text
    for q in ("Vera", world.vera.email, "06 33 33 33 33"):
        found = await client.get("/centre/verification", params={"q": q})
        assert found.status_code == 200, q
        results = found.text[found.text.index('id="resultats"') : found.text.index('id="attente"')]
        assert f'href="/centre/verification/{world.vera.id}"' in results, q
        assert f"/centre/verification/{world.victor.id}" not in results, q
        assert "rue" not in results  # no address, ever
    nobody = await client.get("/centre/verification", params={"q": "Victor"})
    assert "Aucun bénévole de votre territoire ne correspond." in _plain(nobody.text)
    short = await client.get("/centre/verification", params={"q": "V"})
    assert short.status_code == 422
    assert 'aria-describedby="q-error"' in short.text and 'id="q-error"' in short.text
    # The former link by number still leads to the record.
    old = await client.get(f"/centre/verification?benevole={world.vera.id}", follow_redirects=False)
    assert old.status_code == 303
    assert old.headers["location"] == f"/centre/verification/{world.vera.id}"
    unknown = await client.get("/centre/verification/999999")
    assert unknown.status_code == 404 and "Page introuvable" in unknown.text

    english = await client.post(
        "/langue",
        data={"_csrf_token": csrf_of(start.text), "value": "en",
              "suite": "/centre/verification?q=Vera"},
    )  # fmt: skip
    assert english.status_code == 200 and '<html lang="en"' in english.text
    assert "Find a volunteer" in english.text and "Awaiting vetting" in english.text
    assert "Open their vetting record" in english.text


async def test_the_lists_show_who_awaits_vetting_and_the_extracts_expiring_within_60_days(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    today = date.today()
    oldest_current = today - RECORD_VALIDITY  # an extract of this day expires today
    sensitive = await _volunteer(client, "Sacha", categories=["visite_convivialite"])
    soon = await _volunteer(client, "Solene")
    later = await _volunteer(client, "Louis")
    lapsed = await _volunteer(client, "Lazare", categories=["courses"])
    await _set_record(engine, soon, world.worker_18, oldest_current + timedelta(days=30))
    await _set_record(engine, later, world.worker_18, oldest_current + timedelta(days=90))
    await _set_record(engine, lapsed, world.worker_18, oldest_current - timedelta(days=1))

    async def listed(who: Person, which: str) -> list[int]:
        response = await client.get(f"{API}/volunteers/{which}", headers=who.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    waiting = await listed(world.worker_18, "awaiting-vetting")
    # Never vetted, or an extract older than three years; offering sensitive help first.
    # Vera and Sacha offer visits (sensitive), by seniority; Lazare offers shopping only.
    assert waiting == [world.vera.id, sensitive.id, lapsed.id]
    assert await listed(world.worker_18, "expiring-vetting") == [soon.id]
    # Belleville's worker sees Belleville's volunteers only.
    assert await listed(world.worker_20, "awaiting-vetting") == [world.victor.id]
    assert await listed(world.worker_20, "expiring-vetting") == []

    sign_in(client, world.worker_18)
    page = await client.get("/centre/verification")
    waiting_part = page.text[page.text.index('id="attente"') : page.text.index('id="expiration"')]
    expiring_part = page.text[page.text.index('id="expiration"') :]
    for who in (sensitive, world.vera, lapsed):
        assert f'href="/centre/verification/{who.id}"' in waiting_part
    assert f'href="/centre/verification/{soon.id}"' in expiring_part
    assert f"/centre/verification/{later.id}" not in page.text
    assert world.victor.email not in page.text
    expires = format_date(oldest_current + timedelta(days=30) + RECORD_VALIDITY, "d MMMM y",
                          locale="fr")  # fmt: skip
    assert f"L'extrait expire le {expires}, dans 30 jours." in _plain(expiring_part)
    assert "Propose une aide sensible : Visite de convivialité" in _plain(waiting_part)
    lapsed_day = format_date(oldest_current - timedelta(days=1) + RECORD_VALIDITY, "d MMMM y",
                             locale="fr")  # fmt: skip
    assert f"Extrait expiré le {lapsed_day}." in _plain(waiting_part)


async def test_the_record_is_written_on_the_volunteers_page(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.worker_20)
    victor = world.victor.id
    shown = await client.get(f"/centre/verification/{victor}")
    assert shown.status_code == 200
    assert "<h1>Victor</h1>" in shown.text and "Non vérifié" in shown.text
    assert VICTOR_PHONE in shown.text

    today = date.today()
    future = await client.post(
        f"/centre/verification/{victor}",
        data={"_csrf_token": csrf_of(shown.text),
              "record_extract_date": (today + timedelta(days=3)).isoformat()},
    )  # fmt: skip
    assert future.status_code == 422
    assert 'aria-describedby="record_extract_date-error"' in future.text
    empty = await client.post(
        f"/centre/verification/{victor}", data={"_csrf_token": csrf_of(shown.text)}
    )
    assert empty.status_code == 422 and "Entrez au moins une des deux dates." in _plain(empty.text)

    extract = today - timedelta(days=100)
    recorded = await client.post(
        f"/centre/verification/{victor}",
        data={"_csrf_token": csrf_of(shown.text), "id_checked_on": today.isoformat(),
              "record_extract_date": extract.isoformat()},
        follow_redirects=False,
    )  # fmt: skip
    assert recorded.status_code == 303
    assert recorded.headers["location"] == f"/centre/verification/{victor}?fait=verifie"
    after = await client.get(recorded.headers["location"])
    assert "La vérification est enregistrée." in _plain(after.text)
    assert "Vérifié : peut recevoir des demandes sensibles." in _plain(after.text)
    expires = format_date(extract + RECORD_VALIDITY, "d MMMM y", locale="fr")
    assert expires in _plain(after.text)
    client.cookies.clear()
    vetting = await client.get(
        f"{API}/volunteers/{victor}/vetting", headers=world.worker_20.headers
    )
    assert vetting.json()["vetted"] is True
    assert vetting.json()["id_checked_by"] == world.worker_20.id


async def test_staff_without_their_second_factor_are_refused_the_search_and_the_lists(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    half = await half_logged_in(client, engine, centre_ids=(world.centre_18,))
    paths = ["/volunteers", "/volunteers?q=vera", "/volunteers/awaiting-vetting"]
    paths += ["/volunteers/expiring-vetting", f"/volunteers/{world.vera.id}/vetting"]
    for path in paths:
        response = await client.get(f"{API}{path}", headers=half.headers)
        assert response.status_code == 403, (path, response.text)
        assert "second factor" in response.json()["detail"]
