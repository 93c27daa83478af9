"""The throwaway databases the benchmarks run in: made (JIT off) and dropped by name,
their DSN, and what a bulk load drops and rebuilds around a COPY.

Every benchmark's own; bench/serving.py wraps them for the ones that serve the API.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

# Rows a bulk load sends per COPY.
CHUNK = 100_000


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


async def create_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        # A cheap OLTP query never reaches the JIT threshold; the naive one does, and
        # compiling would add tens of milliseconds to it. Off: the baseline is not
        # handicapped by it.
        await conn.execute(f'ALTER DATABASE "{name}" SET jit = off')
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def secondary_indexes(raw: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes that back no constraint."""
    rows = await raw.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = CAST($1 AS regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        table,
    )
    return [(r["name"], r["def"]) for r in rows]
