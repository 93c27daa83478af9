"""Journeys in a real headless Chromium (Debian's package, driven by Playwright), with
an axe-core accessibility check of every page visited and screenshots of each."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import axe_violations, check_page, new_page, screenshot, signed_in_page
from ..support.world import ADDRESS_ALICE, HOME_ALICE, build_world, vet, with_matches


async def test_a_newcomer_signs_up_from_the_home_page(browser: Browser, live_server: str) -> None:
    page = await new_page(browser, live_server)
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("L'entraide entre voisins")
    violations = await axe_violations(page)
    assert violations == [], violations
    await screenshot(page, "home")

    await page.get_by_role("link", name="Créer un compte").first.click()
    await expect(page).to_have_url(f"{live_server}/inscription")
    assert await axe_violations(page) == []
    await page.get_by_label("Votre prénom").fill("Camille")
    await page.get_by_label("Adresse e-mail").fill("camille.browser@example.org")
    await page.get_by_label("Mot de passe (10 caractères au moins)").fill("un mot de passe sûr")
    await page.get_by_role("button", name="Créer mon compte").click()
    # Signed in, on the account page, which says a link to confirm the address was sent.
    await expect(page).to_have_url(f"{live_server}/mon-compte?fait=inscription#adresse")
    await expect(page.get_by_role("main").get_by_role("status")).to_contain_text(
        "Nous vous avons envoyé un e-mail"
    )
    # On a phone «Se déconnecter» is in the header's «Menu».
    menu = page.get_by_role("navigation", name="Menu principal")
    await menu.get_by_text("Menu", exact=True).click()
    await expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
    assert await axe_violations(page) == []

    # English, from the switch in the header; the choice is kept.
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Help between neighbours")
    await page.goto("/connexion")
    await expect(page.locator("html")).to_have_attribute("lang", "en")


async def test_a_wrong_password_is_announced_and_the_form_stays_usable(
    browser: Browser, live_server: str
) -> None:
    page = await new_page(browser, live_server)
    await page.goto("/connexion")
    await page.get_by_label("Adresse e-mail").fill("personne@example.org")
    await page.get_by_label("Mot de passe", exact=True).fill("pas le bon mot de passe")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("E-mail ou mot de passe incorrect.")
    assert await axe_violations(page) == []
    await screenshot(page, "login-error")


async def test_a_sensitive_request_goes_from_resident_to_volunteer_to_social_worker_and_back(
    browser: Browser, live_server: str, worker_process: Any, settings: Settings, engine: AsyncEngine
) -> None:
    """A resident posts a request in three steps; the volunteer sees it arrive live on
    their open page and accepts; the centre's social worker approves with a reason; then
    the volunteer sees the exact address, and the resident the volunteer's phone once
    the volunteer shares it from the conversation."""
    async with AsyncTestClient(create_app(settings)) as api:
        world = await build_world(api, engine)
        await vet(api, world, world.vera)
        await api.patch("/api/v1/me", json={"phone": "06 33 33 33 33"}, headers=world.vera.headers)

    volunteer = await signed_in_page(browser, live_server, world.vera.token)
    await volunteer.goto("/propositions")
    await expect(volunteer.get_by_role("heading", level=1)).to_be_visible()
    await check_page(volunteer, "volunteer-propositions")

    resident = await new_page(browser, live_server)
    await resident.goto("/inscription")
    await resident.get_by_label("Votre prénom").fill("Rose")
    await resident.get_by_label("Adresse e-mail").fill("rose.journey@example.org")
    await resident.get_by_label("Mot de passe (10 caractères au moins)").fill("un mot de passe sûr")
    await resident.get_by_label("Téléphone (facultatif)").fill("06 55 55 55 55")
    await resident.get_by_role("button", name="Créer mon compte").click()
    await resident.goto("/annonces/nouvelle")
    await check_page(resident, "post-step-1")
    await resident.get_by_label("Demander de l'aide").check()
    await resident.get_by_label("Visite de convivialité").check()
    await resident.get_by_label("Un titre court").fill("Une visite le jeudi après-midi")
    await resident.get_by_role("button", name="Continuer").click()
    await resident.get_by_label("Votre adresse").fill(ADDRESS_ALICE)
    await resident.get_by_text("Saisir des coordonnées").click()
    await resident.get_by_label("Longitude").fill(str(HOME_ALICE[0]))
    await resident.get_by_label("Latitude").fill(str(HOME_ALICE[1]))
    await check_page(resident, "post-step-2")
    await resident.get_by_role("button", name="Continuer").click()
    day = (date.today() + timedelta(days=2)).isoformat()
    await resident.get_by_label("Une seule fois", exact=True).check()
    await resident.get_by_label("Quel jour ? (pour une seule fois)").fill(day)
    await resident.get_by_label("À partir de quelle heure ?").fill("14:00")
    await resident.get_by_label("Jusqu'à quelle heure ?").fill("16:00")
    await check_page(resident, "post-step-3")
    await resident.get_by_role("button", name="Publier mon annonce").click()
    await expect(resident).to_have_url(re.compile(r"/annonces/\d+"))
    await check_page(resident, "post-published")

    # The volunteer's open page receives it live (SSE → htmx refresh), no reload.
    card = volunteer.locator("li.card", has_text="Une visite le jeudi après-midi")
    await expect(card).to_be_visible(timeout=20_000)
    assert "Rose" not in await card.inner_text()  # no identity before confirmation
    await card.get_by_role("button", name="J'accepte").click()
    await expect(card).to_contain_text("valide", timeout=10_000)

    worker = await signed_in_page(browser, live_server, world.worker_18.token)
    await worker.goto("/centre")
    item = worker.locator("li.card, article", has_text="Une visite le jeudi après-midi").first
    await expect(item).to_be_visible()
    await check_page(worker, "centre-review-queue")
    await item.get_by_label("Raison de la décision, note interne (obligatoire)").fill(
        "Bénévole vérifiée et connue du centre"
    )
    await item.get_by_role("button", name="Valider").click()
    # The card becomes the decision only once it is saved (committed before the answer).
    decided = worker.get_by_role("status").filter(has_text="Validé.")
    await expect(decided).to_contain_text("Bénévole vérifiée", timeout=10_000)

    # Confirmed: the volunteer sees the exact address; phones and e-mails stay private
    # until their owner shares them from the conversation (issue 15).
    await resident.reload()
    await expect(resident.get_by_text("ne sont montrés que s'il les partage")).to_be_visible()
    await expect(resident.get_by_role("link", name="06 33 33 33 33")).to_have_count(0)
    await check_page(resident, "resident-confirmed")

    await volunteer.goto("/mes-aides")
    await expect(volunteer.get_by_text(ADDRESS_ALICE)).to_be_visible()
    await expect(volunteer.get_by_text("rose.journey@example.org")).to_have_count(0)
    await check_page(volunteer, "volunteer-confirmed")
    await volunteer.get_by_role("link", name=re.compile("^Conversation")).first.click()
    await volunteer.get_by_label("Montrer le numéro de téléphone").check()
    await volunteer.get_by_role("button", name="Enregistrer ce choix").click()
    await expect(volunteer.get_by_role("status")).to_contain_text("C'est enregistré")

    await resident.reload()
    await expect(resident.get_by_text("Pour le contacter")).to_be_visible()
    await expect(resident.get_by_role("link", name="06 33 33 33 33")).to_be_visible()
    await check_page(resident, "resident-confirmed-contact")


async def test_the_main_pages_of_each_role_pass_the_accessibility_check(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world = await with_matches(api, engine, await build_world(api, engine))
    pages = {
        world.alice.token: ["/mes-annonces", f"/annonces/{world.posts['alice']}", "/messages",
                            "/mon-compte"],
        world.vera.token: ["/benevole", "/propositions", "/mes-aides"],
        world.worker_18.token: ["/centre", "/centre/suivi", "/centre/habitants",
                                "/centre/signalements", "/centre/verification",
                                "/centre/carte", "/centre/statistiques"],
    }  # fmt: skip
    for token, paths in pages.items():
        page = await signed_in_page(browser, live_server, token)
        for path in paths:
            response = await page.goto(path)
            assert response is not None and response.status == 200, path
            await check_page(page, "page" + path.replace("/", "-"))
    # The same pages work in English, on a wide screen too.
    page = await signed_in_page(browser, live_server, world.worker_18.token)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto("/centre/statistiques")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await check_page(page, "page-centre-statistiques-en-wide")
