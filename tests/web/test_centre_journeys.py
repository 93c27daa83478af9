"""The centre's journeys of issue 12 in a real headless Chromium at phone width, with a
real server and a real notification worker: a social worker vets a volunteer found by
name; a colleague follows an assisted resident's request from the notification to its
confirmed volunteer and marks the help done for the resident. axe finds no serious or
critical violation on any page visited, and no page is wider than the phone."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import check_page, signed_in_page
from ..support.people import staff
from ..support.world import build_world, with_matches

VERA_PHONE = "06 33 33 33 33"


async def test_a_social_worker_vets_a_volunteer_found_by_name(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world = await build_world(api, engine)
        await api.patch("/api/v1/me", json={"phone": VERA_PHONE}, headers=world.vera.headers)

    worker = await signed_in_page(browser, live_server, world.worker_18.token)
    await worker.goto("/centre/verification")
    await expect(worker.get_by_role("heading", level=1)).to_have_text("Vérification des bénévoles")
    # Vera offers visits and is not vetted: she waits on the list already.
    waiting = worker.locator("section", has=worker.locator("#attente"))
    await expect(waiting.get_by_role("link", name="Vera", exact=True)).to_be_visible()
    await check_page(worker, "centre-vetting")

    await worker.get_by_label("Nom, e-mail ou téléphone").fill("vera")
    await worker.get_by_role("button", name="Chercher").click()
    results = worker.locator("ul.cards", has=worker.locator(f"#benevole-{world.vera.id}")).first
    await expect(results.get_by_text(VERA_PHONE)).to_be_visible()
    await expect(worker.get_by_role("link", name="Victor", exact=True)).to_have_count(0)
    await check_page(worker, "centre-vetting-found")
    await results.get_by_role("link", name="Vera", exact=True).click()
    await expect(worker).to_have_url(f"{live_server}/centre/verification/{world.vera.id}")
    await expect(worker.get_by_role("heading", level=1)).to_have_text("Vera")
    await check_page(worker, "centre-vetting-volunteer")

    today = date.today()
    await worker.get_by_label("Pièce d'identité vérifiée le").fill(today.isoformat())
    await worker.get_by_label("Date de l'extrait de casier judiciaire").fill(
        (today - timedelta(days=30)).isoformat()
    )
    await worker.get_by_role("button", name="Enregistrer").click()
    await expect(worker.get_by_role("status")).to_contain_text("La vérification est enregistrée.")
    await expect(worker.get_by_text("peut recevoir des demandes sensibles")).to_be_visible()
    await check_page(worker, "centre-vetting-recorded")

    # Vetted now, she has left the waiting list.
    await worker.goto("/centre/verification")
    await expect(waiting.get_by_role("link", name="Vera", exact=True)).to_have_count(0)


async def test_a_colleague_follows_an_assisted_residents_request_to_its_volunteer(
    browser: Browser, live_server: str, worker_process: Any, settings: Settings, engine: AsyncEngine
) -> None:
    """worker_18 posted two visits for Odile; Vera said yes; worker_18 approves one.
    A colleague of the same centre, who posted nothing, is told, follows the message to
    the request and finds Vera's contact, then marks the visit done for Odile."""
    async with AsyncTestClient(create_app(settings)) as api:
        world = await with_matches(api, engine, await build_world(api, engine))
        colleague = await staff(api, engine, centre_ids=(world.centre_18,))
        match_id = world.matches["odile_vera_1"]
        approved = await api.post(
            f"/api/v1/matches/{match_id}/approve",
            json={"reason": "Bénévole connue du centre"},
            headers=world.worker_18.headers,
        )
        assert approved.json()["status"] == "confirmed", approved.text
    post_id = world.posts["odile_1"]

    page = await signed_in_page(browser, live_server, colleague.token)
    # The confirmation leads to the conversation, where the centre writes for Odile.
    conversation = f"/conversations/{match_id}"
    message = page.locator("li.card", has=page.locator(f'a[href="{conversation}"]'))
    for _ in range(40):  # the real worker relays and fans the event out meanwhile
        await page.goto("/messages")
        if await message.count():
            break
        await page.wait_for_timeout(500)
    await expect(message.first).to_contain_text("Visite 1 le jeudi")
    await check_page(page, "centre-colleague-inbox")

    await message.first.locator(f'a[href="{conversation}"]').click()
    await expect(page).to_have_url(re.compile(rf"{conversation}$"))
    await expect(page.get_by_text("Vous écrivez pour Odile.")).to_be_visible()
    await check_page(page, "centre-colleague-conversation")
    await page.get_by_role("link", name="Voir l'annonce").click()
    await expect(page).to_have_url(re.compile(rf"/annonces/{post_id}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Visite 1 le jeudi")
    answer = page.locator(f"#reponse-{match_id}")
    await expect(answer).to_contain_text("Vera")
    await expect(answer).to_contain_text("C'est confirmé")
    await expect(answer.get_by_role("link", name=VERA_PHONE)).to_be_visible()
    await check_page(page, "centre-followed-request")

    await page.get_by_role("link", name="Voir la page de Odile").click()
    await expect(page).to_have_url(f"{live_server}/centre/habitants/{world.odile_id}")
    card = page.locator(f"#reponse-{match_id}")
    await expect(card.get_by_role("link", name=VERA_PHONE)).to_be_visible()
    await check_page(page, "centre-resident-followed")
    await card.get_by_role("button", name=re.compile("C'est fait")).click()
    await expect(page.get_by_role("status")).to_contain_text("l'aide a eu lieu")
    await expect(page.locator(f"#reponse-{match_id}")).to_contain_text("L'aide est faite.")
    await expect(page.locator(f"#reponse-{match_id} legend")).to_have_text(
        "L'avis de la personne, recueilli par vous"
    )
    await check_page(page, "centre-resident-done")
