"""Closing steps that cannot hang a stopping process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from voisins.logs import get_logger

log = get_logger(__name__)

# How long one closing step may take before the process goes on without it.
STEP_S = 5.0


async def finish_within(closing: Awaitable[None], step: str, seconds: float = STEP_S) -> None:
    """Await one closing step, at most ``seconds``; a process that is stopping must stop.

    Seen hanging: redis-py's pub/sub swallowing the cancellation of its reader or
    stalling in ``aclose`` (redis/redis-py#3941), and once, in a clean-clone CI run, the
    database pool's disposal waiting on asyncpg to close a connection with the event loop
    idle (cause not found). Not ``asyncio.wait_for``: on timeout it waits for the
    cancelled step to end, the very thing that may never happen."""
    task = asyncio.ensure_future(closing)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("shutdown step did not finish in time; going on", step=step)
        return
    if not task.cancelled() and task.exception() is not None:
        log.warning("shutdown step failed", step=step, error=type(task.exception()).__name__)
