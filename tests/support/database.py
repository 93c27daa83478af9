"""The throwaway test database: its address beside the server's (``with_database``) and
how it is emptied between tests (``empty_database``, every table but the kept ones);
``scalar`` reads one value from it."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# audit_log is append-only even for the tests' role (TRUNCATE is refused): audit tests
# compare against the highest id before they act.
KEEP_TABLES = {"schema_migrations", "spatial_ref_sys", "audit_log"}


def with_database(dsn: str, name: str) -> str:
    """The same server and role, another database name."""
    scheme, rest = dsn.split("://", 1)
    server, _, query = rest.partition("?")
    server = server.rsplit("/", 1)[0] if "/" in server else server
    return f"{scheme}://{server}/{name}" + (f"?{query}" if query else "")


async def empty_database(dsn: str) -> None:
    """Empty every table but the kept ones, identities restarted."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            if r["tablename"] not in KEEP_TABLES
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()
