"""The outbox relay: turns committed outbox rows into arq jobs (ids only).

Woken at once by NOTIFY, and by a periodic sweep that also re-sends events whose job
never finished. Redis down leaves rows pending: nothing is lost, the next sweep tries
again. A job that runs twice is harmless: deliveries are unique in PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.logs import get_logger

log = get_logger(__name__)

CHANNEL = "voisins_outbox"
SWEEP_S = 2.0
# An event handed to a job that has not finished after this long is handed out again.
STALE_S = 120
BATCH = 500


async def dispatch_pending(engine: AsyncEngine, redis: ArqRedis) -> int:
    """Enqueue one ``process_event`` job per pending outbox row; mark them dispatched
    only if every enqueue succeeded (a Redis error rolls the marks back)."""
    async with engine.begin() as conn:
        ids = list(
            (
                await conn.execute(
                    text(
                        """
                        SELECT id FROM outbox
                        WHERE processed_at IS NULL
                          AND (dispatched_at IS NULL
                               OR dispatched_at < now() - make_interval(secs => :stale))
                        ORDER BY id LIMIT :batch
                        FOR UPDATE SKIP LOCKED
                        """
                    ),
                    {"stale": STALE_S, "batch": BATCH},
                )
            ).scalars()
        )
        for event_id in ids:
            await redis.enqueue_job("process_event", event_id, _job_id=f"event:{event_id}")
        if ids:
            await conn.execute(
                text("UPDATE outbox SET dispatched_at = now() WHERE id = ANY(:ids)"), {"ids": ids}
            )
    return len(ids)


async def run_relay(dsn: str, engine: AsyncEngine, redis: ArqRedis) -> None:
    """Run until cancelled: LISTEN for new events, sweep every ``SWEEP_S`` seconds."""
    wake = asyncio.Event()
    listener: asyncpg.Connection | None = None
    failing = False
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(dsn)
                    await listener.add_listener(CHANNEL, lambda *_: wake.set())
                await dispatch_pending(engine, redis)
                if failing:
                    log.warning("outbox relay recovered")
                    failing = False
            except (
                OSError,
                RedisError,
                asyncpg.PostgresError,
                DBAPIError,
                OperationalError,
            ) as exc:
                if not failing:
                    log.warning("outbox relay waiting for a dependency", error=type(exc).__name__)
                    failing = True
                listener = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), SWEEP_S)
            wake.clear()
    finally:
        if listener is not None and not listener.is_closed():
            await listener.close()
