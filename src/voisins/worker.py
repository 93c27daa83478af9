"""arq workers: ``voisins worker`` runs three in one process (``run_workers``).

``WorkerSettings`` takes events (the fan-out that fills in-app inboxes) from arq's
default queue; ``SendWorkerSettings`` takes the deliveries to send (e-mail, SMS,
webhooks) from a queue of their own, with more jobs at a time, so that thousands of
e-mails waiting never delay an inbox; ``HousekeepingSettings`` runs the crons, whose
longer timeout must not lengthen arq's lock of a killed event job.

Jobs are plain ``async def job(ctx, some_id)`` functions; their arguments are ids
only (arq pickles them into Redis). They live in notify/jobs.py (events and sends) and
housekeeping.py (the crons); this module says which worker runs them, when, and how
they are retried. Shared clients live in ``ctx``, opened by the startup hook and closed
by the shutdown hook, one set per worker.

The process outlives Redis and PostgreSQL outages: see ``run_workers``.

One module although just over 400 lines: the worker kinds, the retry of jobs while
PostgreSQL is down and the supervision that recreates a worker after a Redis outage are
one process's life, and share its outage logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import asyncpg
from arq import Retry, cron, func
from arq.typing import WorkerCoroutine
from arq.worker import Worker, create_worker
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from voisins.db import create_engine
from voisins.health import Check, OutageLogger, Readiness
from voisins.housekeeping import (
    apply_retention,
    escalate_matching,
    expire_posts,
    finish_erasures,
    gather_digests,
    purge_stale_records,
    raise_followup_items,
    raise_housing_followups,
    record_heartbeat,
    remind_unanswered,
)
from voisins.logs import configure_logging, get_logger
from voisins.notify.jobs import SEND_QUEUE, process_event, send_deliveries, send_due
from voisins.notify.relay import run_relay
from voisins.notify.senders import Senders
from voisins.redis_pool import arq_redis_settings, create_redis
from voisins.settings import Settings, load_settings

log = get_logger(__name__)


async def _open_clients(ctx: dict[str, Any], *, pool_size: int) -> Settings:
    settings: Settings = ctx.get("settings") or load_settings()
    configure_logging(settings)
    ctx["settings"] = settings
    ctx["engine"] = create_engine(settings, pool_size=pool_size)
    ctx["senders"] = Senders.from_settings(settings)
    return settings


async def _close_clients(ctx: dict[str, Any]) -> None:
    # Tolerant of a start-up cut short: a worker recreated after losing Redis may not
    # have opened everything.
    if "senders" in ctx:
        await ctx["senders"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()


async def startup(ctx: dict[str, Any]) -> None:
    settings = await _open_clients(ctx, pool_size=5)
    # The relay lives inside the worker: woken by NOTIFY, it turns outbox rows into jobs.
    ctx["relay"] = asyncio.create_task(run_relay(settings.asyncpg_dsn, ctx["engine"], ctx["redis"]))
    log.info("worker started")


async def shutdown(ctx: dict[str, Any]) -> None:
    relay = ctx.get("relay")
    if relay is not None:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    await _close_clients(ctx)
    log.info("worker stopped")


async def startup_sends(ctx: dict[str, Any]) -> None:
    # A running job holds one connection (claims, facts, marks); the overflow covers
    # the heartbeat of its claims and the release of a cancelled job's claims.
    await _open_clients(ctx, pool_size=SendWorkerSettings.max_jobs)


async def startup_housekeeping(ctx: dict[str, Any]) -> None:
    await _open_clients(ctx, pool_size=3)


async def shutdown_clients(ctx: dict[str, Any]) -> None:
    await _close_clients(ctx)


# Errors that mean "PostgreSQL is unreachable for now", not "this job is wrong".
_DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, timed out (asyncpg raises them as they are)
    SQLAlchemyTimeoutError,  # no pooled connection came free
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.InterfaceError,
)


def _database_down(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc.orig, _DATABASE_DOWN)
    return isinstance(exc, _DATABASE_DOWN)


def _outages(ctx: dict[str, Any]) -> OutageLogger:
    """The process's outage logger (``run_workers`` shares one among its workers)."""
    outages = ctx.get("outages")
    if outages is None:
        outages = ctx["outages"] = OutageLogger(ctx["settings"].health_log_interval_s)
    return outages


def _observe(outages: OutageLogger, dependency: str, failure: BaseException | None) -> None:
    check = Check(ok=True) if failure is None else Check(ok=False, detail=type(failure).__name__)
    status = "ready" if check.ok else "unavailable"
    outages.observe(Readiness(status=status, checks={dependency: check}))


