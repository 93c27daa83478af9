"""arq workers: ``voisins worker`` runs two in one process (``run_workers``).

``WorkerSettings`` takes events (the fan-out that fills in-app inboxes), housekeeping
and the crons from arq's default queue; ``SendWorkerSettings`` takes the deliveries to
send (e-mail, SMS, webhooks) from a queue of their own, with more jobs at a time, so
that thousands of e-mails waiting never delay an inbox.

Jobs are plain ``async def job(ctx, some_id)`` functions; their arguments are ids
only (arq pickles them into Redis). Shared clients live in ``ctx``, opened by the
startup hook and closed by the shutdown hook, one set per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from arq import cron, func
from arq.worker import Worker, create_worker
from sqlalchemy import text

from voisins.db import create_engine
from voisins.idempotency import purge_expired as purge_idempotency_keys
from voisins.logs import configure_logging, get_logger
from voisins.matching.engine import escalate_due
from voisins.moderation.followups import raise_followups
from voisins.moderation.gdpr import apply_retention, finish_erasures
from voisins.notify.digest import compose_digests
from voisins.notify.jobs import SEND_QUEUE, now_of, process_event, send_deliveries, send_due
from voisins.notify.relay import run_relay
from voisins.notify.reminders import remind_propositions
from voisins.notify.senders import Senders
from voisins.posts import service as posts
from voisins.redis_pool import arq_redis_settings
from voisins.settings import Settings, load_settings

log = get_logger(__name__)

HEARTBEAT_KEY = "voisins:worker:heartbeat"


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    configure_logging(settings)
    ctx["settings"] = settings
    ctx["engine"] = create_engine(settings, pool_size=5)
    ctx["senders"] = Senders.from_settings(settings)
    # The relay lives inside the worker: woken by NOTIFY, it turns outbox rows into jobs.
    ctx["relay"] = asyncio.create_task(run_relay(settings.asyncpg_dsn, ctx["engine"], ctx["redis"]))
    log.info("worker started")


async def shutdown(ctx: dict[str, Any]) -> None:
    relay = ctx.get("relay")
    if relay is not None:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    await ctx["senders"].aclose()
    await ctx["engine"].dispose()
    log.info("worker stopped")


async def startup_sends(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    configure_logging(settings)
    ctx["settings"] = settings
    # A running job holds one connection (claims, facts, marks); the overflow covers
    # the release of a cancelled job's claims.
    ctx["engine"] = create_engine(settings, pool_size=SendWorkerSettings.max_jobs)
    ctx["senders"] = Senders.from_settings(settings)


async def shutdown_sends(ctx: dict[str, Any]) -> None:
    await ctx["senders"].aclose()
    await ctx["engine"].dispose()


async def expire_posts(ctx: dict[str, Any]) -> int:
    """Published posts past their expiry date become expired."""
    async with ctx["engine"].begin() as conn:
        count = await posts.expire_due(conn)
    if count:
        log.info("posts expired", count=count)
    return count


async def purge_stale_records(ctx: dict[str, Any]) -> dict[str, int]:
    """Old idempotency keys, ended sessions and used reset links are of no more use."""
    async with ctx["engine"].begin() as conn:
        keys = await purge_idempotency_keys(conn)
        sessions = (
            await conn.execute(text("DELETE FROM sessions WHERE expires_at < now()"))
        ).rowcount
        resets = (
            await conn.execute(
                text("DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'")
            )
        ).rowcount
    return {"idempotency_keys": keys, "sessions": sessions, "password_resets": resets}


async def escalate_matching(ctx: dict[str, Any]) -> int:
    """Requests whose batch deadline passed get their next batch, a wider search, or a
    place on their centre's follow-up list."""
    async with ctx["engine"].begin() as conn:
        outcomes = await escalate_due(conn, ctx["settings"], now=datetime.now(UTC))
    return len(outcomes)


async def gather_digests(ctx: dict[str, Any]) -> int:
    """Messages held for the daily digest go out as one, each person's morning."""
    return len(await compose_digests(ctx["engine"], now=now_of(ctx)))


async def remind_unanswered(ctx: dict[str, Any]) -> int:
    """Propositions unanswered half-way to their deadline are recalled, once."""
    async with ctx["engine"].begin() as conn:
        return await remind_propositions(conn, now=now_of(ctx))


