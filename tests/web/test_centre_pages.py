"""The centre's pages over the real app (HTTP level): the review queue, the follow-up
list, reports and suspension, vetting, assisted residents and posting for them, the
territory map and the statistics — and who is refused them (a page, never JSON).

Over 400 lines: the workspace's pages share one seeded world and one way in; the
centre's API behaviour is tests/test_moderation.py's."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ..support.csrf import csrf_of
from ..support.followups import no_response_followup
from ..support.sign_in import HTMX, log_in_with_code, sign_in
from ..support.world import HOME_ALICE, HOME_ODILE, World, build_world, post_body, with_matches

CENTRE_PAGES = (
    "/centre", "/centre/suivi", "/centre/habitants", "/centre/signalements",
    "/centre/verification", "/centre/carte", "/centre/statistiques",
)  # fmt: skip


def _plain(page: str) -> str:
    """A page's text as typed: entities decoded, French non-breaking spaces (the
    typography filter's) as plain ones."""
    return html.unescape(page).replace("\xa0", " ").replace("\u202f", " ")


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await with_matches(client, engine, await build_world(client, engine))
    client.cookies.clear()
    return world


@pytest.fixture
async def small_world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await build_world(client, engine)
    client.cookies.clear()
    return world


async def test_centre_pages_without_a_session_go_to_the_login_page(
    client: AsyncTestClient,
) -> None:
    for path in CENTRE_PAGES:
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/connexion?suite={path}"
    posted = await client.post("/centre/suivi/1/contact", follow_redirects=False)
    assert posted.status_code == 403  # CSRF first: no token, no further


async def test_centre_pages_are_refused_to_residents_as_an_audited_page(
    client: AsyncTestClient, small_world: World, engine: AsyncEngine
) -> None:
    sign_in(client, small_world.alice)
    for path in CENTRE_PAGES:
        refused = await client.get(path)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"].startswith("text/html")
        assert "Accès refusé" in refused.text and 'role="alert"' in refused.text
    async with engine.connect() as conn:
        actions = set(
            (
                await conn.execute(
                    text(
                        "SELECT action FROM audit_log WHERE actor_id = :a AND outcome = 'refused'"
                    ),
                    {"a": small_world.alice.id},
                )
            ).scalars()
        )
    assert {"refused.pageCentreQueue", "refused.pageCentreStatistics"} <= actions