def waits_for_database(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """``job``, retried a little later while PostgreSQL is unreachable (arq's ``Retry``,
    logged at most once per ``health_log_interval_s``, not one traceback per job).
    Other errors fail the job as before."""

    @functools.wraps(job)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = await job(ctx, *args, **kwargs)
        except Exception as exc:
            if not _database_down(exc):
                raise
            _observe(_outages(ctx), "database", exc)
            raise Retry(defer=min(60, 5 * ctx.get("job_try", 1))) from exc
        _observe(_outages(ctx), "database", None)
        return result

    return run


class WorkerSettings:
    """Events (the fan-out) on arq's default queue; ``create_workers`` adds the Redis
    settings and the context."""

    functions: ClassVar[list[Any]] = [
        # Results are not kept: `_job_id` then only dedupes queued and running jobs, and
        # the real de-duplication is the unique delivery key in PostgreSQL.
        func(waits_for_database(process_event), keep_result=0),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # arq locks a running job for its worker's longest timeout + 10 s; a worker killed
    # mid-event leaves the event to that lock (the relay never duplicates a job arq
    # still holds). A fan-out takes milliseconds: 20 s is ample, and the lock 30 s. The
    # crons, which may take longer, have a worker of their own (HousekeepingSettings).
    job_timeout = 20
    # Failed jobs keep no result either, which would block the relay's new job under
    # the same id for the result's lifetime.
    keep_result = 0
    max_tries = 5
    health_check_interval = 30
    # An event waits for the next poll before its fan-out (arq's default is 0.5 s).
    poll_delay = 0.1


class SendWorkerSettings:
    """Deliveries to send, from their own queue (``notify.jobs.SEND_QUEUE``)."""

    queue_name = SEND_QUEUE
    functions: ClassVar[list[Any]] = [func(waits_for_database(send_deliveries), keep_result=0)]
    on_startup = startup_sends
    on_shutdown = shutdown_clients
    # Each job sends its chunk over one SMTP connection, one message after the other,
    # so that a few jobs keep the relay and PostgreSQL busy while one waits. Sending is
    # CPU-bound on a small machine: more jobs do not send faster, they only lengthen
    # the event loop's queue, which the fan-out of the events worker shares.
    max_jobs = 4
    # arq starts queued jobs at each poll only: a slot freed waits for the next one.
    poll_delay = 0.1
    # A chunk (notify.jobs.SEND_CHUNK) takes seconds. arq's lock of a killed send job
    # does not delay its deliveries: their claims' heartbeat stops, and ``send_due``
    # hands them to new jobs after ``delivery_claim_timeout_s``.
    job_timeout = 60
    keep_result = 0
    max_tries = 5
    health_check_interval = 30


HOUSEKEEPING_QUEUE = "voisins:housekeeping"


class HousekeepingSettings:
    """The crons: sweeps of due sends, expiries, escalation, digests, reminders,
    retention. Each cron run has a job id of its own, so arq's lock of a run killed
    mid-way holds nothing up; their timeout may be longer than the events'."""

    queue_name = HOUSEKEEPING_QUEUE
    functions: ClassVar[list[Any]] = [
        waits_for_database(job)
        for job in (
            expire_posts,
            purge_stale_records,
            escalate_matching,
            gather_digests,
            remind_unanswered,
            apply_retention,
            finish_erasures,
            raise_followup_items,
            raise_housing_followups,
        )
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(record_heartbeat, second=0, run_at_startup=True),
        cron(waits_for_database(expire_posts), minute=set(range(0, 60, 5)), second=10),
        cron(waits_for_database(escalate_matching), second=30),
        # Every 5 s: claims left by a killed send job go out again at most this long
        # after they are ``delivery_claim_timeout_s`` old.
        cron(waits_for_database(send_due), second=set(range(2, 60, 5)), keep_result=0),
        cron(waits_for_database(purge_stale_records), hour=3, minute=17, second=0),
        cron(waits_for_database(remind_unanswered), second=40, keep_result=0),
        cron(
            waits_for_database(gather_digests),
            minute=set(range(0, 60, 5)),
            second=50,
            keep_result=0,
        ),
        # GDPR: support records and conversation texts after support_retention_days,
        # audit traces after a year.
        cron(waits_for_database(apply_retention), hour=3, minute=47, second=0),
        cron(
            waits_for_database(finish_erasures),
            minute=set(range(2, 60, 5)),
            second=0,
            keep_result=0,
        ),
        cron(waits_for_database(raise_followup_items), minute=7, second=20, keep_result=0),
        # Hourly too: a visit falls due at the French midnight, seen within the hour.
        cron(waits_for_database(raise_housing_followups), minute=9, second=20, keep_result=0),
    ]
    on_startup = startup_housekeeping
    on_shutdown = shutdown_clients
    job_timeout = 60
    keep_result = 0
    max_tries = 5
    health_check_interval = 30


WORKER_KINDS: tuple[type, ...] = (WorkerSettings, SendWorkerSettings, HousekeepingSettings)


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
    """The events worker, the send worker, the housekeeping worker. ``ctx`` adds
    entries to each one's own context (tests freeze the clock there); ``extra``
    overrides Worker options (``burst=True``…) of all."""
    return [_create_worker(kind, settings, ctx, **extra) for kind in WORKER_KINDS]


def _create_worker(
    kind: type, settings: Settings, ctx: dict[str, Any] | None, **extra: Any
) -> Worker:
    options = worker_options(settings, **extra)
    options["ctx"].update(ctx or {})
    return create_worker(kind, **options)


# A worker that lost Redis (or failed otherwise) is recreated after this backoff,
# doubled at each failure in a row up to the maximum.
RESTART_MIN_S = 0.2
RESTART_MAX_S = 5.0
# A worker that ran this long before failing starts the backoff again from the minimum.
RESTART_RESET_S = 60.0


async def run_workers(settings: Settings) -> None:
    """``voisins worker``: the three workers in this process until SIGINT or SIGTERM.

    It never stops on its own. A worker whose Redis went away (arq's Worker then
    raises) is closed without Redis and recreated once Redis answers again; PostgreSQL
    being down only retries the jobs (``waits_for_database``). Outages are logged once
    per ``health_log_interval_s``, and their end once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    outages = OutageLogger(settings.health_log_interval_s)
    await asyncio.gather(*(_supervise(kind, settings, stop, outages) for kind in WORKER_KINDS))


async def _supervise(
    kind: type, settings: Settings, stop: asyncio.Event, outages: OutageLogger
) -> None:
    """Run one worker of ``kind``; recreate it whenever it fails, until ``stop``."""
    delay = RESTART_MIN_S
    while await _wait_for_redis(settings, stop, outages):
        worker = _create_worker(kind, settings, {"outages": outages}, handle_signals=False)
        began = loop_time()
        run = asyncio.create_task(worker.async_run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([run, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            await _close(worker, run)
            return
        failure = run.exception() if not run.cancelled() else None
        if isinstance(failure, RedisError | OSError):
            _observe(outages, "redis", failure)
        else:
            log.error("worker failed, restarting", worker=kind.__name__, error=repr(failure)[:200])
        await _discard(worker)
        if loop_time() - began > RESTART_RESET_S:
            delay = RESTART_MIN_S
        await _sleep_unless(stop, delay)
        delay = min(delay * 2, RESTART_MAX_S)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_for_redis(settings: Settings, stop: asyncio.Event, outages: OutageLogger) -> bool:
    """Until Redis answers a PING (True) or ``stop`` is set (False). Our own ping rather
    than arq's ``create_pool``, which retries five times and then raises, logging
    each attempt."""
    client = create_redis(settings)
    delay = RESTART_MIN_S
    try:
        while not stop.is_set():
            try:
                await client.ping()
            except (RedisError, OSError) as exc:
                _observe(outages, "redis", exc)
            else:
                _observe(outages, "redis", None)
                return True
            await _sleep_unless(stop, delay)
            delay = min(delay * 2, RESTART_MAX_S)
        return False
    finally:
        with contextlib.suppress(RedisError, OSError):
            await client.aclose()


async def _close(worker: Worker, run: asyncio.Task[None]) -> None:
    """Stop on request: arq's close (cancels the running jobs — arq runs them again
    later, a cancelled send hands its unstarted claims back — removes the health key,
    runs the shutdown hook); without Redis, our own."""
    try:
        await worker.close()
    except (RedisError, OSError):
        await _discard(worker)
    except asyncio.CancelledError:
        # arq's close gathers the jobs it has just cancelled: one caught finishing (its
        # result being written) raises CancelledError there, before the shutdown hook
        # (seen twice in a loaded CI run: exit 1, clients left open). Our own task being
        # cancelled is another matter: that one goes on up.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        await _discard(worker)
    # Its outcome no longer matters: we are stopping.
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await run


async def _discard(worker: Worker) -> None:
    """Close a worker whose Redis is gone: arq's ``close`` would fail at its first Redis
    command and skip the shutdown hook (the relay, the pools, the SMTP clients)."""
    for task in worker.tasks.values():
        task.cancel()  # a cancelled send hands its unstarted claims back
    if worker.tasks:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*worker.tasks.values(), return_exceptions=True), 30
            )
    try:
        if worker.on_shutdown is not None:
            await worker.on_shutdown(worker.ctx)
    except Exception as exc:  # the next worker must start whatever this one left
        log.error("worker shutdown failed", error=type(exc).__name__)
    pool = worker._pool
    worker._pool = None
    if pool is not None:
        with contextlib.suppress(RedisError, OSError):
            await pool.close(close_connection_pool=True)
