"""The centre's housing pages (issue 16) for its social workers: the workspace, recording
an assisted resident's application, an application with its steps and candidates, a
pair from the proposal to the follow-up visits and its documents. Each page renders
for the centre's worker and is a 404 for another centre's; refusals show the form
again with the French message naming the field; one page is checked in English.
Over 400 lines: one workspace's pages, each with its refusals, on one shared world.

World (tests/support/housing.py): Odile (assisted, 78) hosts in the Goutte d'Or, her
application recorded by worker_18; Basile (22, a student) applies himself."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from babel.dates import format_date
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.housing.rules import add_months
from voisins.schedule import paris_today

from ..support.csrf import csrf_of
from ..support.housing import (
    API,
    ODILE_HOME_ADDRESS,
    applications,
    in_days,
    in_trial,
    ok,
    propose,
    step,
    years_ago,
    young_body,
)
from ..support.sign_in import sign_in
from ..support.world import HOME_ODILE, World, build_world

WORKSPACE = "/centre/logement"


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await build_world(client, engine)
    client.cookies.clear()
    return world


def plain(page: str) -> str:
    """The page's text as a reader sees it: no tags, entities and no-break spaces undone,
    one space between words."""
    words = html.unescape(re.sub(r"<[^>]+>", " ", page))
    return re.sub(r"\s+", " ", words.replace("\xa0", " ").replace("\u202f", " "))


def today() -> datetime:
    return datetime.now(UTC)


async def form_token(client: AsyncTestClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def host_form(world: World, **overrides: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "person_id": str(world.odile_id),
        "centre_id": str(world.centre_18),
        "birth_date": years_ago(78),
        "available_from": in_days(7),
        "available_until": "",
        "size_m2": "12",
        "floor": "2",
        "furnished": "1",
        "formulas": "solidarity",
        "monthly_eur": "150",
        "services": ["evening_presence", "shopping"],
        "languages": ["fr"],
        "has_pets": "1",
        "accepts_pets": "1",
        "rhythm": "early",
        "address": ODILE_HOME_ADDRESS,
        "lon": str(HOME_ODILE[0]),
        "lat": str(HOME_ODILE[1]),
        "about": "Une chambre calme sur cour.",
    }
    return form | overrides


async def test_the_workspace_shows_applications_pairs_and_a_late_visit(
    client: AsyncTestClient, world: World
) -> None:
    housing = await in_trial(client, world, moved_in_days_ago=40)
    sign_in(client, world.worker_18)
    page = await client.get(WORKSPACE)
    assert page.status_code == 200, page.text
    shown = plain(page.text)
    assert "Logement intergénérationnel" in shown
    assert '<a href="/centre/logement" aria-current="page">' in page.text  # the centre's nav
    assert f'href="{WORKSPACE}/binomes/{housing.pair}"' in page.text
    assert "Odile accueille Basile" in shown and "En période d'essai" in shown
    # Moved in 40 days ago: the first visit (one month after) is due and late.
    due = add_months(paris_today(today()) - timedelta(days=40), 1)
    due_words = format_date(due, "d MMMM y", locale="fr")
    assert f"Prochaine visite de suivi : le {due_words} en retard" in shown
    # The marker is the visit's own (the trial is over too, marked on its own line).
    assert re.search(r"Prochaine visite de suivi(?:(?!</p>).)*badge late", page.text)
    assert f"{WORKSPACE}/candidatures/nouvelle?cote=hote" in page.text
    assert f"{WORKSPACE}/candidatures/nouvelle?cote=jeune" in page.text


async def test_open_applications_are_listed_by_side_with_their_vetting(
    client: AsyncTestClient, world: World
) -> None:
    housing = await applications(client, world)
    sign_in(client, world.worker_18)
    shown = plain((await client.get(WORKSPACE)).text)
    hosts, young = shown.split("Jeunes (")[0], shown.split("Jeunes (")[1]
    assert "Odile" in hosts.split("Hôtes (")[1] and "Basile" in young
    assert "Visite du logement : fait, favorable" in hosts
    assert "Références : fait, favorable" in young
    page = await client.get(WORKSPACE)
    assert f'href="{WORKSPACE}/candidatures/{housing.host_application}"' in page.text


async def test_another_centres_worker_gets_404_on_every_page(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    housing = await in_trial(client, world)
    generated = await client.post(
        f"{API}/housing/pairs/{housing.pair}/documents",
        json={"kind": "charter"},
        headers=world.worker_18.headers,
    )
    document = (await ok(generated))["id"]
    sign_in(client, world.worker_20)
    for path in (
        f"{WORKSPACE}/candidatures/{housing.host_application}",
        f"{WORKSPACE}/candidatures/{housing.young_application}",
        f"{WORKSPACE}/binomes/{housing.pair}",
        f"{WORKSPACE}/binomes/{housing.pair}/documents/{document}",
    ):
        refused = await client.get(path)
        assert refused.status_code == 404, path
        assert "Page introuvable" in refused.text
        assert "Odile" not in refused.text and "Basile" not in refused.text
    # Their own workspace does not list Goutte d'Or's people either.
    theirs = await client.get(WORKSPACE)
    assert theirs.status_code == 200
    assert "Odile" not in theirs.text and "Basile" not in theirs.text
    # A step sent to another centre's pair changes nothing.
    token = csrf_of(theirs.text)
    sent = await client.post(
        f"{WORKSPACE}/binomes/{housing.pair}/etapes",
        data={"_csrf_token": token, "kind": "agreement", "done_on": in_days(0)},
    )
    assert sent.status_code == 404
    async with engine.connect() as conn:
        status = (
            await conn.execute(
                text("SELECT status FROM housing_pairs WHERE id = :p"), {"p": housing.pair}
            )
        ).scalar()
    assert status == "trial"


async def test_a_resident_is_refused_the_workspace(client: AsyncTestClient, world: World) -> None:
    sign_in(client, world.basile)
    assert (await client.get(WORKSPACE)).status_code == 403


async def assisted_young(client: AsyncTestClient, world: World, name: str = "Yanis") -> int:
    """A young assisted resident of the Goutte d'Or, registered with his consent."""
    created = await client.post(
        "/api/v1/assisted-residents",
        json={
            "display_name": name,
            "consent": {
                "method": "in_person",
                "obtained_at": today().isoformat(),
                "centre_id": world.centre_18,
            },
        },
        headers=world.worker_18.headers,
    )
    return int((await ok(created))["id"])