async def test_the_review_queue_wants_a_reason_then_approves_and_rejects(
    client: AsyncTestClient, world: World
) -> None:
    await log_in_with_code(client, world.worker_18)
    queue = await client.get("/centre")
    assert queue.status_code == 200
    first, second = world.matches["odile_vera_1"], world.matches["odile_vera_2"]
    # Oldest first, with what is needed to decide: both sides, vetting, history.
    assert queue.text.index(f'id="file-match-{first}"') < queue.text.index(
        f'id="file-match-{second}"'
    )
    assert "Odile" in queue.text and "Vera" in queue.text
    assert "Vérifié, valable jusqu&#39;au" in queue.text
    assert "Aides terminées" in queue.text
    assert "Mise en relation : Visite 1 le jeudi" in _plain(queue.text)
    # The matcher's reasons, in words: a band between public squares, shares in percent.
    assert "Pourquoi ce bénévole a été proposé" in queue.text
    assert re.search(
        r"Distance entre les carrés publics : (moins de 1 km|\d+ à \d+ km)", _plain(queue.text)
    )
    assert re.search(r"Fiabilité \(aides tenues\) : \d+ %", _plain(queue.text))

    missing = await client.post(
        f"/centre/validation/match/{first}",
        data={"_csrf_token": csrf_of(queue.text), "decision": "approve", "note": " "},
    )
    assert missing.status_code == 422
    assert f'aria-describedby="note-match-{first}-aide note-match-{first}-erreur"' in (missing.text)
    assert f'id="note-match-{first}-erreur"' in missing.text

    missing_htmx = await client.post(
        f"/centre/validation/match/{first}",
        data={"_csrf_token": csrf_of(queue.text), "decision": "approve", "note": ""},
        headers=HTMX,
    )
    assert missing_htmx.status_code == 200  # the card again, with its message
    assert missing_htmx.text.lstrip().startswith(f'<li class="card" id="file-match-{first}"')
    assert f'id="note-match-{first}-erreur"' in missing_htmx.text

    approved = await client.post(
        f"/centre/validation/match/{first}",
        data={"_csrf_token": csrf_of(queue.text), "decision": "approve",
              "note": "Bénévole connue du centre"},
        follow_redirects=False,
    )  # fmt: skip
    assert approved.status_code == 303
    assert approved.headers["location"] == "/centre?fait=approuve"

    rejected = await client.post(
        f"/centre/validation/match/{second}",
        data={"_csrf_token": csrf_of(queue.text), "decision": "reject",
              "note": "Horaires incompatibles avec le planning de la famille"},
        headers=HTMX,
    )  # fmt: skip
    assert rejected.status_code == 200
    assert rejected.text.lstrip().startswith(f'<li class="card" id="file-match-{second}"')
    assert "Refusé." in rejected.text and 'role="status"' in rejected.text

    after = await client.get("/centre?fait=approuve")
    assert "Décision enregistrée : c'est validé." in _plain(after.text)
    assert f'id="file-match-{first}"' not in after.text
    assert f'id="file-match-{second}"' not in after.text

    client.cookies.clear()
    states = {
        m: (await client.get(f"/api/v1/me/propositions/{m}", headers=world.vera.headers)).json()[
            "status"
        ]
        for m in (first, second)
    }
    assert states == {first: "confirmed", second: "rejected"}


async def test_the_other_centres_worker_cannot_decide(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.worker_20)
    queue = await client.get("/centre")
    first = world.matches["odile_vera_1"]
    assert f'id="file-match-{first}"' not in queue.text
    refused = await client.post(
        f"/centre/validation/match/{first}",
        data={"_csrf_token": csrf_of(queue.text), "decision": "approve", "note": "Pourquoi pas"},
    )
    assert refused.status_code == 403
    assert "Accès refusé" in refused.text


