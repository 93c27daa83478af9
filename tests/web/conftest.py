"""Fixtures for the page tests: ``live_server`` (the app served on a free port),
``worker_process`` (a real ``voisins worker``) and ``browser`` (Chromium); what they
run is in tests/support/servers.py and tests/support/browser.py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.browser import chromium_path
from tests.support.servers import running_worker, serving
from voisins.settings import Settings


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[str]:
    async with serving(settings) as base_url:
        yield base_url


@pytest.fixture
def worker_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    with running_worker(settings) as process:
        yield process


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=args
        )
        try:
            yield launched
        finally:
            await launched.close()
