"""arq worker: ``voisins worker`` runs ``WorkerSettings``.

Jobs are plain ``async def job(ctx, some_id)`` functions; their arguments are ids
only (arq pickles them into Redis). Shared clients live in ``ctx``, opened by the
startup hook and closed by the shutdown hook.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from arq import cron

from voisins.db import create_engine
from voisins.logs import configure_logging, get_logger
from voisins.redis_pool import arq_redis_settings
from voisins.settings import Settings, load_settings

log = get_logger(__name__)

HEARTBEAT_KEY = "voisins:worker:heartbeat"


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    configure_logging(settings)
    ctx["settings"] = settings
    ctx["engine"] = create_engine(settings, pool_size=5)
    log.info("worker started")


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()
    log.info("worker stopped")


async def record_heartbeat(ctx: dict[str, Any]) -> None:
    """Lets operators see that a worker is alive and its cron loop turns."""
    await ctx["redis"].set(HEARTBEAT_KEY, str(int(time.time())), ex=600)


class WorkerSettings:
    """What every voisins worker runs; the CLI adds the Redis settings and the context."""

    functions: ClassVar[list[Any]] = []
    cron_jobs: ClassVar[list[Any]] = [cron(record_heartbeat, second=0, run_at_startup=True)]
    on_startup = startup
    on_shutdown = shutdown
    # Short timeouts: a job lost in a crash is retried only after the longest one.
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