async def test_a_follow_up_contact_is_recorded(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    followup = await no_response_followup(engine, world.posts["alice"], world.centre_18)
    sign_in(client, world.worker_18)
    listing = await client.get("/centre/suivi")
    assert listing.status_code == 200
    assert f'id="suivi-{followup}"' in listing.text
    assert "Demande restée sans réponse" in listing.text and "Alice" in listing.text
    assert world.phones["alice"] in listing.text  # whom to call
    # Whom the matcher asked, and why, in words (Vera and Victor were asked).
    card = listing.text.split(f'id="suivi-{followup}"', 1)[1].split("<form", 1)[0]
    assert "2 voisins sollicités, et pourquoi" in card and "Vera" in card
    assert re.search(r"(moins de 1 km|\d+ à \d+ km) · savoir-faire \d+ %", card)

    empty = await client.post(
        f"/centre/suivi/{followup}/contact",
        data={"_csrf_token": csrf_of(listing.text), "outcome": "", "contacted_at": ""},
    )
    assert empty.status_code == 422
    assert f'id="outcome-suivi-{followup}-erreur"' in empty.text

    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    refused = await client.post(
        f"/centre/suivi/{followup}/contact",
        data={"_csrf_token": csrf_of(listing.text), "outcome": "Appel passé",
              "contacted_at": future},
        headers=HTMX,
    )  # fmt: skip
    assert refused.status_code == 200
    assert f'id="contacted_at-suivi-{followup}-erreur"' in refused.text
    assert 'value="Appel passé"' not in refused.text  # a textarea keeps its text inside
    assert ">Appel passé</textarea>" in refused.text

    recorded = await client.post(
        f"/centre/suivi/{followup}/contact",
        data={"_csrf_token": csrf_of(listing.text),
              "outcome": "Appel : a trouvé une voisine pour ses courses",
              "contacted_at": ""},
        headers=HTMX,
    )  # fmt: skip
    assert recorded.status_code == 200
    assert "Contacté le" in recorded.text and ">vous<" in recorded.text
    assert "a trouvé une voisine pour ses courses" in recorded.text
    assert "<form" not in recorded.text

    still_open = await client.get("/centre/suivi")
    assert f'id="suivi-{followup}"' not in still_open.text
    everything = await client.get("/centre/suivi?tous=1")
    assert f'id="suivi-{followup}"' in everything.text


async def test_a_report_is_resolved_and_a_reported_person_suspended(
    client: AsyncTestClient, world: World
) -> None:
    about_post = await client.post(
        "/api/v1/reports",
        json={"post_id": world.posts["alice"], "reason": "unsafe", "comment": "Bizarre"},
        headers=world.vera.headers,
    )
    assert about_post.status_code == 201, about_post.text
    about_person = await client.post(
        "/api/v1/reports",
        json={"match_id": world.matches["basile_victor"], "reason": "no_show"},
        headers=world.victor.headers,
    )
    assert about_person.status_code == 201, about_person.text
    post_report, person_report = about_post.json()["id"], about_person.json()["id"]

    sign_in(client, world.worker_18)
    reports = await client.get("/centre/signalements")
    assert f'id="signalement-{post_report}"' in reports.text
    assert "Danger pour quelqu&#39;un" in reports.text and "Bizarre" in reports.text
    assert f'id="signalement-{person_report}"' not in reports.text  # Belleville's
    missing = await client.post(
        f"/centre/signalements/{post_report}/resoudre",
        data={"_csrf_token": csrf_of(reports.text), "resolution": ""},
    )
    assert missing.status_code == 422
    assert f'id="resolution-signalement-{post_report}-erreur"' in missing.text
    resolved = await client.post(
        f"/centre/signalements/{post_report}/resoudre",
        data={"_csrf_token": csrf_of(reports.text), "resolution": "Annonce vérifiée avec Alice"},
        follow_redirects=False,
    )
    assert resolved.status_code == 303
    assert f'id="signalement-{post_report}"' not in (await client.get("/centre/signalements")).text
    closed = await client.get("/centre/signalements?tous=1")
    assert "Clos le" in closed.text and "Annonce vérifiée avec Alice" in closed.text

    sign_in(client, world.worker_20)
    reports = await client.get("/centre/signalements")
    assert f'id="signalement-{person_report}"' in reports.text and "Basile" in reports.text
    suspended = await client.post(
        f"/centre/signalements/{person_report}/suspendre",
        data={"_csrf_token": csrf_of(reports.text), "note": "Absences répétées, sans nouvelles"},
        headers=HTMX,
    )
    assert suspended.status_code == 200
    assert "Le compte est suspendu" in suspended.text
    client.cookies.clear()
    gone = await client.get("/api/v1/me", headers=world.basile.headers)
    assert gone.status_code == 401  # the suspension ended Basile's sessions


async def test_an_assisted_resident_is_registered_and_a_request_posted_for_them(
    client: AsyncTestClient, small_world: World, engine: AsyncEngine
) -> None:
    world = small_world
    sign_in(client, world.worker_18)
    residents = await client.get("/centre/habitants")
    assert residents.status_code == 200 and "Odile" in residents.text
    no_consent = await client.post(
        "/centre/habitants",
        data={"_csrf_token": csrf_of(residents.text), "display_name": "Marcel",
              "consent_centre": str(world.centre_18)},
    )  # fmt: skip
    assert no_consent.status_code == 422 and 'id="consent-error"' in no_consent.text
    created = await client.post(
        "/centre/habitants",
        data={"_csrf_token": csrf_of(residents.text), "display_name": "Marcel",
              "phone": "01 40 00 00 00", "vulnerability": "isolated_elderly",
              "consent_method": "phone", "consent_on": date.today().isoformat(),
              "consent_centre": str(world.centre_18)},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    assert "Marcel" in (await client.get("/centre/habitants")).text

    form_page = await client.get(f"/centre/habitants/{world.odile_id}/annonce")
    assert form_page.status_code == 200 and 'data-pick-lon="lon"' in form_page.text
    day = (date.today() + timedelta(days=3)).isoformat()
    values = {
        "_csrf_token": csrf_of(form_page.text), "kind": "request", "category": "courses",
        "title": "Courses du vendredi", "description": "Deux sacs", "lon": str(HOME_ODILE[0]),
        "lat": str(HOME_ODILE[1]), "schedule_type": "once", "date": day, "start": "10:00",
        "end": "09:00", "volunteers_needed": "1",
    }  # fmt: skip
    backwards = await client.post(f"/centre/habitants/{world.odile_id}/annonce", data=values)
    assert backwards.status_code == 422 and 'id="schedule-error"' in backwards.text
    posted = await client.post(
        f"/centre/habitants/{world.odile_id}/annonce",
        data={**values, "end": "12:00"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == "/centre/habitants?fait=publiee"
    async with engine.connect() as conn:
        post = (
            await conn.execute(
                text("SELECT author_id, created_by, status FROM posts WHERE title = :t"),
                {"t": "Courses du vendredi"},
            )
        ).one()
    assert (post.author_id, post.created_by, post.status) == (
        world.odile_id, world.worker_18.id, "published",
    )  # fmt: skip

    sign_in(client, world.worker_20)
    elsewhere = await client.get(f"/centre/habitants/{world.odile_id}/annonce")
    assert elsewhere.status_code == 404 and "Page introuvable" in elsewhere.text


async def test_the_territory_map_shows_cells_of_five_posts_or_more_as_data_and_a_table(
    client: AsyncTestClient, small_world: World
) -> None:
    world = small_world
    for n in range(5):
        body = post_body(HOME_ALICE, title=f"Demande {n}")
        response = await client.post("/api/v1/posts", json=body, headers=world.alice.headers)
        assert response.status_code == 201, response.text
    sign_in(client, world.worker_18)
    page = await client.get("/centre/carte")
    assert page.status_code == 200
    found = re.search(r"data-cells='([^']*)'", page.text)
    assert found
    cells = json.loads(html.unescape(found.group(1)))
    assert cells and all(c["count"] >= 5 for c in cells)
    assert any(c["requests"] >= 6 for c in cells)  # the 5 and Alice's first request
    assert "<caption>Annonces par carré de la grille</caption>" in page.text
    assert "style=" not in page.text

    bad = await client.get("/centre/carte?from=2026-13-01")
    assert bad.status_code == 422 and 'id="from-error"' in bad.text

    sign_in(client, world.worker_20)
    other = await client.get(f"/centre/carte?centre={world.centre_18}")
    assert other.status_code == 403 and "Accès refusé" in other.text
    own = await client.get("/centre/carte")
    assert own.status_code == 200 and "Centre social Belleville" in own.text


async def test_the_statistics_page_draws_charts_with_a_table_and_links_the_csv(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.worker_18)
    page = await client.get("/centre/statistiques")
    assert page.status_code == 200
    assert "Centre social Goutte d&#39;Or" in page.text
    assert '<svg class="chart"' in page.text and '<title id="graphique-titre">' in page.text
    assert "<caption>Demandes, offres et mises en relation par catégorie</caption>" in page.text
    assert "style=" not in page.text  # the CSP allows no style attribute
    link = re.search(r'href="(/api/v1/centres/\d+/statistics\.csv[^"]*)"', page.text)
    assert link
    csv = await client.get(html.unescape(link.group(1)))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "Demandes publiées" in csv.text

    switched = await client.post(
        "/langue",
        data={"_csrf_token": csrf_of(page.text), "value": "en", "suite": "/centre/statistiques"},
    )
    assert switched.status_code == 200 and '<html lang="en"' in switched.text
    assert "Requests, offers and matches per category" in switched.text

    sign_in(client, world.worker_20)
    refused = await client.get(f"/centre/statistiques?centre={world.centre_18}")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "Accès refusé" in refused.text


async def _reads_of(engine: AsyncEngine, actor_id: int, resident_id: int) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM audit_log WHERE actor_id = :a AND object_id = :r "
                        "AND action = 'assisted_resident.view'"
                    ),
                    {"a": actor_id, "r": resident_id},
                )
            ).scalar_one()
        )


