"""``/metrics`` for operators, in Prometheus text format.

Per route (Litestar's Prometheus middleware): request counts and latencies, labelled
with the route *template* (``/api/v1/posts/{post_id}``), never the path a
person asked for: paths hold ids, query strings hold coordinates and e-mails.

Read at scrape time: the API's database pool, the SSE streams this process holds,
and, from PostgreSQL and Redis, the outbox lag, dead letters and the arq queue depths;
deliveries by status and channel, a scan of a table that only grows, at most once a
minute. No label is taken from a request or a row, except fixed vocabularies
(status, channel, queue name).

Several processes (``voisins serve --workers N``): prometheus_client then keeps each
process's counters in files under ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered
by any one process, sums them. The pool and SSE gauges are per process, so they are
``livesum`` gauges each process refreshes every few seconds; the PostgreSQL and Redis
figures are global, so they are read by the process that answers and never stored in
the files (stored, they would be summed once per process).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import hmac
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from arq.constants import default_queue_name
from litestar import Litestar, Response, get
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.errors import Unauthenticated
from voisins.logs import get_logger
from voisins.notify import live
from voisins.notify.jobs import SEND_QUEUE

log = get_logger(__name__)

# The *_created series (a timestamp per counter and histogram) double the output and no
# dashboard here reads them.
disable_created_metrics()

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Each process of a multi-process server writes its pool and SSE figures this often.
REFRESH_S = 5.0
QUEUES = (default_queue_name, SEND_QUEUE)

# livesum: summed over the live processes (a process that exits cleanly removes its
# file: mark_process_dead in ``lifespan``). In a single process they are plain gauges.
POOL_SIZE = Gauge(
    "voisins_db_pool_size",
    "Configured size of the API's database pool",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "voisins_db_pool_checked_out",
    "API database connections in use",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "voisins_db_pool_overflow",
    "API database connections open beyond the pool size",
    multiprocess_mode="livesum",
)
SSE_STREAMS = Gauge(
    "voisins_sse_streams_open", "Live inbox (SSE) streams open", multiprocess_mode="livesum"
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()))


def prepare_metrics_dir(workers: int) -> None:
    """Called by ``voisins serve`` before it starts ``workers`` processes: with more than
    one, give prometheus_client a fresh directory for the processes' metric files
    (unless the operator chose one), removed when the server exits. The variable must
    be set before the workers import prometheus_client, which reads it once."""
    if workers <= 1 or multiprocess_mode():
        return
    directory = tempfile.mkdtemp(prefix="voisins-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="voisins",
        prefix="voisins",
        # The route template, not the path: no ids, no query strings in labels.
        group_path=True,
        exclude=[r"^/metrics$", r"^/static/"],
        scopes={ScopeType.HTTP},
        # 200 ms is the latency goal: a bucket boundary there makes p99 readable.
        buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0],
    )


def refresh_process_gauges(state: State) -> None:
    """This process's pool use and open SSE streams."""
    engine: AsyncEngine | None = getattr(state, "engine", None)
    if engine is not None:
        pool: Any = engine.pool  # a QueuePool: size(), checkedout(), overflow()
        POOL_SIZE.set(pool.size())
        POOL_CHECKED_OUT.set(pool.checkedout())
        # overflow() counts from -size while the pool fills up.
        POOL_OVERFLOW.set(max(0, pool.overflow()))
    SSE_STREAMS.set(live.open_streams())


_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db$")


