"""Debian's Chromium driven by Playwright (no browser download), for the browser tests:
``new_page`` opens a fresh profile, ``signed_in_page`` one holding a session, and
``check_page`` is what every page shown must pass (axe finds nothing serious, nothing
wider than the screen) before its screenshot goes to build/screenshots/;
``conversation_on_phone`` opens a live conversation on a phone-sized screen;
``CUT_WORDS`` finds words a line break cut in two; ``staff_logs_in`` goes through the
login page and its code page."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from .people import PASSWORD, Person, fresh_code

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = "/static/vendor/axe/axe.min.js"
# Words a line break cut in two: a word that fits on one line of its element but
# whose text spans two lines.
CUT_WORDS = """(selector) => {
    const cut = [];
    for (const el of document.querySelectorAll(selector)) {
        const width = el.getBoundingClientRect().width;
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const rects = [...range.getClientRects()].filter(r => r.width > 0);
                const tops = new Set(rects.map(r => Math.round(r.top)));
                if (tops.size > 1 && range.getBoundingClientRect().width < width) {
                    cut.push(m[0]);
                }
            }
        }
    }
    return cut;
}"""

PHONE = {"width": 360, "height": 740}
# What the accessibility check refuses (axe's impact levels).
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str:
    """The browser scripts/browser.sh installs (make test runs it first)."""
    found = subprocess.run(
        ["bash", str(ROOT / "scripts" / "browser.sh")], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise RuntimeError(found.stderr.strip() or "no Chromium")
    return found.stdout.strip().splitlines()[-1]


async def new_page(browser: Browser, base_url: str, **options: Any) -> Page:
    """A fresh browser profile (its own cookies), French by default, phone-sized
    unless told otherwise; map tiles are blocked so the pages are tested without them."""
    context = await browser.new_context(
        base_url=base_url,
        locale=options.pop("locale", "fr-FR"),
        viewport=options.pop("viewport", {"width": 412, "height": 915}),
        **options,
    )
    await context.route("https://**/*", lambda route: route.abort())
    return await context.new_page()


async def signed_in_page(browser: Browser, base_url: str, token: str) -> Page:
    """A browser already signed in with ``token`` (as after the login page)."""
    page = await new_page(browser, base_url)
    await page.context.add_cookies([{"name": "voisins_session", "value": token, "url": base_url}])
    return page


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Runs axe-core (served by the app, so the CSP allows it) against WCAG 2.1 A/AA
    and returns the serious and critical violations."""
    await page.add_script_tag(url=AXE)
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING_IMPACTS]


async def check_page(page: Page, name: str) -> None:
    """The page passes axe, is no wider than the screen (a phone user never scrolls
    sideways), and is kept as a screenshot under ``name``."""
    violations = await axe_violations(page)
    assert violations == [], (name, violations)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (name, f"{overflow}px wider than the screen")
    await screenshot(page, name)


async def conversation_on_phone(browser: Browser, base_url: str, person: Person, path: str) -> Page:
    """``person`` on a phone-sized screen at the conversation page ``path``, once it
    listens to the conversation's events."""
    page = await new_page(browser, base_url, viewport=PHONE)
    await page.context.add_cookies(
        [{"name": "voisins_session", "value": person.token, "url": base_url}]
    )
    await page.goto(path)
    # Subscribed to the conversation's events: what is sent from now on arrives.
    await expect(page.locator("#messages[data-live-ready]")).to_be_attached(timeout=10_000)
    # Set on this document only: still there later means the page was not reloaded.
    await page.evaluate("window.sameDocument = true")
    return page


async def staff_logs_in(page: Page, base_url: str, person: Person) -> None:
    """A staff member through the login page, then the page that asks for the code of
    their authenticator app; they land on the centre's workspace."""
    await page.goto("/connexion")
    await page.get_by_label("Adresse e-mail").fill(person.email)
    await page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Entrez votre code")
    assert person.totp_secret
    await page.get_by_label("Code à 6 chiffres").fill(await fresh_code(person.totp_secret))
    await page.get_by_role("button", name="Me connecter").click()
    await expect(page).to_have_url(f"{base_url}/centre")
