"""Intergenerational housing in a real headless Chromium at a small phone's width (issue
16): a social worker signs in with their code, records a host's and a young person's
applications for two assisted residents, their interviews, the home visit and the
references, proposes the pairing from the host's candidates, records the meeting and
the move (more than a month ago), generates the agreement and downloads it — its text
names both people, the law and the trial's dates — and sees the follow-up visit due,
late. axe finds no serious or critical violation and no page is wider than the phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from babel.dates import format_date
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.housing.rules import add_months
from voisins.schedule import paris_today
from voisins.settings import Settings

from ..support.browser import check_page, new_page, staff_logs_in
from ..support.housing import STUDY_BASILE, years_ago
from ..support.housing_documents import day_fr, pdf_text
from ..support.world import HOME_ODILE, build_world

SMALL_PHONE = {"width": 360, "height": 780}
# The move was this many days ago: past the first follow-up visit (one month after).
MOVED_IN_DAYS_AGO = 40


def day(days_from_today: int) -> str:
    return (paris_today(datetime.now(UTC)) + timedelta(days=days_from_today)).isoformat()


async def _record_step(page: Page, kind: str, days_ago: int) -> None:
    """The application page's step form: the kind, its date, favourable."""
    await page.get_by_label("Étape", exact=True).select_option(label=kind)
    await page.get_by_label("Le", exact=True).fill(day(-days_ago))
    await page.get_by_label("Favorable", exact=True).check()
    await page.get_by_role("button", name="Enregistrer l'étape").click()
    await expect(page.get_by_role("status")).to_contain_text("L'étape est enregistrée.")
    await expect(page.locator("ol.timeline")).to_contain_text(kind)


async def _place(page: Page, lonlat: tuple[float, float]) -> None:
    """The point typed as coordinates (the address search is off in tests). Leaving the
    field moves the map's pin there, as it does for a person: done before the form is
    sent, so that the map's move does not happen between pressing and releasing the
    button."""
    await page.get_by_text("Saisir des coordonnées").click()
    await page.get_by_label("Latitude").fill(str(lonlat[1]))
    await page.get_by_label("Longitude").fill(str(lonlat[0]))
    await page.get_by_label("Longitude").blur()
    await page.wait_for_timeout(500)  # Leaflet's pan animation (0.25 s)


