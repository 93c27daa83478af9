"""The SQLAlchemy async engine (asyncpg driver) shared by the API and the workers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from voisins.settings import Settings


def create_engine(settings: Settings, *, pool_size: int = 10) -> AsyncEngine:
    """Create the engine; it connects lazily, so a database that is down at start-up
    does not stop the process (readiness reports it instead)."""
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Parameters hold coordinates and addresses: keep them out of error messages.
        hide_parameters=True,
        connect_args={
            "timeout": settings.health_timeout_s * 2,
            "server_settings": {"application_name": "voisins", "timezone": "UTC"},
        },
    )
