"""Two neighbours matched write to each other live on phone-sized screens (issue 15), in
a real Chromium: each sees the other's message appear without a reload, no phone
number is shown until one of them shares theirs from the conversation, and then the
other sees it without a reload too."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Locator, Page, expect

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import check_page, conversation_on_phone
from ..support.conversations import confirmed_pair


async def _write(page: Page, words: str) -> None:
    await page.get_by_label("Votre message").fill(words)
    await page.get_by_role("button", name="Envoyer").click()
    await expect(page.locator("#messages")).to_contain_text(words)


async def test_two_neighbours_write_live_on_phones_and_one_shares_their_number(
    browser: Browser, live_server: str, settings: Settings
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        alice, vera, match_id = await confirmed_pair(api)
    path = f"/conversations/{match_id}"
    resident = await conversation_on_phone(browser, live_server, alice, path)
    volunteer = await conversation_on_phone(browser, live_server, vera, path)
    try:
        await expect(resident.get_by_role("heading", level=1)).to_be_visible()
        await expect(resident.locator("details.charter")).to_have_attribute("open", "")
        await check_page(resident, "conversation-resident-first")

        await _write(resident, "Bonjour Vera, jeudi vers 10 h, cela vous va ?")
        mine = resident.locator("li.message.mine")
        await expect(mine).to_contain_text("Vous")
        # On the volunteer's open page, without a reload.
        theirs = volunteer.locator("li.message.theirs")
        await expect(theirs).to_contain_text("Bonjour Vera, jeudi vers 10 h", timeout=10_000)
        await expect(theirs).to_contain_text("Alice")
        await expect(theirs.get_by_role("link", name="Signaler")).to_have_attribute(
            "href", f"/signaler?message={await _id_of(theirs)}"
        )
        assert await volunteer.evaluate("window.sameDocument === true")
        assert await volunteer.locator("#no-message").count() == 0

        await expect(resident.locator("#messages[data-live-ready]")).to_be_attached()
        await resident.evaluate("window.sameDocument = true")
        await _write(volunteer, "Parfait, à jeudi ! <b>Merci</b>")
        # Text, never markup: what the live script adds is not parsed as HTML either.
        await expect(resident.locator("li.message.theirs")).to_contain_text(
            "Parfait, à jeudi ! <b>Merci</b>", timeout=10_000
        )
        assert await resident.locator("#messages b").count() == 0
        assert await resident.evaluate("window.sameDocument === true")

        # Neither number is shown.
        for page in (resident, volunteer):
            assert await page.locator("a[href^='tel:']").count() == 0
            content = await page.content()
            assert "06 11 22 33 44" not in content and "06 55 66 77 88" not in content
        await check_page(resident, "conversation-resident-live")
        await check_page(volunteer, "conversation-volunteer-live")

        # The volunteer shares their phone from the conversation; the resident's open
        # page shows it without a reload.
        await volunteer.get_by_label("Montrer le numéro de téléphone").check()
        await volunteer.get_by_role("button", name="Enregistrer ce choix").click()
        await expect(volunteer.get_by_role("status")).to_contain_text("C'est enregistré")
        number = resident.get_by_role("link", name="06 11 22 33 44")
        await expect(number).to_be_visible(timeout=10_000)
        await expect(number).to_have_attribute("href", "tel:0611223344")
        assert await resident.evaluate("window.sameDocument === true")
        assert "06 55 66 77 88" not in await volunteer.content()
        await check_page(resident, "conversation-resident-shared-phone")

        # And after a reload, too.
        await resident.reload()
        await expect(resident.get_by_role("link", name="06 11 22 33 44")).to_be_visible()
        await expect(resident.locator("li.message")).to_have_count(2)
    finally:
        # An open page keeps its streams, and the server's stop would wait for them.
        await resident.context.close()
        await volunteer.context.close()


async def _id_of(message: Locator) -> int:
    element_id = await message.get_attribute("id")
    assert element_id and element_id.startswith("message-"), element_id
    return int(element_id.removeprefix("message-"))
