"""Where a secret (a code, a token, a password) lies at rest: the PostgreSQL tables
whose rows hold it as text (``texts_holding``) and the Redis keys holding it
(``keys_holding``), arq's jobs and results included."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def texts_holding(engine: AsyncEngine, secrets: list[str]) -> list[str]:
    """The tables (of all of them) whose rows, as text, hold one of ``secrets``."""
    found = []
    async with engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'spatial_ref_sys'"
                )
            )
        ).scalars()
        for table in list(tables):
            rows = await conn.execute(text(f'SELECT CAST(t AS text) FROM "{table}" t'))
            if any(secret in row for (row,) in rows for secret in secrets):
                found.append(table)
    return found


async def keys_holding(redis: Redis, secrets: list[str]) -> list[bytes]:
    """The Redis keys (of all of them: arq's jobs and results too) holding one of
    ``secrets`` in their name or value."""
    found = []
    needles = [secret.encode() for secret in secrets]
    async for key in redis.scan_iter():
        kind = (await redis.type(key)).decode()
        if kind == "string":
            values = [await redis.get(key)]
        elif kind == "hash":
            values = [b for pair in (await redis.hgetall(key)).items() for b in pair]
        elif kind == "list":
            values = await redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(await redis.smembers(key))
        elif kind == "zset":
            values = await redis.zrange(key, 0, -1)
        else:
            values = []
        blobs = [key, *(v for v in values if isinstance(v, bytes))]
        if any(needle in blob for blob in blobs for needle in needles):
            found.append(key)
    return found
