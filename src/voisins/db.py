"""The SQLAlchemy async engine (asyncpg driver) shared by the API and the workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from voisins.logs import get_logger
from voisins.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")


def create_engine(settings: Settings, *, pool_size: int = 10, bounded: bool = False) -> AsyncEngine:
    """Create the engine; it connects lazily, so a database that is down at start-up
    does not stop the process (readiness reports it instead).

    ``bounded`` (the API): a request waits at most ``db_pool_timeout_s`` for a pooled
    connection (then ``sqlalchemy.exc.TimeoutError``, answered 503) and a statement
    runs at most ``db_statement_timeout_s``. Workers and commands wait as long as they
    need: their jobs retry, and migrations or bulk loads may take minutes."""
    # No JIT: every query here is short; compiling one costs more (~13 ms) than it runs.
    server_settings = {"application_name": "voisins", "timezone": "UTC", "jit": "off"}
    if bounded:
        server_settings["statement_timeout"] = str(int(settings.db_statement_timeout_s * 1000))
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size,
        # The API keeps a fixed set of connections: an overflow connection is opened for
        # a burst and closed after one request (TLS negotiation, type introspection:
        # more costly than the request itself); beyond the pool, requests wait their
        # turn, at most db_pool_timeout_s. Workers and commands may open more.
        max_overflow=0 if bounded else pool_size,
        pool_timeout=settings.db_pool_timeout_s if bounded else 30,
        # No ping before each checkout (three round trips: BEGIN, ";", ROLLBACK). A
        # connection the server dropped fails its request once, answered 503 + Retry-After
        # (api/errors.as_overload), and the pool replaces every connection of that age.
        pool_pre_ping=False,
        pool_recycle=1800,
        # Parameters hold coordinates and addresses: keep them out of error messages.
        hide_parameters=True,
        connect_args={
            "timeout": settings.health_timeout_s * 2,
            "server_settings": server_settings,
        },
    )


# PostgreSQL's "two legitimate transactions crossed": serialization_failure and
# deadlock_detected. The same work done again a moment later normally passes.
CROSSING_SQLSTATES = frozenset({"40001", "40P01"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of asyncpg's error under SQLAlchemy's adapter (``orig.__cause__``)."""
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


async def once_more_if_crossed(conn: AsyncConnection, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` inside a savepoint; if PostgreSQL ends it for a crossing with
    another transaction (deadlock, serialization failure), roll back to the savepoint
    and run it once more. Locks are taken in one order where we know of a crossing
    (matching/engine.py); this is for the crossings nobody foresaw, so that a race
    between two legitimate requests is not answered "try again" at the first bump.
    A second crossing is raised (the API answers 503 + Retry-After)."""
    for attempt in (1, 2):
        savepoint = await conn.begin_nested()
        try:
            result = await work()
        except DBAPIError as exc:
            await savepoint.rollback()
            if attempt == 2 or sqlstate(exc) not in CROSSING_SQLSTATES:
                raise
            log.info("transaction crossed another; trying once more", sqlstate=sqlstate(exc))
            continue
        await savepoint.commit()
        return result
    raise AssertionError("unreachable")
