"""The app and its worker as real servers for a test: ``serving`` runs the whole app
(pages, API, SSE) with uvicorn on a free port, ``running_worker`` a real ``voisins
worker`` process (relay, fan-out, sends, SSE events)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import uvicorn

from voisins.app import create_app
from voisins.settings import Settings

from .ports import free_port


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
