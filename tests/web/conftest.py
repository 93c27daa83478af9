"""Real parts for the browser tests: the app served by uvicorn on a free port, a real
`voisins worker` process (relay, fan-out, SSE), and Debian's Chromium driven by
Playwright (no browser download). Screenshots go to build/screenshots/."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from voisins.app import create_app
from voisins.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = "/static/vendor/axe/axe.min.js"
# What the accessibility check refuses (axe's impact levels).
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str:
    """The browser scripts/browser.sh installs (make test runs it first)."""
    found = subprocess.run(
        ["bash", str(ROOT / "scripts" / "browser.sh")], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise RuntimeError(found.stderr.strip() or "no Chromium")
    return found.stdout.strip().splitlines()[-1]


@contextlib.asynccontextmanager
async def serving(settings: Settings, port: int | None = None) -> AsyncIterator[str]:
    """The whole app on a real port (pages, API, SSE); yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(200):  # uvicorn exposes no "started" event to wait on
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(serving, 10)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[str]:
    async with serving(settings) as base_url:
        yield base_url


@contextlib.contextmanager
def running_worker(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``voisins worker`` process: relays the outbox, fans events out, sends
    (SMTP when ``settings`` has a server), pushes SSE events."""
    env = {
        **os.environ,
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_DATABASE_URL": settings.database_url,
        "VOISINS_REDIS_URL": settings.redis_url,
        "VOISINS_PUBLIC_BASE_URL": settings.public_base_url,
        "VOISINS_SMTP_HOST": settings.smtp_host,
        "VOISINS_SMTP_PORT": str(settings.smtp_port),
        "VOISINS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "voisins.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


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
