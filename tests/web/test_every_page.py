"""Every page anyone can reach passes the accessibility check and fits a phone.

Rather than a list of pages that goes stale when a page is added, each role starts
from the home page in Chromium at a phone's width and follows every link of every
page it reaches (same site, GET), as a curious person would: each page must answer
200, have no serious or critical axe violation, and be no wider than the screen."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import axe_violations, new_page, screenshot
from ..support.world import build_world, with_matches

# Links a person follows but that are not pages: files, the API, downloads.
NOT_PAGES = ("/static/", "/api/", "/schema", "/health", "/mon-compte/donnees")
MOST_PAGES = 80  # a role that reaches more has a link loop (pagination gone wrong)


async def links_of(page: Page) -> list[str]:
    hrefs: list[str] = await page.eval_on_selector_all(
        "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
    )
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue  # mailto:, tel:, geo:, other sites, fragments of this page
        if parts.path.startswith(NOT_PAGES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


async def crawl(page: Page, role: str) -> list[str]:
    """Visit every page reachable from the home page; returns the paths visited."""
    seen: list[str] = []
    waiting = [("/", "")]  # (path, the page that links it)
    problems: list[tuple[str, str, object]] = []
    while waiting:
        path, found_on = waiting.pop(0)
        if path in seen:
            continue
        seen.append(path)
        assert len(seen) <= MOST_PAGES, seen
        response = await page.goto(path)
        if response is None or response.status != 200:
            problems.append((path, found_on, response.status if response else None))
            continue
        violations = await axe_violations(page)
        if violations:
            problems.append((path, found_on, [v["id"] for v in violations]))
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append((path, found_on, f"{overflow}px wider than the screen"))
        await screenshot(page, f"crawl-{role}" + path.replace("/", "-").replace("?", "_"))
        waiting.extend((link, path) for link in await links_of(page) if link not in seen)
    assert not problems, (role, problems)
    return seen


async def test_every_page_each_role_can_reach_is_accessible_and_fits_a_phone(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world = await with_matches(api, engine, await build_world(api, engine))
    visited = {}
    for role, person in (
        ("visitor", None),
        ("resident", world.alice),
        ("volunteer", world.vera),
        ("worker", world.worker_18),
        ("admin", world.admin),
    ):
        page = await new_page(browser, live_server)
        if person is not None:
            await page.context.add_cookies(
                [{"name": "voisins_session", "value": person.token, "url": live_server}]
            )
        visited[role] = await crawl(page, role)
        await page.context.close()
    # The crawl reaches each role's own pages (it cannot pass by visiting nothing).
    assert {"/connexion", "/inscription", "/aide"} <= set(visited["visitor"])
    assert {"/mes-annonces", "/mon-compte", "/messages"} <= set(visited["resident"])
    assert {"/propositions", "/mes-aides", "/benevole"} <= set(visited["volunteer"])
    assert {"/centre", "/centre/suivi", "/centre/verification"} <= set(visited["worker"])
