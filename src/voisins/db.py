"""The SQLAlchemy async engine (asyncpg driver) shared by the API and the workers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from voisins.settings import Settings


def create_engine(settings: Settings, *, pool_size: int = 10, bounded: bool = False) -> AsyncEngine:
    """Create the engine; it connects lazily, so a database that is down at start-up
    does not stop the process (readiness reports it instead).

    ``bounded`` (the API): a request waits at most ``db_pool_timeout_s`` for a pooled
    connection (then ``sqlalchemy.exc.TimeoutError``, answered 503) and a statement
    runs at most ``db_statement_timeout_s``. Workers and commands wait as long as they
    need: their jobs retry, and migrations or bulk loads may take minutes."""
    server_settings = {"application_name": "voisins", "timezone": "UTC"}
    if bounded:
        server_settings["statement_timeout"] = str(int(settings.db_statement_timeout_s * 1000))
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=settings.db_pool_timeout_s if bounded else 30,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Parameters hold coordinates and addresses: keep them out of error messages.
        hide_parameters=True,
        connect_args={
            "timeout": settings.health_timeout_s * 2,
            "server_settings": server_settings,
        },
    )
