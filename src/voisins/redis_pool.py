"""The Redis client shared by the API (arq pool, rate limits, channels) and the workers."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool

from voisins.settings import Settings


def create_redis(settings: Settings) -> ArqRedis:
    """A lazily connecting client: Redis being down at start-up must not stop the API
    (arq's own ``create_pool`` would retry and then raise)."""
    pool = ConnectionPool.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.health_timeout_s,
        socket_timeout=settings.health_timeout_s,
    )
    return ArqRedis(connection_pool=pool)


def arq_redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)