def forget_dead_processes() -> None:
    """A process killed without its shutdown (SIGKILL, out of memory) leaves its live
    gauges behind, and they would be added up for ever; uvicorn starts a replacement,
    whose refreshes remove them."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        found = _LIVE_FILE.search(path)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid)
        except PermissionError:
            pass  # alive, someone else's


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """The delivery counts of this app; in a multi-process server, this process's
    gauges kept fresh for whichever process answers the scrape."""
    app.state.delivery_counts = counts = DeliveryCounts()

    async def refresh() -> None:
        while True:
            forget_dead_processes()
            refresh_process_gauges(app.state)
            await asyncio.sleep(REFRESH_S)

    several = multiprocess_mode()
    task = asyncio.create_task(refresh()) if several else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await counts.aclose()
        if several:
            multiprocess.mark_process_dead(os.getpid())


# One round trip through partial indexes (outbox_unprocessed, deliveries_dead): its cost
# follows the lag and the dead letters, not the size of the tables.
_LAG = text(
    """
    SELECT (SELECT count(*) FROM outbox WHERE processed_at IS NULL) AS waiting,
           (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)
              FROM outbox WHERE processed_at IS NULL) AS oldest_s,
           (SELECT count(*) FROM deliveries WHERE status = 'dead') AS dead
    """
)
# Every delivery ever made stays in the table: this is a scan of it (230 ms at 600,000
# rows), so it runs at most once a minute and never holds a scrape (DeliveryCounts).
_DELIVERIES = text("SELECT status, channel, count(*) AS n FROM deliveries GROUP BY status, channel")
DELIVERY_COUNTS_EVERY_S = 60.0


class DeliveryCounts:
    """Deliveries by status and channel, counted at most once every
    ``DELIVERY_COUNTS_EVERY_S`` per process. A scrape that finds the count stale starts
    a new one and waits for it at most its own timeout; a count that takes longer
    finishes in the background and the next scrape serves it."""

    def __init__(self) -> None:
        self.rows: list[Any] | None = None
        self._counted_at = -DELIVERY_COUNTS_EVERY_S
        self._running: asyncio.Task[None] | None = None

    async def latest(self, engine: AsyncEngine, timeout_s: float) -> list[Any] | None:
        loop = asyncio.get_running_loop()
        if self._running is None and loop.time() - self._counted_at >= DELIVERY_COUNTS_EVERY_S:
            self._counted_at = loop.time()  # a failed count is not retried at every scrape
            self._running = asyncio.create_task(self._count(engine))
        if self._running is not None:
            await asyncio.wait({self._running}, timeout=timeout_s)
        return self.rows

    async def _count(self, engine: AsyncEngine) -> None:
        try:
            async with engine.connect() as conn:
                self.rows = list((await conn.execute(_DELIVERIES)).all())
        except Exception as exc:  # the previous figures stay; the next round tries again
            log.warning("delivery counts unavailable", error=type(exc).__name__)
        finally:
            self._running = None

    async def aclose(self) -> None:
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running


async def _from_postgresql(state: State) -> list[Metric]:
    async with state.engine.connect() as conn:
        lag = (await conn.execute(_LAG)).one()
    waiting = GaugeMetricFamily("voisins_outbox_unprocessed", "Outbox events not processed yet")
    waiting.add_metric([], lag.waiting)
    oldest = GaugeMetricFamily(
        "voisins_outbox_oldest_unprocessed_seconds", "Age of the oldest unprocessed outbox event"
    )
    oldest.add_metric([], float(lag.oldest_s))
    dead = GaugeMetricFamily("voisins_dead_letters", "Deliveries that failed for good")
    dead.add_metric([], lag.dead)
    metrics: list[Metric] = [waiting, oldest, dead]
    counts: DeliveryCounts = state.delivery_counts
    # Half the source's timeout: the lag above must not be lost waiting for the count.
    rows = await counts.latest(state.engine, state.settings.health_timeout_s / 2)
    if rows is not None:
        by_status = GaugeMetricFamily(
            "voisins_deliveries",
            "Deliveries by status and channel (counted at most once a minute)",
            labels=["status", "channel"],
        )
        for row in rows:
            by_status.add_metric([row.status, row.channel], row.n)
        metrics.append(by_status)
    return metrics


async def _from_redis(redis: Any) -> list[Metric]:
    async with redis.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.zcard(queue)
        depths = await pipe.execute()
    family = GaugeMetricFamily(
        "voisins_queue_depth", "Jobs waiting in an arq queue", labels=["queue"]
    )
    for queue, depth in zip(QUEUES, depths, strict=True):
        family.add_metric([queue], depth)
    return [family]


class _Snapshot(Collector):
    """Figures read for one scrape, handed to prometheus_client's text encoder."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        return iter(self._metrics)


async def shared_snapshot(state: State) -> CollectorRegistry:
    """The global figures, read now; a source that does not answer within the health
    timeout is reported down rather than holding the scrape."""
    timeout = state.settings.health_timeout_s
    sources = {
        "postgresql": _from_postgresql(state),
        "redis": _from_redis(state.redis),
    }
    results = await asyncio.gather(
        *(asyncio.wait_for(read, timeout) for read in sources.values()), return_exceptions=True
    )
    up = GaugeMetricFamily(
        "voisins_metrics_source_up", "Whether a scrape-time source answered", labels=["source"]
    )
    metrics: list[Metric] = [up]
    for name, result in zip(sources, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("metrics source unavailable", source=name, error=type(result).__name__)
            up.add_metric([name], 0)
        else:
            up.add_metric([name], 1)
            metrics.extend(result)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    return registry


def require_metrics_token(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    expected = f"Bearer {connection.app.state.settings.metrics_token}".encode()
    given = connection.headers.get("authorization", "").encode()
    # Constant time: the token must not be guessable byte by byte from response times.
    if not hmac.compare_digest(given, expected):
        raise Unauthenticated("a valid metrics token is required (Authorization: Bearer …)")


class MetricsController(PrometheusController):
    """Litestar's controller, with the scrape-time figures added to its output and a
    bearer token in front (the route exists only when a token is set: app.py)."""

    path = "/metrics"
    include_in_schema = False
    guards = [require_metrics_token]

    @get(operation_id="metrics", summary="Prometheus metrics")
    async def get(self, state: State) -> Response:
        refresh_process_gauges(state)
        # As Litestar's controller does: across processes, the files are the truth.
        registry: CollectorRegistry = REGISTRY
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        shared = await shared_snapshot(state)
        body = generate_latest(registry) + generate_latest(shared)
        return Response(body, status_code=200, headers={"Content-Type": CONTENT_TYPE_LATEST})
