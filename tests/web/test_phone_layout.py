"""Phones with larger text: a 390×844 screen (an iPhone 12–15) in real Chromium, the
larger-text switch on, for a resident who does not volunteer, a volunteer and a social
worker. The header stays small and its menu works, the page never scrolls sideways,
fact lists stack without cutting words, and the switch says its state."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import CUT_WORDS, axe_violations, new_page, screenshot
from ..support.matching import propose_offer
from ..support.world import World, build_world, with_matches

PHONE = {"width": 390, "height": 844}
# The signed-in header once took 45 % of this screen.
HEADER_SHARE = 0.15
HELPER_LINKS = ("/propositions", "/mes-aides")
ROOT_FONT_SIZE = "parseFloat(getComputedStyle(document.documentElement).fontSize)"
# How many lines an element's text takes.
LINES = """el => { const r = document.createRange(); r.selectNodeContents(el);
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"""


async def _world(settings: Settings, engine: AsyncEngine) -> World:
    async with AsyncTestClient(create_app(settings)) as api:
        return await with_matches(api, engine, await build_world(api, engine))


async def _phone(browser: Browser, base_url: str, token: str, **options: Any) -> Page:
    page = await new_page(browser, base_url, viewport=PHONE, **options)
    await page.context.add_cookies([{"name": "voisins_session", "value": token, "url": base_url}])
    return page


async def _larger_text_on(page: Page) -> None:
    """Turns larger text on with the header's switch, checking that the switch shows
    its state both ways: pressed for screen readers, and to the eye."""
    toggle = page.get_by_role("button", name="Texte plus grand")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    off = await toggle.evaluate("b => getComputedStyle(b).backgroundColor")
    size_off = await page.evaluate(ROOT_FONT_SIZE)
    await toggle.click()
    toggle = page.get_by_role("button", name="Texte plus grand", pressed=True)
    await expect(toggle).to_be_visible()
    on = await toggle.evaluate("b => getComputedStyle(b).backgroundColor")
    assert on != off, "the switch looks the same on and off"
    size_on = await page.evaluate(ROOT_FONT_SIZE)
    assert size_on > size_off * 1.15


async def _check_phone_page(page: Page, name: str) -> None:
    await screenshot(page, "phone-" + name)
    header = await page.locator("header.site").bounding_box()
    assert header is not None
    share = header["height"] / PHONE["height"]
    assert share <= HEADER_SHARE, (name, f"header takes {share:.0%} of the screen")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (name, f"{overflow}px wider than the screen")
    assert await page.evaluate(CUT_WORDS, "dl.facts dt, dl.facts dd") == [], name
    violations = await axe_violations(page)
    assert violations == [], (name, violations)


async def _open_menu(page: Page) -> None:
    menu = page.get_by_role("navigation", name="Menu principal")
    await menu.get_by_text("Menu", exact=True).click()
    await expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()


async def test_a_resident_who_does_not_volunteer_gets_a_small_header_and_no_helper_links(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    world = await _world(settings, engine)
    page = await _phone(browser, live_server, world.alice.token)
    await page.goto("/mes-annonces")
    await _larger_text_on(page)
    nav = page.get_by_role("navigation", name="Menu principal")
    # Closed, the menu hides its links; the messages stay one tap away.
    await expect(nav.get_by_role("link", name="Mes annonces")).to_be_hidden()
    await expect(nav.get_by_role("link", name="Messages")).to_be_visible()
    await _check_phone_page(page, "resident-my-posts")

    await _open_menu(page)
    for name in ("Demander ou proposer", "Mes annonces", "Devenir bénévole", "Mon compte"):
        await expect(nav.get_by_role("link", name=name)).to_be_visible()
    for path in HELPER_LINKS:
        assert await page.locator(f"header a[href='{path}']").count() == 0, path
    await expect(nav.get_by_role("link", name="Mon profil bénévole")).to_have_count(0)
    # The open menu covers the page, not widens it; it passes axe too.
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert await axe_violations(page) == []
    await screenshot(page, "phone-resident-menu-open")
    await nav.get_by_role("link", name="Devenir bénévole").click()
    await expect(page).to_have_url(f"{live_server}/benevole")

    await page.goto(f"/annonces/{world.posts['alice']}")
    await expect(page.locator("dl.facts").first).to_be_visible()
    await _check_phone_page(page, "resident-post")
    # Stacked: the value sits under its label, not beside it.
    label = await page.locator("dl.facts dt").first.bounding_box()
    value = await page.locator("dl.facts dd").first.bounding_box()
    assert label is not None and value is not None
    assert value["y"] >= label["y"] + label["height"] - 1


async def test_a_volunteer_finds_their_pages_in_the_menu_and_facts_keep_whole_words(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    world = await _world(settings, engine)
    # English: day names are longer there («Wednesday»), where «Tuesda|y» was cut.
    page = await _phone(browser, live_server, world.vera.token)
    await page.goto("/propositions")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    toggle = page.get_by_role("button", name="Larger text")
    await toggle.click()
    await expect(page.get_by_role("button", name="Larger text", pressed=True)).to_be_visible()
    await expect(page.locator("dl.facts").first).to_be_visible()
    await _check_phone_page(page, "volunteer-propositions-en")
    days = page.locator("dl.facts dd", has_text="day")
    assert await days.count() > 0
    for i in range(await days.count()):
        dd = days.nth(i)
        box = await dd.bounding_box()
        card = await dd.locator("xpath=ancestor::li[1]").bounding_box()
        assert box is not None and card is not None
        # Stacked: the value has the card's width, not what a label beside it left.
        assert box["width"] >= card["width"] * 0.7, await dd.inner_text()
    # The check does see cut words: under the old rules (label column as wide as the
    # label, values cut anywhere) the same cards cut them.
    await page.evaluate(
        """() => document.querySelectorAll("dl.facts").forEach(dl => {
            dl.style.gridTemplateColumns = "max-content 1fr";
            dl.querySelectorAll("dd").forEach(dd => { dd.style.overflowWrap = "anywhere"; });
        })"""
    )
    assert await page.evaluate(CUT_WORDS, "dl.facts dd") != []
    await page.reload()

    menu = page.get_by_role("navigation", name="Main menu")
    await menu.get_by_text("Menu", exact=True).click()
    for name in ("Proposals", "My help", "My volunteer profile"):
        await expect(menu.get_by_role("link", name=name)).to_be_visible()
    assert await axe_violations(page) == []

    await page.goto("/mes-aides")
    await _check_phone_page(page, "volunteer-my-help-en")


async def test_a_social_worker_on_a_phone_and_the_keyboard_path_through_the_header(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    world = await _world(settings, engine)
    page = await _phone(browser, live_server, world.worker_18.token)
    await page.goto("/centre")
    await _larger_text_on(page)
    await _check_phone_page(page, "worker-queue")
    await page.goto(f"/centre/habitants/{world.odile_id}")
    await _check_phone_page(page, "worker-resident")

    # The skip link is the first stop and shows itself when focused; it leads to the
    # content.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    await expect(skip).to_be_focused()
    box = await skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    await page.keyboard.press("Enter")
    await expect(page.locator("main#contenu")).to_be_focused()

    # The menu opens from the keyboard, with a visible focus ring on its summary.
    await page.goto("/centre")
    summary = page.locator("header.site summary")
    await summary.focus()
    await page.keyboard.press("Enter")
    outline = await summary.evaluate("s => getComputedStyle(s).outlineStyle")
    assert outline != "none"
    nav = page.get_by_role("navigation", name="Menu principal")
    await expect(nav.get_by_role("link", name="Espace du centre")).to_be_visible()
    for path in HELPER_LINKS:
        assert await page.locator(f"header a[href='{path}']").count() == 0, path
    await page.keyboard.press("Tab")
    await expect(nav.get_by_role("link", name="Espace du centre")).to_be_focused()

    # On a wide screen the same links stand in line, without a menu to open.
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto("/centre")
    await expect(nav.get_by_role("link", name="Espace du centre")).to_be_visible()
    await expect(page.locator("header.site summary")).to_be_hidden()
    assert await axe_violations(page) == []
    await screenshot(page, "wide-worker-queue")


async def test_a_visitor_on_a_phone_finds_sign_in_in_the_menu(
    browser: Browser, live_server: str
) -> None:
    page = await new_page(browser, live_server, viewport=PHONE)
    await page.goto("/aide")
    await _larger_text_on(page)
    await _check_phone_page(page, "visitor-help")
    nav = page.get_by_role("navigation", name="Menu principal")
    await nav.get_by_text("Menu", exact=True).click()
    await expect(nav.get_by_role("link", name="Créer un compte")).to_be_visible()
    await nav.get_by_role("link", name="Se connecter").click()
    await expect(page).to_have_url(f"{live_server}/connexion")
    # The choice of larger text is kept from page to page.
    await expect(page.get_by_role("button", name="Texte plus grand", pressed=True)).to_be_visible()
    await _check_phone_page(page, "visitor-login")


def _header(page: str) -> str:
    return page.split('<header class="site">', 1)[1].split("</header>", 1)[0]


async def test_an_offers_author_gets_the_helper_links_once_requests_are_proposed_to_them(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Basile offers his drill and has no volunteer profile: no helper pages in his
    header until his offer finds a request; then his propositions are one tap away."""
    async with AsyncTestClient(create_app(settings)) as client:
        world = await build_world(client, engine)
        client.cookies.set("voisins_session", world.basile.token)
        before = _header((await client.get("/mes-annonces")).text)
        assert 'href="/benevole"' in before and "Devenir bénévole" in before
        assert not any(f'href="{path}"' in before for path in HELPER_LINKS)

        await propose_offer(engine, world.posts["basile"], [world.posts["alice"]])
        after = _header((await client.get("/mes-annonces")).text)
        assert all(f'href="{path}"' in after for path in HELPER_LINKS)
        assert "Devenir bénévole" in after and "Mon profil bénévole" not in after
