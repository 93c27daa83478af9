"""A worker process killed with SIGKILL in the middle of a batch: after a new worker
starts, every e-mail reaches the mail server, each delivery once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.access import Viewer
from voisins.geo.geocoder import DisabledGeocoder
from voisins.locations import LocationIn
from voisins.matching.publication import create_and_match
from voisins.notify.jobs import SEND_CHUNK
from voisins.posts.schemas import PostIn, WeeklyIn
from voisins.settings import Settings, load_settings
from voisins.worker import SendWorkerSettings

from ..support.mail import SlowMailbox, smtp_on_free_port
from ..support.matching import CHATELET, author, mailable_volunteers

VOLUNTEERS = 100


@pytest.fixture
def slow_smtp() -> Iterator[tuple[int, SlowMailbox]]:
    mailbox = SlowMailbox(delay_s=0.03)
    with smtp_on_free_port(mailbox) as port:
        yield port, mailbox


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "voisins.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def _wait_for(predicate: Any, timeout_s: float) -> None:
    for _ in range(int(timeout_s * 10)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_sigkill_mid_batch_loses_nothing(
    settings: Settings, engine: AsyncEngine, slow_smtp: tuple[int, SlowMailbox]
) -> None:
    port, mailbox = slow_smtp
    await mailable_volunteers(engine, VOLUNTEERS, spacing_m=5, daily_cap=200)
    everyone = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        match_batch_per_needed=VOLUNTEERS,
    )
    requester: Viewer = await author(engine)
    async with engine.begin() as conn:
        await create_and_match(
            conn,
            requester,
            PostIn(
                kind="request",
                category="courses",
                title="Courses",
                location=LocationIn(lon=CHATELET[0], lat=CHATELET[1]),
                schedule=WeeklyIn(days=[1], start="10:00", end="12:00"),
            ),
            geocoder=DisabledGeocoder(),
            settings=everyone,
        )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")},
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_DATABASE_URL": settings.database_url,
        "VOISINS_REDIS_URL": settings.redis_url,
        "VOISINS_SMTP_HOST": "127.0.0.1",
        "VOISINS_SMTP_PORT": str(port),
        "VOISINS_DELIVERY_CLAIM_TIMEOUT_S": "2",
        "VOISINS_LOG_LEVEL": "WARNING",
    }

    async def sent() -> int:
        async with engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM deliveries "
                            "WHERE channel = 'email' AND status = 'sent'"
                        )
                    )
                ).scalar_one()
            )

    first = _start_worker(env)
    try:
        await _wait_for(lambda: _at_least(mailbox, 20), 60)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    killed_at = len(mailbox.message_ids)
    assert killed_at < VOLUNTEERS, "the batch finished before the kill: nothing was proven"

    second = _start_worker(env)
    try:
        await _wait_for(lambda: _all_sent(sent), 90)
    finally:
        # The test's worker must not outlive it (it would take later tests' jobs).
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=15)
    unique = set(mailbox.message_ids)
    assert len(unique) == VOLUNTEERS
    # Only the messages in flight at the kill may be sent again, with the same Message-ID
    # so that mail clients show them once: one per send job running then, and each job
    # sends one chunk over its own SMTP connection.
    in_flight_at_most = min(SendWorkerSettings.max_jobs, -(-VOLUNTEERS // SEND_CHUNK))
    assert len(mailbox.message_ids) - len(unique) <= in_flight_at_most
    async with engine.connect() as conn:
        inbox = (await conn.execute(text("SELECT count(*) FROM notifications"))).scalar_one()
    assert inbox == VOLUNTEERS


async def _at_least(mailbox: SlowMailbox, count: int) -> bool:
    return len(mailbox.message_ids) >= count


async def _all_sent(sent: Any) -> bool:
    return int(await sent()) >= VOLUNTEERS
