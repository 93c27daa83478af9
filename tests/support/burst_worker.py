"""The real arq workers of ``voisins worker`` run in burst mode inside a test: each runs
every job queued for it, then stops (crons left out). ``relay_outbox`` first hands the
pending outbox rows to them, as the relay does; ``run_housekeeping_job`` runs one
periodic job to its end and answers its result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.clock import PARIS
from voisins.notify.relay import dispatch_pending
from voisins.redis_pool import arq_redis_settings
from voisins.settings import Settings
from voisins.worker import HousekeepingSettings, create_workers, worker_options


def noon() -> datetime:
    """Today at noon in Paris: outside quiet hours, whatever time the tests run."""
    return datetime.now(PARIS).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)


def burst_workers(settings: Settings, clock: Callable[[], datetime] | None = noon) -> list[Worker]:
    """The events, send and housekeeping workers, in burst mode; their clock reads
    ``clock`` (``None``: the real one)."""
    ctx = None if clock is None else {"clock": clock}
    return create_workers(settings, ctx=ctx, burst=True, poll_delay=0.05, cron_jobs=None)


async def run_to_end(worker: Worker) -> None:
    try:
        await worker.main()
    finally:
        await worker.close()


async def run_worker(
    settings: Settings,
    clock: Callable[[], datetime] = noon,
    after_each: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The real arq workers in burst mode, events then sends: each runs every job
    queued for it, then stops. Their clock is frozen (at noon unless told) so that
    quiet hours do not hold the e-mails back. ``after_each`` runs once each worker
    has stopped."""
    for worker in burst_workers(settings, clock):
        await run_to_end(worker)
        if after_each is not None:
            await after_each()


async def relay_outbox(engine: AsyncEngine, settings: Settings) -> int:
    """What the relay does: every pending outbox row becomes a job; answers how many."""
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        return await dispatch_pending(engine, pool)
    finally:
        await pool.aclose()


async def run_housekeeping_job(settings: Settings, job: str) -> object:
    """Queue one housekeeping job, run a burst housekeeping worker, answer the result."""
    pool: ArqRedis = await create_pool(arq_redis_settings(settings))
    try:
        queued = await pool.enqueue_job(job, _queue_name=HousekeepingSettings.queue_name)
        assert queued is not None
        worker = Worker(
            functions=HousekeepingSettings.functions,
            queue_name=HousekeepingSettings.queue_name,
            on_startup=HousekeepingSettings.on_startup,
            on_shutdown=HousekeepingSettings.on_shutdown,
            burst=True,
            poll_delay=0.05,
            **worker_options(settings),
        )
        await worker.main()
        await worker.close()
        return await queued.result(timeout=5)
    finally:
        await pool.aclose()


async def deliver_pending(engine: AsyncEngine, settings: Settings) -> int:
    """Relay the pending outbox rows, then run the burst workers on them; answers how
    many rows the relay handed over."""
    relayed = await relay_outbox(engine, settings)
    await run_worker(settings)
    return relayed