async def send_host_form(client: AsyncTestClient, world: World, **overrides: str) -> Any:
    """worker_18 records Odile's host application through the form (``host_form``)."""
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/candidatures/nouvelle?cote=hote"
    token = await form_token(client, path)
    data = {"_csrf_token": token, **host_form(world, **overrides)}
    return await client.post(path, data=data, follow_redirects=False)


async def test_the_new_application_form_offers_the_assisted_residents_and_both_sides(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.worker_18)
    host = await client.get(f"{WORKSPACE}/candidatures/nouvelle?cote=hote")
    assert host.status_code == 200
    assert f'<option value="{world.odile_id}">Odile</option>' in host.text
    assert 'href="/centre/habitants#inscrire"' in host.text
    assert 'name="size_m2"' in host.text and 'name="occupation"' not in host.text
    assert 'type="radio" id="formula-solidarity" name="formulas"' in host.text
    assert 'data-pick-lon="lon"' in host.text  # the map picker
    young = await client.get(f"{WORKSPACE}/candidatures/nouvelle?cote=jeune")
    assert young.status_code == 200
    assert 'name="occupation"' in young.text and 'name="size_m2"' not in young.text
    assert 'type="checkbox" id="formula-solidarity" name="formulas"' in young.text
    assert "Enregistrer une candidature de jeune" in plain(young.text)


async def test_a_host_application_is_recorded_through_the_form(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sent = await send_host_form(client, world)
    assert sent.status_code == 303, sent.text
    found = re.fullmatch(
        rf"{WORKSPACE}/candidatures/(\d+)\?fait=candidature", sent.headers["location"]
    )
    assert found
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT side, person_id, recorded_by, formulas, monthly_eur, room_m2, "
                    "floor, has_pets, rhythm, address FROM housing_applications"
                )
            )
        ).one()
    assert row.side == "host" and row.person_id == world.odile_id
    assert row.recorded_by == world.worker_18.id
    assert list(row.formulas) == ["solidarity"] and row.monthly_eur == 150
    assert (row.room_m2, row.floor, row.has_pets, row.rhythm) == (12, 2, True, "early")
    assert row.address == ODILE_HOME_ADDRESS
    page = await client.get(sent.headers["location"])
    shown = plain(page.text)
    assert "La candidature est enregistrée." in shown
    assert "Candidature d'hôte : Odile" in shown and "78 ans" in shown
    assert "Participation solidaire aux charges" in shown and ODILE_HOME_ADDRESS in shown


