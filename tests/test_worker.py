"""The arq workers: the periodic housekeeping jobs (a real Worker, in burst mode), and
``voisins worker`` itself, a process running the events, send and housekeeping workers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from arq.constants import default_queue_name, health_check_key_suffix
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.notify.jobs import SEND_QUEUE
from voisins.settings import Settings
from voisins.worker import HOUSEKEEPING_QUEUE

from .support.burst_worker import run_housekeeping_job
from .support.people import register
from .support.post_states import due_post


async def test_worker_expires_due_posts(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    _, post_id = await due_post(client, engine)
    assert await run_housekeeping_job(settings, "expire_posts") == 1
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM posts WHERE id = :i"), {"i": post_id})
        ).scalar()
        # (The sign-up's address confirmation is another story.)
        topics = (
            (
                await conn.execute(
                    text("SELECT topic FROM outbox WHERE topic LIKE 'post.%' ORDER BY id")
                )
            )
            .scalars()
            .all()
        )
    assert status == "expired"
    # Nobody could help (no volunteers at all): the request also went to follow-up,
    # and its author was told.
    assert topics == ["post.published", "post.no_response", "post.unanswered", "post.expired"]


async def test_worker_purges_ended_sessions(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    alice = await register(client)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE sessions SET expires_at = now() - interval '1 hour'"))
    result = await run_housekeeping_job(settings, "purge_stale_records")
    assert result == {"idempotency_keys": 0, "sessions": 1, "password_resets": 0}
    assert (await client.get("/api/v1/me", headers=alice.headers)).status_code == 401


async def test_voisins_worker_runs_the_events_send_and_housekeeping_workers_and_stops_on_sigterm(
    settings: Settings, redis: Redis
) -> None:
    """One process, three arq workers: each records its health under its own queue's
    name at its first poll and removes it when it stops."""
    keys = [
        queue + health_check_key_suffix
        for queue in (default_queue_name, SEND_QUEUE, HOUSEKEEPING_QUEUE)
    ]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")},
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_DATABASE_URL": settings.database_url,
        "VOISINS_REDIS_URL": settings.redis_url,
        "VOISINS_LOG_LEVEL": "WARNING",
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voisins.cli", "worker", env=env, start_new_session=True,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            if await redis.exists(*keys) == len(keys) or worker.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert await redis.exists(*keys) == len(keys)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
        assert await redis.exists(*keys) == 0
    finally:
        if worker.returncode is None:
            os.killpg(worker.pid, signal.SIGKILL)
            await worker.wait()