async def test_a_social_worker_pairs_a_host_and_a_young_person_up_to_the_follow_up_visit(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world = await build_world(api, engine)  # Odile is assisted by the Goutte d'Or
        yanis = await api.post(
            "/api/v1/assisted-residents",
            json={
                "display_name": "Yanis",
                "consent": {
                    "method": "in_person",
                    "obtained_at": datetime.now(UTC).isoformat(),
                    "centre_id": world.centre_18,
                },
            },
            headers=world.worker_18.headers,
        )
        assert yanis.status_code == 201, yanis.text

    worker = await new_page(browser, live_server, viewport=SMALL_PHONE)
    await staff_logs_in(worker, live_server, world.worker_18)

    await worker.get_by_role("link", name="Logement intergénérationnel").click()
    await expect(worker).to_have_url(f"{live_server}/centre/logement")
    await expect(worker.get_by_role("heading", level=1)).to_have_text("Logement intergénérationnel")
    await check_page(worker, "housing-centre-workspace-empty")

    # Odile's application as a host.
    await worker.get_by_role("link", name="Enregistrer une candidature d'hôte").click()
    await expect(worker.get_by_role("heading", level=1)).to_have_text(
        "Enregistrer une candidature d'hôte"
    )
    await worker.get_by_label("Habitant accompagné").select_option(label="Odile")
    await worker.get_by_label("Date de naissance").fill(years_ago(78))
    await worker.get_by_label("À partir du").fill(day(7))
    await worker.get_by_label("Surface (m²)").fill("12")
    await worker.get_by_label("Étage").fill("2")
    await worker.get_by_label("Participation solidaire aux charges").check()
    await worker.get_by_label("Participation demandée (euros par mois)").fill("150")
    for service in ("Présence le soir", "Courses", "Aide au numérique"):
        await worker.get_by_label(service, exact=True).check()
    await worker.get_by_label("A un animal").check()
    await worker.get_by_label("Rythme de vie").select_option(
        label="Plutôt tôt (levé et couché tôt)"
    )
    await _place(worker, HOME_ODILE)
    await check_page(worker, "housing-centre-new-host")
    await worker.get_by_role("button", name="Enregistrer la candidature").click()
    await expect(worker.get_by_role("status")).to_contain_text("La candidature est enregistrée.")
    await expect(worker.get_by_role("heading", level=1)).to_have_text("Candidature d'hôte : Odile")
    host_url = worker.url.split("?")[0]
    await _record_step(worker, "Premier entretien", MOVED_IN_DAYS_AGO + 20)
    await _record_step(worker, "Visite du logement", MOVED_IN_DAYS_AGO + 15)
    await check_page(worker, "housing-centre-host-application")

    # Yanis's application as a young person.
    await worker.goto("/centre/logement")
    await worker.get_by_role("link", name="Enregistrer une candidature de jeune").click()
    await worker.get_by_label("Habitant accompagné").select_option(label="Yanis")
    await worker.get_by_label("Date de naissance").fill(years_ago(22))
    await worker.get_by_label("À partir du").fill(day(14))
    await worker.get_by_label("Jusqu'au (facultatif)").fill(day(300))
    await worker.get_by_label("Études", exact=True).check()
    await worker.get_by_label("Précisez (facultatif)").fill("Master de sociologie")
    await worker.get_by_label("Chambre gratuite contre une présence le soir").check()
    await worker.get_by_label("Participation solidaire aux charges").check()
    await worker.get_by_label("Ce que le jeune peut payer au plus (euros par mois)").fill("250")
    for service in ("Présence le soir", "Aide au numérique"):
        await worker.get_by_label(service, exact=True).check()
    await _place(worker, STUDY_BASILE)
    await check_page(worker, "housing-centre-new-young")
    await worker.get_by_role("button", name="Enregistrer la candidature").click()
    await expect(worker.get_by_role("heading", level=1)).to_have_text(
        "Candidature de jeune : Yanis"
    )
    await _record_step(worker, "Premier entretien", MOVED_IN_DAYS_AGO + 18)
    await _record_step(worker, "Références", MOVED_IN_DAYS_AGO + 12)

    # The workspace lists both, vetted.
    await worker.goto("/centre/logement")
    await expect(worker.locator("li.card", has_text="Odile")).to_contain_text(
        "Visite du logement : fait, favorable"
    )
    await expect(worker.locator("li.card", has_text="Yanis")).to_contain_text(
        "Références : fait, favorable"
    )
    await check_page(worker, "housing-centre-workspace-applications")

    # The host's candidates, with their reasons; the pairing is proposed.
    await worker.goto(host_url)
    candidate = worker.locator("li.card", has=worker.get_by_role("link", name="Yanis"))
    await expect(candidate).to_contain_text("Services en commun")
    await expect(candidate).to_contain_text("Présence le soir")
    await expect(candidate).to_contain_text("marge de budget : 100 € par mois")
    await check_page(worker, "housing-centre-candidates")
    await candidate.get_by_role("button", name="Proposer ce binôme").click()
    await expect(worker).to_have_url(re.compile(r"/centre/logement/binomes/\d+\?fait=propose$"))
    await expect(worker.get_by_role("heading", level=1)).to_have_text(
        "Binôme : Odile accueille Yanis"
    )
    await check_page(worker, "housing-centre-pair-proposed")

    # The meeting, then the move more than a month ago.
    meeting = worker.locator("form", has=worker.locator('input[name="kind"][value="meeting"]'))
    await meeting.get_by_label("Le", exact=True).fill(day(-(MOVED_IN_DAYS_AGO + 5)))
    await meeting.get_by_role("radio", name=re.compile("^Favorable")).check()
    await meeting.get_by_role("button").click()
    await expect(worker.get_by_role("status")).to_contain_text("La rencontre est enregistrée.")
    moved_on = day(-MOVED_IN_DAYS_AGO)
    move = worker.locator("form", has=worker.locator('input[name="kind"][value="trial"]'))
    await move.get_by_label("Le jour de l'emménagement").fill(moved_on)
    await move.get_by_role("button").click()
    await expect(worker.get_by_role("status")).to_contain_text(
        "Le début de la période d'essai est enregistré."
    )
    await check_page(worker, "housing-centre-pair-trial")

    # The agreement, generated and downloaded.
    await worker.get_by_role("button", name="Préparer la convention").click()
    await expect(worker.get_by_role("status")).to_contain_text("Le document est prêt")
    link = worker.get_by_role("link", name=re.compile("^Convention de cohabitation"))
    async with worker.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    assert re.fullmatch(r"convention-binome-\d+\.pdf", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    text = pdf_text(saved.read_bytes())
    trial_ends = add_months(paris_today(datetime.now(UTC)) - timedelta(days=MOVED_IN_DAYS_AGO), 1)
    for words in ("Odile", "Yanis", "L.118-1", day_fr(moved_on), day_fr(trial_ends.isoformat())):
        assert words in text, words

    # The first follow-up visit (a month after the move) is due, and late.
    first_visit = trial_ends  # housing_first_visit_months = housing_trial_months = 1
    await expect(worker.get_by_role("alert")).to_contain_text("La visite de suivi prévue le")
    await expect(worker.get_by_role("alert")).to_contain_text("est en retard")
    due_words = str(format_date(first_visit, "d MMMM y", locale="fr"))
    await expect(
        worker.get_by_text(re.compile(r"^Prochaine visite de suivi\s:\sle"))
    ).to_contain_text(due_words)
    await expect(worker.locator("#ensuite")).to_be_visible()
    await expect(worker.locator("section", has=worker.locator("#ensuite"))).to_contain_text(
        "en retard"
    )
    await check_page(worker, "housing-centre-pair-visit-due")
    await worker.goto("/centre/logement")
    pair_card = worker.locator("li.card", has_text="Odile accueille Yanis")
    await expect(pair_card).to_contain_text("en retard")
    await expect(pair_card).to_contain_text("Prochaine visite de suivi")
    await check_page(worker, "housing-centre-workspace-pair")