async def raise_followup_items(ctx: dict[str, Any]) -> int:
    """Isolated people without activity and missed visits join their centre's follow-up list."""
    async with ctx["engine"].begin() as conn:
        return await raise_followups(conn, ctx["settings"], now=now_of(ctx))


async def record_heartbeat(ctx: dict[str, Any]) -> None:
    """Lets operators see that a worker is alive and its cron loop turns."""
    await ctx["redis"].set(HEARTBEAT_KEY, str(int(time.time())), ex=600)


class WorkerSettings:
    """Events, housekeeping and crons on arq's default queue; ``create_workers`` adds
    the Redis settings and the context."""

    functions: ClassVar[list[Any]] = [
        expire_posts,
        purge_stale_records,
        escalate_matching,
        gather_digests,
        remind_unanswered,
        apply_retention,
        finish_erasures,
        raise_followup_items,
        # Results are not kept: `_job_id` then only dedupes queued and running jobs, and
        # the real de-duplication is the unique delivery key in PostgreSQL.
        func(process_event, keep_result=0),
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(record_heartbeat, second=0, run_at_startup=True),
        cron(expire_posts, minute=set(range(0, 60, 5)), second=10),
        cron(escalate_matching, second=30),
        cron(send_due, second={5, 15, 25, 35, 45, 55}, keep_result=0),
        cron(purge_stale_records, hour=3, minute=17, second=0),
        cron(remind_unanswered, second=40, keep_result=0),
        cron(gather_digests, minute=set(range(0, 60, 5)), second=50, keep_result=0),
        # GDPR: support records two years after the last contact, audit traces after a year.
        cron(apply_retention, hour=3, minute=47, second=0),
        cron(finish_erasures, minute=set(range(2, 60, 5)), second=0, keep_result=0),
        cron(raise_followup_items, minute=7, second=20, keep_result=0),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # Short timeouts: a job lost in a crash is retried only after the longest one.
    job_timeout = 60
    max_tries = 5
    health_check_interval = 30
    # An event waits for the next poll before its fan-out (arq's default is 0.5 s).
    poll_delay = 0.1


class SendWorkerSettings:
    """Deliveries to send, from their own queue (``notify.jobs.SEND_QUEUE``)."""

    queue_name = SEND_QUEUE
    functions: ClassVar[list[Any]] = [func(send_deliveries, keep_result=0)]
    on_startup = startup_sends
    on_shutdown = shutdown_sends
    # Each job sends its chunk over one SMTP connection, one message after the other,
    # so that a few jobs keep the relay and PostgreSQL busy while one waits. Sending is
    # CPU-bound on a small machine: more jobs do not send faster, they only lengthen
    # the event loop's queue, which the fan-out of the events worker shares.
    max_jobs = 4
    # arq starts queued jobs at each poll only: a slot freed waits for the next one.
    poll_delay = 0.1
    job_timeout = 60
    max_tries = 5
    health_check_interval = 30


def worker_options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``arq.worker.Worker`` / ``run_worker`` with these settings."""
    options: dict[str, Any] = {
        "redis_settings": arq_redis_settings(settings),
        "ctx": {"settings": settings},
    }
    options.update(extra)
    return options


def create_workers(
    settings: Settings, *, ctx: dict[str, Any] | None = None, **extra: Any
) -> list[Worker]:
    """The events worker, then the send worker. ``ctx`` adds entries to each one's own
    context (tests freeze the clock there); ``extra`` overrides Worker options
    (``burst=True``…) of both."""
    workers = []
    for settings_cls in (WorkerSettings, SendWorkerSettings):
        options = worker_options(settings, **extra)
        options["ctx"].update(ctx or {})
        workers.append(create_worker(settings_cls, **options))  # type: ignore[arg-type]
    return workers


async def run_workers(settings: Settings) -> None:
    """``voisins worker``: both workers in this process until SIGINT or SIGTERM (or
    until one of them fails, which stops the other and is raised)."""
    workers = create_workers(settings, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runs = [asyncio.create_task(worker.async_run()) for worker in workers]
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([stopping, *runs], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        # close() cancels the running jobs (arq runs them again later; a cancelled
        # send hands its unstarted claims back), then runs the shutdown hook.
        for worker in reversed(workers):
            await worker.close()
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
