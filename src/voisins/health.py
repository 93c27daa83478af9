"""Readiness checks of the dependencies, and a monitor that logs outages once per interval."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from voisins.logs import get_logger
from voisins.migrations import default_sql_dir, discover

log = get_logger(__name__)


class Check(msgspec.Struct, omit_defaults=True):
    ok: bool
    detail: str | None = None


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())


async def _database_checks(engine: AsyncEngine, sql_dir: Path) -> dict[str, Check]:
    async with engine.connect() as conn:
        checks = {"database": Check(ok=True)}
        postgis = (
            await conn.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            )
        ).scalar()
        checks["postgis"] = (
            Check(ok=True, detail=f"PostGIS {postgis}")
            if postgis
            else Check(ok=False, detail="extension postgis is not installed")
        )
        has_ledger = (
            await conn.execute(text("SELECT to_regclass('schema_migrations') IS NOT NULL"))
        ).scalar()
        applied = (
            set((await conn.execute(text("SELECT name FROM schema_migrations"))).scalars())
            if has_ledger
            else set()
        )
    pending = [f.name for f in discover(sql_dir) if f.name not in applied]
    checks["migrations"] = (
        Check(ok=True)
        if not pending
        else Check(ok=False, detail=f"{len(pending)} pending: {', '.join(pending)}")
    )
    return checks


def _failure(exc: BaseException) -> str:
    # The exception's class and first line only: messages may hold host names, never data.
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line}"[:200]


def _pool_exhausted(engine: AsyncEngine) -> str | None:
    """ "pool exhausted: N of N connections in use" when the engine's pool has none
    left to give (the database may be perfectly up), else None."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    in_use, most = pool.checkedout(), pool.size() + max(pool._max_overflow, 0)
    return f"pool exhausted: {in_use} of {most} connections in use" if in_use >= most else None


def live_events_check(down_since: float | None) -> Check:
    """The API's live-events subscription (notify/live_backend.py): ``down_since`` is
    the wall-clock time since which it is lost, None while it is live."""
    if down_since is None:
        return Check(ok=True)
    since = datetime.fromtimestamp(down_since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Check(ok=False, detail=f"reconnecting since {since}")


async def readiness(
    engine: AsyncEngine,
    redis: Redis,
    *,
    timeout_s: float,
    sql_dir: Path | None = None,
    live_events: Check | None = None,
) -> Readiness:
    checks: dict[str, Check] = {}
    try:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
        # that arrives as its awaitable finishes, and the monitor below is cancelled.
        async with asyncio.timeout(timeout_s):
            checks.update(await _database_checks(engine, sql_dir or default_sql_dir()))
    except Exception as exc:  # any failure means "not ready", reported, never raised
        busy = _pool_exhausted(engine)
        # Every connection in use is overload, not an outage: say which it is.
        why = busy or "database unreachable"
        checks["database"] = Check(ok=False, detail=busy or _failure(exc))
        checks["postgis"] = Check(ok=False, detail=why)
        checks["migrations"] = Check(ok=False, detail=why)
    try:
        async with asyncio.timeout(timeout_s):
            await redis.ping()
        checks["redis"] = Check(ok=True)
    except Exception as exc:
        checks["redis"] = Check(ok=False, detail=_failure(exc))
    if live_events is not None:
        checks["live_events"] = live_events
    ready = all(c.ok for c in checks.values())
    return Readiness(status="ready" if ready else "unavailable", checks=checks)


class OutageLogger:
    """Logs each failing dependency at most once per interval, and its recovery once."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last_logged: dict[str, float] = {}

    def observe(self, result: Readiness) -> None:
        now = self.clock()
        for name, check in result.checks.items():
            if check.ok:
                if self._last_logged.pop(name, None) is not None:
                    log.warning("dependency recovered", dependency=name)
                continue
            last = self._last_logged.get(name)
            if last is None or now - last >= self.interval_s:
                self._last_logged[name] = now
                log.warning("dependency unavailable", dependency=name, detail=check.detail)


async def monitor(
    probe: Callable[[], Awaitable[Readiness]],
    outages: OutageLogger,
    period_s: float,
    stop: asyncio.Event,
) -> None:
    """Probe until ``stop`` is set, feeding the outage logger.

    Stopped by the event, not only by a cancellation: a cancellation swallowed anywhere
    under the probe (Python 3.11's wait_for does that when its awaitable finishes at
    the same moment; redis-py has done it too) would leave the loop running for ever,
    and the app's shutdown waiting on it (seen as CI test clients hanging on exit)."""
    while not stop.is_set():
        outages.observe(await probe())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(period_s):
                await stop.wait()
