"""The outbox relay: turns committed outbox rows into arq jobs (ids only).

Woken at once by NOTIFY, and by a periodic sweep that also re-sends events whose job
is gone (neither queued nor running in Redis) before it finished them. Redis down
leaves rows pending: nothing is lost, the next sweep tries again. A job that runs
twice is harmless: deliveries are unique in PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.logs import get_logger

log = get_logger(__name__)

CHANNEL = "voisins_outbox"
SWEEP_S = 2.0
BATCH = 500
# Events handed out at least this long ago whose job is gone are handed out again. The
# floor covers the moment between the enqueue and the commit of ``dispatched_at``, and a
# relay of another worker process that reads the row then; beyond it the job's state in
# Redis decides, not a clock. The wait also grows with the event's age (a quarter of
# it), so an event whose job keeps failing costs a job now and then, not every sweep.
REDISPATCH_FLOOR_S = 5.0


def job_id(event_id: int) -> str:
    """The arq job id of an event: arq refuses a second job under it while the first is
    queued or running."""
    return f"event:{event_id}"


async def dispatch_pending(engine: AsyncEngine, redis: ArqRedis) -> int:
    """Enqueue one ``process_event`` job per new outbox row, and again for each event
    handed out earlier whose job is neither queued nor running any more (lost with a
    Redis restart, failed, or expired) while the event is still unprocessed. Rows are
    marked dispatched only if every enqueue succeeded (a Redis error rolls the marks
    back). Returns how many jobs were enqueued."""
    async with engine.begin() as conn:
        fresh = list(
            (
                await conn.execute(
                    text(
                        """
                        SELECT id FROM outbox
                        WHERE processed_at IS NULL AND dispatched_at IS NULL
                        ORDER BY id LIMIT :batch
                        FOR UPDATE SKIP LOCKED
                        """
                    ),
                    {"batch": BATCH},
                )
            ).scalars()
        )
        handed_out = list(
            (
                await conn.execute(
                    text(
                        """
                        SELECT id FROM outbox
                        WHERE processed_at IS NULL AND dispatched_at IS NOT NULL
                          AND dispatched_at < now() - GREATEST(
                                make_interval(secs => :floor), (now() - created_at) / 4)
                        ORDER BY dispatched_at LIMIT :batch
                        FOR UPDATE SKIP LOCKED
                        """
                    ),
                    {"floor": REDISPATCH_FLOOR_S, "batch": BATCH},
                )
            ).scalars()
        )
        ids = fresh + await _jobs_gone(redis, handed_out)
        for event_id in ids:
            await redis.enqueue_job("process_event", event_id, _job_id=job_id(event_id))
        if ids:
            await conn.execute(
                text("UPDATE outbox SET dispatched_at = now() WHERE id = ANY(:ids)"), {"ids": ids}
            )
    return len(ids)


async def _jobs_gone(redis: ArqRedis, event_ids: list[int]) -> list[int]:
    """The events among ``event_ids`` whose job is neither queued (``arq:job:…``) nor
    running (``arq:in-progress:…``). A result kept from an earlier run would make arq
    refuse the new job: it is dropped (the event is still unprocessed, so that run did
    not finish it)."""
    if not event_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for event_id in event_ids:
            job = job_id(event_id)
            pipe.exists(job_key_prefix + job, in_progress_key_prefix + job)
        alive = await pipe.execute()
    gone = [event_id for event_id, keys in zip(event_ids, alive, strict=True) if not keys]
    if gone:
        await redis.delete(*(result_key_prefix + job_id(event_id) for event_id in gone))
        log.info("outbox events handed out again", count=len(gone))
    return gone


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
