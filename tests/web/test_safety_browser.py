"""A message reported from the conversation page reaches the covering centre (issue 15),
in a real Chromium on a phone-sized screen: the resident reports the other side's
message with the short form, then the centre's social worker signs in with their code,
finds the report and reads the conversation with that message marked."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import PHONE, check_page, conversation_on_phone, new_page, staff_logs_in
from ..support.conversations import confirmed_pair
from ..support.world import build_world

WORDS = "Donnez-moi le code de votre carte bleue"


async def test_a_resident_reports_a_message_and_the_social_worker_reads_the_conversation(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world = await build_world(api, engine)  # the Goutte d'Or's centre and its worker
        alice, vera, match_id = await confirmed_pair(api)  # in the Goutte d'Or
        sent = await api.post(
            f"/api/v1/matches/{match_id}/messages", json={"text": WORDS}, headers=vera.headers
        )
        assert sent.status_code == 201, sent.text
        message_id = sent.json()["id"]

    resident = await conversation_on_phone(
        browser, live_server, alice, f"/conversations/{match_id}"
    )
    theirs = resident.locator(f"#message-{message_id}")
    await expect(theirs).to_contain_text(WORDS)
    await theirs.get_by_role("link", name=re.compile("^Signaler")).click()
    await expect(resident).to_have_url(re.compile(rf"/signaler\?message={message_id}$"))
    await expect(resident.get_by_role("heading", level=1)).to_have_text("Signaler")
    await check_page(resident, "safety-report-message")
    await resident.get_by_label("Une arnaque, une demande d'argent").check()
    await resident.get_by_label("Ce qui s'est passé (facultatif)").fill("Il veut mon code")
    await resident.get_by_role("button", name="Envoyer le signalement").click()
    await expect(resident.get_by_role("heading", level=1)).to_have_text(
        "Merci, le centre social a reçu votre signalement"
    )
    await check_page(resident, "safety-report-received")

    worker = await new_page(browser, live_server, viewport=PHONE)
    await staff_logs_in(worker, live_server, world.worker_18)

    await worker.goto("/centre/signalements")
    report = worker.locator("li.card", has_text="Il veut mon code")
    await expect(report).to_contain_text("Arnaque")
    assert "Alice" not in await report.inner_text()  # the reporter is not on the card
    await check_page(worker, "safety-centre-reports")
    await report.get_by_role("link", name="Lire la conversation signalée").click()
    await expect(worker.get_by_role("heading", level=1)).to_have_text("Conversation signalée")
    marked = worker.locator("li.reported")
    await expect(marked).to_have_count(1)
    await expect(marked).to_contain_text(WORDS)
    await expect(marked).to_contain_text("Message signalé")
    await check_page(worker, "safety-centre-reported-conversation")
