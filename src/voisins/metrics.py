"""``/metrics`` for operators, in Prometheus text format.

Per route (Litestar's Prometheus middleware): request counts and latencies, labelled
with the route *template* (``/api/v1/posts/{post_id}``), never the path a
person asked for: paths hold ids, query strings hold coordinates and e-mails.

Read at scrape time: the API's database pool, the SSE streams this process holds,
and, from PostgreSQL and Redis, the outbox lag, deliveries by status and channel,
dead letters and the arq queue depths. Nothing here carries a label taken from a
request or a row other than fixed vocabularies (status, channel, queue name).

Several processes (``voisins serve --workers N``): prometheus_client then keeps each
process's counters in files under ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered
by any one process, sums them. The pool and SSE gauges are per process, so they are
``livesum`` gauges each process refreshes every few seconds; the PostgreSQL and Redis
figures are global, so they are read once per scrape and never stored in the files
(stored, they would be summed once per process).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hmac
import os
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


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """In a multi-process server, keep this process's gauges fresh for whichever
    process answers the scrape."""
    if not multiprocess_mode():
        yield
        return

    async def refresh() -> None:
        while True:
            refresh_process_gauges(app.state)
            await asyncio.sleep(REFRESH_S)

    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        multiprocess.mark_process_dead(os.getpid())


_OUTBOX = text(
    # outbox_unprocessed (partial index on id) keeps this to the rows still waiting.
    "SELECT count(*) AS waiting, "
    "COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS oldest_s "
    "FROM outbox WHERE processed_at IS NULL"
)
_DELIVERIES = text("SELECT status, channel, count(*) AS n FROM deliveries GROUP BY status, channel")


async def _from_postgresql(engine: AsyncEngine) -> list[Metric]:
    async with engine.connect() as conn:
        outbox = (await conn.execute(_OUTBOX)).one()
        deliveries = (await conn.execute(_DELIVERIES)).all()
    waiting = GaugeMetricFamily("voisins_outbox_unprocessed", "Outbox events not processed yet")
    waiting.add_metric([], outbox.waiting)
    oldest = GaugeMetricFamily(
        "voisins_outbox_oldest_unprocessed_seconds", "Age of the oldest unprocessed outbox event"
    )
    oldest.add_metric([], float(outbox.oldest_s))
    by_status = GaugeMetricFamily(
        "voisins_deliveries", "Deliveries by status and channel", labels=["status", "channel"]
    )
    dead = 0
    for row in deliveries:
        by_status.add_metric([row.status, row.channel], row.n)
        dead += row.n if row.status == "dead" else 0
    dead_letters = GaugeMetricFamily("voisins_dead_letters", "Deliveries that failed for good")
    dead_letters.add_metric([], dead)
    return [waiting, oldest, by_status, dead_letters]


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
        "postgresql": _from_postgresql(state.engine),
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