async def test_a_host_under_60_is_refused_with_the_birth_date_named(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sent = await send_host_form(client, world, birth_date=years_ago(59))
    assert sent.status_code == 422
    assert 'id="birth_date-error"' in sent.text
    assert 'aria-describedby="birth_date-error"' in sent.text
    assert "Un hôte a 60 ans ou plus (loi ELAN, CASF art. L.118-1)." in plain(sent.text)
    # What was typed is kept.
    assert f'value="{years_ago(59)}"' in sent.text and "Une chambre calme sur cour." in sent.text
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM housing_applications"))).scalar()
    assert count == 0


async def test_the_form_names_each_missing_field(client: AsyncTestClient, world: World) -> None:
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/candidatures/nouvelle?cote=jeune"
    token = await form_token(client, path)
    young_id = await assisted_young(client, world)
    cases = [
        ({"person_id": ""}, "person_id", "Choisissez l'habitant accompagné"),
        ({"birth_date": ""}, "birth_date", "Entrez la date de naissance."),
        ({"birth_date": years_ago(31)}, "birth_date", "Un jeune a moins de 30 ans"),
        ({"occupation": ""}, "occupation", "Dites ce que fait le jeune"),
        ({"lon": "", "lat": "", "address": ""}, "location", "Placez l'épingle"),
        ({"available_until": in_days(3)}, "available_until", "La date de fin vient après"),
    ]
    base = {
        "person_id": str(young_id),
        "centre_id": str(world.centre_18),
        "birth_date": years_ago(22),
        "available_from": in_days(14),
        "available_until": in_days(300),
        "occupation": "student",
        "formulas": ["free_presence", "solidarity"],
        "monthly_eur": "250",
        "languages": ["fr"],
        "accepts_pets": "1",
        "rhythm": "flexible",
        "lon": "2.381743",
        "lat": "48.829127",
    }
    for change, field, words in cases:
        sent = await client.post(path, data={"_csrf_token": token, **base, **change})
        assert sent.status_code == 422, (field, sent.status_code)
        assert f'id="{field}-error"' in sent.text, field
        assert words in plain(sent.text), (field, words)
    recorded = await client.post(path, data={"_csrf_token": token, **base}, follow_redirects=False)
    assert recorded.status_code == 303, plain(recorded.text)[-600:]
    again = await client.post(path, data={"_csrf_token": token, **base})
    assert again.status_code == 422
    assert "Cette personne a déjà une candidature en cours de ce côté." in plain(again.text)


async def test_steps_are_recorded_and_candidates_shown_with_their_reasons(
    client: AsyncTestClient, world: World
) -> None:
    host = await ok(
        await client.post(
            f"{API}/housing/applications",
            json={
                "side": "host", "centre_id": world.centre_18, "person_id": world.odile_id,
                "birth_date": years_ago(78), "available_from": in_days(7),
                "location": {"lon": HOME_ODILE[0], "lat": HOME_ODILE[1]},
                "formulas": ["solidarity"], "monthly_eur": 150,
                "services": ["evening_presence", "shopping", "digital_help"],
                "languages": ["fr"], "habits": {"has_pets": True, "rhythm": "early"},
                "room": {"size_m2": 12, "floor": 2, "lift": False, "private_bathroom": False},
            },
            headers=world.worker_18.headers,
        )
    )  # fmt: skip
    await ok(
        await client.post(
            f"{API}/housing/applications", json=young_body(world.centre_18),
            headers=world.basile.headers,
        )
    )  # fmt: skip
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/candidatures/{host['id']}"
    page = await client.get(path)
    assert page.status_code == 200
    shown = plain(page.text)
    assert "Candidats possibles" in shown and "Basile" in shown
    assert "Distance : " in shown and "Période commune : " in shown
    assert "marge de budget : 100 € par mois" in shown
    assert "Services en commun : Aide au numérique, Présence le soir" in shown
    assert "Langues en commun : Français" in shown and "Rythmes de vie compatibles" in shown
    assert "Proposer ce binôme" in shown
    token = csrf_of(page.text)
    # A step in the future is refused, the field named.
    future = await client.post(
        f"{path}/etapes",
        data={"_csrf_token": token, "kind": "interview", "done_on": in_days(2),
              "outcome": "favourable"},
    )  # fmt: skip
    assert future.status_code == 422
    assert 'id="done_on-error"' in future.text
    assert "Une date passée ou aujourd'hui." in plain(future.text)
    # References are the young person's step, not a host's.
    wrong = await client.post(
        f"{path}/etapes",
        data={"_csrf_token": token, "kind": "references", "done_on": in_days(0),
              "outcome": "favourable"},
    )  # fmt: skip
    assert wrong.status_code == 422 and 'id="kind-error"' in wrong.text
    done = await client.post(
        f"{path}/etapes",
        data={"_csrf_token": token, "kind": "interview", "done_on": in_days(-1),
              "outcome": "favourable", "note": "Très motivée"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?fait=etape#etapes"
    after = plain((await client.get(done.headers["location"].split("#")[0])).text)
    assert "L'étape est enregistrée." in after
    assert "Premier entretien" in after and "Favorable" in after and "Très motivée" in after


async def test_proposing_needs_both_interviews_then_opens_the_pair(
    client: AsyncTestClient, world: World
) -> None:
    housing = await applications(client, world)
    # Basile's interview turns unfavourable: its latest record counts.
    await step(
        client, world.worker_18, f"/housing/applications/{housing.young_application}",
        "interview", 1, outcome="unfavourable",
    )  # fmt: skip
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/candidatures/{housing.host_application}"
    token = await form_token(client, path)
    refused = await client.post(
        f"{path}/proposer",
        data={"_csrf_token": token, "candidate": str(housing.young_application)},
    )
    assert refused.status_code == 409
    shown = plain(refused.text)
    assert "Pas de binôme sans le premier entretien favorable des deux personnes." in shown
    assert "Pas encore de premier entretien favorable." in shown
    await step(
        client, world.worker_18, f"/housing/applications/{housing.young_application}",
        "interview", 0,
    )  # fmt: skip
    proposed = await client.post(
        f"{path}/proposer",
        data={"_csrf_token": token, "candidate": str(housing.young_application)},
        follow_redirects=False,
    )
    assert proposed.status_code == 303
    found = re.fullmatch(rf"{WORKSPACE}/binomes/(\d+)\?fait=propose", proposed.headers["location"])
    assert found
    pair = await client.get(proposed.headers["location"])
    shown = plain(pair.text)
    assert "Binôme : Odile accueille Basile" in shown
    assert "Personne n'est prévenu avant la rencontre." in shown
    assert "Rencontre des deux avec le centre" in shown and "Binôme proposé" in shown
    assert f'href="{WORKSPACE}/candidatures/{housing.host_application}"' in pair.text
    assert f'href="{WORKSPACE}/candidatures/{housing.young_application}"' in pair.text


async def test_the_pair_moves_from_meeting_to_trial_and_refuses_an_early_agreement(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    housing = await applications(client, world)
    pair_id = await propose(client, world, housing)
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/binomes/{pair_id}"
    token = await form_token(client, path)

    async def send(kind: str, days_ago: int, **more: str) -> object:
        return await client.post(
            f"{path}/etapes",
            data={"_csrf_token": token, "kind": kind, "done_on": in_days(-days_ago), **more},
            follow_redirects=False,
        )

    met = await send("meeting", 10, outcome="favourable")
    assert met.status_code == 303 and met.headers["location"] == f"{path}?fait=rencontre#etapes"  # type: ignore[attr-defined]
    early = await send("agreement", 5)
    assert early.status_code == 409  # type: ignore[attr-defined]
    shown = plain(early.text)  # type: ignore[attr-defined]
    assert (
        "Pas de convention avant la période d'essai : enregistrez d'abord l'emménagement." in shown
    )
    # The agreement is not offered yet: the charter and the move are.
    assert "Préparer la charte" in shown and "Préparer la convention" not in shown
    before_meeting = await send("trial", 40)
    assert before_meeting.status_code == 422  # type: ignore[attr-defined]
    said = before_meeting.text  # type: ignore[attr-defined]
    assert 'id="done_on-trial-erreur"' in said
    assert "L'essai commence après la rencontre." in plain(said)
    moved = await send("trial", 5)
    assert moved.status_code == 303, plain(moved.text)  # type: ignore[attr-defined]
    page = plain((await client.get(f"{path}?fait=essai")).text)
    day = paris_today(today()) - timedelta(days=5)
    assert "Le début de la période d'essai est enregistré." in page
    assert "En période d'essai" in page and "Prochaine visite de suivi" in page
    assert "en retard" not in page
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, trial_started_on, next_visit_due FROM housing_pairs")
            )
        ).one()
    assert row.status == "trial" and row.trial_started_on == day
    assert row.next_visit_due == add_months(day, 1)


async def test_a_late_visit_is_flagged_and_a_followup_visit_moves_it(
    client: AsyncTestClient, world: World
) -> None:
    housing = await in_trial(client, world, moved_in_days_ago=40)
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/binomes/{housing.pair}"
    page = await client.get(path)
    shown = plain(page.text)
    due = add_months(paris_today(today()) - timedelta(days=40), 1)
    late = "La visite de suivi prévue le {} est en retard."
    assert re.search(late.format(r"\d+ \w+ \d{4}"), shown)
    # The trial ended too, without an agreement: said as well.
    assert "La période d'essai est finie depuis le" in shown
    sent = await client.post(
        f"{path}/etapes",
        data={"_csrf_token": csrf_of(page.text), "kind": "followup_visit",
              "done_on": in_days(0), "outcome": "favourable", "note": "Tout va bien"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303
    after = plain((await client.get(path)).text)
    assert "Visite de suivi" in after and "Tout va bien" in after
    assert not re.search(late.format(".*"), after)
    assert due.isoformat() not in after
    next_due = add_months(paris_today(today()), 3)
    assert f"Prochaine visite de suivi : le {next_due.day} " in after


async def test_documents_are_generated_and_downloaded_as_pdf(
    client: AsyncTestClient, world: World
) -> None:
    housing = await in_trial(client, world)
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/binomes/{housing.pair}"
    token = await form_token(client, path)
    made = await client.post(
        f"{path}/documents", data={"_csrf_token": token, "kind": "agreement"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303, made.text
    found = re.fullmatch(rf"{path}\?fait=document#document-(\d+)", made.headers["location"])
    assert found
    document = int(found.group(1))
    page = await client.get(made.headers["location"])
    link = f'href="{path}/documents/{document}" download'
    assert link in page.text
    assert "Convention de cohabitation intergénérationnelle solidaire" in plain(page.text)
    pdf = await client.get(f"{path}/documents/{document}")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        f'attachment; filename="convention-binome-{housing.pair}.pdf"'
    )
    assert pdf.content.startswith(b"%PDF")
    assert (await client.get(f"{path}/documents/{document + 1}")).status_code == 404


async def test_the_end_form_names_the_reason_and_closes_the_pair(
    client: AsyncTestClient, world: World
) -> None:
    housing = await in_trial(client, world)
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/binomes/{housing.pair}"
    token = await form_token(client, path)
    missing = await client.post(f"{path}/fin", data={"_csrf_token": token, "ended_on": in_days(0)})
    assert missing.status_code == 422
    assert 'id="reason-end-erreur"' in missing.text
    assert "Choisissez la raison." in plain(missing.text)
    ended = await client.post(
        f"{path}/fin",
        data={"_csrf_token": token, "reason": "moved", "ended_on": in_days(0),
              "host_feedback": "Une belle rencontre", "young_feedback": "Merci"},
        follow_redirects=False,
    )  # fmt: skip
    assert ended.status_code == 303
    shown = plain((await client.get(ended.headers["location"])).text)
    assert "La fin du binôme est enregistrée." in shown
    assert "Déménagement" in shown and "Une belle rencontre" in shown
    assert "Terminer le binôme" not in shown and "Préparer la convention" not in shown


async def test_a_page_in_english(client: AsyncTestClient, world: World) -> None:
    housing = await in_trial(client, world, moved_in_days_ago=40)
    chosen = await client.patch(
        "/api/v1/me", json={"locale": "en"}, headers=world.worker_18.headers
    )
    assert chosen.status_code == 200, chosen.text
    sign_in(client, world.worker_18)
    page = await client.get(f"{WORKSPACE}/binomes/{housing.pair}")
    assert page.status_code == 200
    assert '<html lang="en"' in page.text
    shown = plain(page.text)
    assert "Pair: Odile hosts Basile" in shown
    assert "Trial period" in shown and "Next follow-up visit" in shown and "overdue" in shown
    assert "Période d'essai" not in shown and "Prochaine visite" not in shown


async def test_withdrawing_an_open_application_and_not_one_living_in_a_pair(
    client: AsyncTestClient, world: World
) -> None:
    housing = await in_trial(client, world)
    second = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=young_body(world.centre_18),
            headers=world.alice.headers,
        )
    )
    sign_in(client, world.worker_18)
    paired = f"{WORKSPACE}/candidatures/{housing.young_application}"
    token = await form_token(client, paired)
    refused = await client.post(f"{paired}/retirer", data={"_csrf_token": token})
    assert refused.status_code == 409
    assert "Terminez d'abord le binôme en cours." in plain(refused.text)
    path = f"{WORKSPACE}/candidatures/{second['id']}"
    withdrawn = await client.post(
        f"{path}/retirer", data={"_csrf_token": token}, follow_redirects=False
    )
    assert withdrawn.status_code == 303
    shown = plain((await client.get(withdrawn.headers["location"])).text)
    assert "La candidature est retirée." in shown and "Retirée" in shown
    assert "Retirer la candidature" not in shown and "Enregistrer l'étape" not in shown


async def test_double_taps_and_far_dates_get_words_not_errors(
    client: AsyncTestClient, world: World
) -> None:
    """What a hurried worker on a phone sends: the same form twice, a date from another
    century, an id no select offers. Each gets a French word, never a silent 409 or a
    500."""
    housing = await applications(client, world)
    sign_in(client, world.worker_18)
    path = f"{WORKSPACE}/candidatures/{housing.host_application}"
    token = await form_token(client, path)
    proposal = {"_csrf_token": token, "candidate": str(housing.young_application)}
    first = await client.post(f"{path}/proposer", data=proposal, follow_redirects=False)
    assert first.status_code == 303
    again = await client.post(f"{path}/proposer", data=proposal)
    assert again.status_code == 409
    assert "Cette candidature n'est plus ouverte." in plain(again.text)
    pair_path = first.headers["location"].split("?")[0]
    pair_id = int(pair_path.rsplit("/", 1)[1])
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 3)
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "trial", 2)
    agreement = {"_csrf_token": token, "kind": "agreement", "done_on": in_days(0)}
    signed = await client.post(f"{pair_path}/etapes", data=agreement, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    twice = await client.post(f"{pair_path}/etapes", data=agreement)
    assert twice.status_code == 409
    assert "La convention est déjà enregistrée." in plain(twice.text)
    far = await client.post(
        f"{pair_path}/etapes",
        data={"_csrf_token": token, "kind": "followup_visit", "done_on": "0001-01-01"},
    )
    assert far.status_code == 422
    assert "Au plus dix ans en arrière : vérifiez l'année." in plain(far.text)
    end = {"_csrf_token": token, "reason": "moved", "ended_on": in_days(0)}
    ended = await client.post(f"{pair_path}/fin", data=end, follow_redirects=False)
    assert ended.status_code == 303
    ended_twice = await client.post(f"{pair_path}/fin", data=end)
    assert ended_twice.status_code == 409
    assert "Ce binôme est déjà terminé." in plain(ended_twice.text)
    new = f"{WORKSPACE}/candidatures/nouvelle?cote=hote"
    huge = await client.post(
        new,
        data={"_csrf_token": await form_token(client, new),
              **host_form(world, person_id="99999999999999999999")},
    )  # fmt: skip
    assert huge.status_code in (400, 422), huge.text
