"""The page's live inbox through a Redis restart (issue 13), in a real Chromium: its
stream ends, EventSource reconnects, and the page fetches once what arrived meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify import live
from voisins.settings import Settings

from ..support.browser import new_page
from ..support.inbox import unread_proposition
from ..support.people import register
from ..support.redis_server import PrivateRedis, private_redis
from ..support.servers import serving


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


async def streams_open(count: int, timeout_s: float) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if live.open_streams() == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{live.open_streams()} streams open, expected {count}")


async def test_a_message_stored_while_redis_was_down_shows_once_the_page_reconnects(
    browser: Browser, settings: Settings, engine: AsyncEngine, redis_server: PrivateRedis
) -> None:
    private = msgspec.structs.replace(settings, redis_url=redis_server.url(0))
    async with AsyncTestClient(create_app(private)) as setup:
        nadia = await register(setup, "Nadia")
    async with serving(private) as base_url:
        page = await new_page(browser, base_url)
        try:
            await page.context.add_cookies(
                [{"name": "voisins_session", "value": nadia.token, "url": base_url}]
            )
            await page.goto("/messages")
            badge = page.locator("#unread")
            await expect(badge).to_be_hidden()
            await streams_open(1, 10)

            redis_server.kill()
            # Stored while nothing can be pushed (the worker's push would fail too).
            await unread_proposition(engine, nadia.id)
            redis_server.start()

            # The browser reconnects (retry 3 s), the new stream says ready once the server
            # is subscribed again (backoff up to 5 s), and the page catches up.
            await expect(badge).to_have_text("1", timeout=25_000)
            await expect(badge).to_be_visible()
            await expect(page.locator("#inbox-list")).to_contain_text("Nouvelle proposition")
        finally:
            # A page left open keeps its stream, and the server's stop waiting for it.
            await page.context.close()