async def test_an_assisted_residents_page_follows_their_posts_and_the_confirmed_contact(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    odile = world.odile_id
    first = world.matches["odile_vera_1"]
    approved = await client.post(
        f"/api/v1/matches/{first}/approve",
        json={"reason": "Bénévole connue du centre"},
        headers=world.worker_18.headers,
    )
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"

    sign_in(client, world.worker_18)
    residents = await client.get("/centre/habitants")
    assert f'<a href="/centre/habitants/{odile}">Odile</a>' in residents.text

    traces_before = await _reads_of(engine, world.worker_18.id, odile)
    shown = await client.get(f"/centre/habitants/{odile}")
    assert shown.status_code == 200
    # Reading the resident's record leaves a trace, like the other reads of the centre.
    assert await _reads_of(engine, world.worker_18.id, odile) == traces_before + 1
    assert "<h1>Odile</h1>" in shown.text
    # Newest first: the second visit was posted after the first.
    one, two = world.posts["odile_1"], world.posts["odile_2"]
    assert shown.text.index(f'id="annonce-{two}"') < shown.text.index(f'id="annonce-{one}"')
    assert f'<a href="/annonces/{one}">Visite 1 le jeudi</a>' in shown.text
    card_one = shown.text[shown.text.index(f'id="annonce-{one}"') :]
    card_two = shown.text[shown.text.index(f'id="annonce-{two}"') : shown.text.index(
        f'id="annonce-{one}"'
    )]  # fmt: skip
    # The confirmed volunteer's name and phone on the first visit only.
    assert "Vera" in card_one and world.phones["vera"] in card_one
    assert "C&#39;est confirmé. Vous pouvez vous écrire." in card_one
    assert world.phones["vera"] not in card_two
    assert "Le centre social vérifie avant de vous mettre en contact." in card_two
    assert re.search(r"État : [^<]+", _plain(card_one))
    assert "Bénévoles sollicités : " in _plain(card_one)

    missing = await client.get("/centre/habitants/999999")
    assert missing.status_code == 404 and "Page introuvable" in missing.text

    english = await client.post(
        "/langue",
        data={"_csrf_token": csrf_of(shown.text), "value": "en",
              "suite": f"/centre/habitants/{odile}"},
    )  # fmt: skip
    assert english.status_code == 200 and '<html lang="en"' in english.text
    assert "Their posts" in english.text and "Volunteers asked: " in english.text
    assert world.phones["vera"] in english.text

    sign_in(client, world.worker_20)
    refused = await client.get(f"/centre/habitants/{odile}")
    assert refused.status_code == 403 and "Accès refusé" in refused.text
    assert world.phones["vera"] not in refused.text and "Visite 1" not in refused.text

    sign_in(client, world.alice)
    resident = await client.get(f"/centre/habitants/{odile}")
    assert resident.status_code == 403 and "Accès refusé" in resident.text

    client.cookies.clear()
    anonymous = await client.get(f"/centre/habitants/{odile}", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/connexion?suite=/centre/habitants/{odile}"

    async with engine.connect() as conn:
        refusals = {
            r.actor_id
            for r in await conn.execute(
                text(
                    "SELECT actor_id FROM audit_log WHERE outcome = 'refused' "
                    "AND action = 'refused.pageCentreResident'"
                )
            )
        }
    assert {world.worker_20.id, world.alice.id} <= refusals
