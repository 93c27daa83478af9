"""The notification pipeline on real services: outbox → relay → arq worker → deliveries
→ in-app inbox and e-mail (aiosmtpd). Exactly once, and nothing lost when Redis or the
mail server fails.

Over 400 lines: one pipeline, with the faults each of its stages must survive."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from arq.connections import ArqRedis, RedisSettings, create_pool
from litestar.testing import AsyncTestClient
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify.jobs import SEND_QUEUE, process_event, send_deliveries
from voisins.notify.relay import dispatch_pending
from voisins.notify.senders import Senders
from voisins.settings import Settings, load_settings

from ..support.burst_worker import deliver_pending, noon, run_worker
from ..support.mail import MailCollector, SmtpServer, smtp_on_free_port, with_smtp
from ..support.matching import author, mailable_volunteers, request
from ..support.people import register
from ..support.ports import free_port
from ..support.world import HOME_ALICE, HOME_VERA, post_body, publish_request, volunteer_body


async def _ids(engine: AsyncEngine, sql: str) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).scalars())


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_a_proposition_reaches_inbox_and_mailbox_exactly_once(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = with_smtp(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        vera, _, post_id = await publish_request(client)
        pool: ArqRedis = await create_pool(RedisSettings.from_dsn(mail.redis_url))
        try:
            assert await dispatch_pending(engine, pool) >= 1
            await run_worker(mail)

            # Run everything again, as a crashed and restarted worker would.
            event_id = await _count(engine, "SELECT id FROM outbox WHERE topic = 'match.proposed'")
            ctx = {
                "engine": engine,
                "redis": pool,
                "settings": mail,
                "senders": Senders.from_settings(mail),
                "clock": noon,
            }
            assert await process_event(ctx, event_id) == 0
            ids = await _ids(engine, "SELECT id FROM deliveries")
            assert await send_deliveries(ctx, ids) == 0
        finally:
            await pool.aclose()
        inbox = await client.get("/api/v1/me/notifications", headers=vera.headers)
    assert [m.rcpt_tos for m in smtp_server.handler.envelopes] == [[vera.email]]
    body = smtp_server.handler.envelopes[0].content.decode()
    assert "Courses du samedi" in body
    assert "rue" not in body.lower() and str(HOME_ALICE[0]) not in body
    assert await _count(engine, "SELECT count(*) FROM notifications") == 1
    assert await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'sent'") == 2
    assert inbox.status_code == 200
    assert inbox.json()["unread"] == 1
    assert inbox.json()["items"][0]["title"] == "Nouvelle proposition près de chez vous"
    assert post_id


@pytest.fixture
def private_redis() -> Iterator[dict[str, Any]]:
    """A redis-server of the test's own, on a free port, that the test may stop."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is needed for the Redis fault test (scripts/services.sh installs it)"
        )
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    return process
            except OSError:
                import time

                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    state = {"url": f"redis://127.0.0.1:{port}/0", "process": start(), "start": start}
    yield state
    state["process"].terminate()
    state["process"].wait(timeout=10)


async def test_redis_down_at_publication_loses_nothing(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, private_redis: dict[str, Any]
) -> None:
    mail = with_smtp(
        settings, smtp_server.port, redis_url=private_redis["url"], health_timeout_s=0.5
    )
    async with AsyncTestClient(create_app(mail)) as client:
        vera = await register(client, "Vera")
        await client.put(
            "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
        )
        alice = await register(client, "Alice")
        private_redis["process"].terminate()
        private_redis["process"].wait(timeout=10)
        # Redis is down: publishing still works, the event waits in the outbox.
        response = await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers
        )
        assert response.status_code == 201
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
    pool = ArqRedis.from_url(mail.redis_url, socket_connect_timeout=0.5)
    with pytest.raises((RedisError, OSError)):
        await dispatch_pending(engine, pool)
    assert await _count(engine, "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL") >= 2
    await pool.aclose()

    private_redis["process"] = private_redis["start"]()
    assert await deliver_pending(engine, mail) >= 2
    assert [m.rcpt_tos for m in smtp_server.handler.envelopes] == [[vera.email]]
    assert await _count(engine, "SELECT count(*) FROM outbox WHERE processed_at IS NULL") == 0


async def test_smtp_down_retries_with_backoff_then_dead_letter_then_redrive_once(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    closed_port = free_port()
    down = with_smtp(settings, closed_port, delivery_max_attempts=3)
    async with AsyncTestClient(create_app(down)) as client:
        vera, _, _ = await publish_request(client)
        admin_headers = await _admin(client, engine)
    clock = [noon()]
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(down.redis_url))
    ctx = {
        "engine": engine,
        "redis": pool,
        "settings": down,
        "senders": Senders.from_settings(down),
        "clock": lambda: clock[0],
    }
    try:
        event_id = await _count(engine, "SELECT id FROM outbox WHERE topic = 'match.proposed'")
        await process_event(ctx, event_id)
        email_id = await _count(engine, "SELECT id FROM deliveries WHERE channel = 'email'")
        waits = []
        for _ in range(3):
            await send_deliveries(ctx, [email_id])
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        text("SELECT status, attempts, not_before FROM deliveries WHERE id = :i"),
                        {"i": email_id},
                    )
                ).one()
            waits.append(row.not_before - clock[0])
            clock[0] = row.not_before + timedelta(seconds=1)
        assert row.status == "dead" and row.attempts == 3
        assert waits[0] < waits[1]  # exponential backoff
        # Re-sending before the re-drive does nothing.
        assert await send_deliveries(ctx, [email_id]) == 0
    finally:
        await pool.aclose()

    up = with_smtp(settings, smtp_server.port, delivery_max_attempts=3)
    async with AsyncTestClient(create_app(up)) as client:
        listed = await client.get("/api/v1/admin/dead-letters", headers=admin_headers)
        assert [d["id"] for d in listed.json()["items"]] == [email_id]
        assert "rue" not in listed.text
        redriven = await client.post(
            f"/api/v1/admin/dead-letters/{email_id}/redrive", headers=admin_headers
        )
        assert redriven.status_code == 200
        again = await client.post(
            f"/api/v1/admin/dead-letters/{email_id}/redrive", headers=admin_headers
        )
        assert again.status_code == 409
    # The re-drive made it due at the database's now(); this worker runs on the test's
    # clock (noon, then the backoff), which may be earlier or later than the real time:
    # it runs a minute after whichever is later, so the test holds at any hour.
    async with engine.connect() as conn:
        due = (
            await conn.execute(
                text("SELECT not_before FROM deliveries WHERE id = :i"), {"i": email_id}
            )
        ).scalar_one()
    resumed = max(clock[0], due) + timedelta(minutes=1)
    pool = await create_pool(RedisSettings.from_dsn(up.redis_url))
    ctx = {
        "engine": engine, "redis": pool, "settings": up, "senders": Senders.from_settings(up),
        "clock": lambda: resumed,
    }  # fmt: skip
    try:
        assert await send_deliveries(ctx, [email_id]) == 1
        assert await send_deliveries(ctx, [email_id]) == 0
    finally:
        await pool.aclose()
    assert [m.rcpt_tos for m in smtp_server.handler.envelopes] == [[vera.email]]


async def _admin(client: AsyncTestClient, engine: AsyncEngine) -> dict[str, str]:
    from ..support.people import staff

    return (await staff(client, engine, role="admin")).headers


async def test_suspension_cancels_pending_deliveries(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = with_smtp(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        vera, _, _ = await publish_request(client)
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(mail.redis_url))
    ctx = {
        "engine": engine,
        "redis": pool,
        "settings": mail,
        "senders": Senders.from_settings(mail),
    }
    try:
        event_id = await _count(engine, "SELECT id FROM outbox WHERE topic = 'match.proposed'")
        await process_event(ctx, event_id)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE users SET status = 'suspended' WHERE id = :i"), {"i": vera.id}
            )
        ids = await _ids(engine, "SELECT id FROM deliveries")
        assert await send_deliveries(ctx, ids) == 0
    finally:
        await pool.aclose()
    assert smtp_server.handler.envelopes == []
    assert (
        await _count(
            engine,
            "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'cancelled'",
        )
        == 1
    )


async def test_partner_webhook_receives_a_signed_event_with_ids_only(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: Any
) -> None:
    from ..support.http_sink import WEBHOOK_SECRET
    from ..support.people import staff
    from ..support.world import GOUTTE_DOR

    # The partner's receiver is on this machine: let webhooks reach the loopback.
    mail = with_smtp(settings, smtp_server.port, webhook_allow_networks="127.0.0.0/8")
    async with AsyncTestClient(create_app(mail)) as client:
        admin = await staff(client, engine, role="admin")
        centre = await client.post(
            "/api/v1/centres",
            json={"name": "Centre social Goutte d'Or", "territory": GOUTTE_DOR},
            headers=admin.headers,
        )
        hook = await client.post(
            f"/api/v1/centres/{centre.json()['id']}/webhooks",
            json={
                "url": f"{http_sink.base_url}/hooks/partner",
                "secret": WEBHOOK_SECRET,
                "topics": ["match.proposed"],
            },
            headers=admin.headers,
        )
        assert hook.status_code == 201, hook.text
        assert "secret" not in hook.json()
        _, _, post_id = await publish_request(client)
    await deliver_pending(engine, mail)
    [received] = [r for r in http_sink.received if r.path == "/hooks/partner"]
    event = received.json()
    assert event["kind"] == "match.proposed"
    assert event["post_id"] == post_id
    assert event["centre_id"] == centre.json()["id"]
    assert not set(event) & {"lon", "lat", "address", "email", "phone"}
    # The sink answers 401 to a bad signature, so "sent" proves it verified.
    assert (
        await _count(
            engine, "SELECT count(*) FROM deliveries WHERE channel = 'webhook' AND status = 'sent'"
        )
        == 1
    )


async def test_an_unexpected_failure_becomes_a_dead_letter_not_a_stuck_batch(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = with_smtp(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        vera, _, _ = await publish_request(client)
    async with engine.begin() as conn:
        # Bad data behind one message: its public cell cannot be read back (a key of
        # the right shape, so the database's generated columns accept it, on no grid).
        await conn.execute(
            text("UPDATE volunteers SET cell_key = '1:500:0:0' WHERE user_id = :v"), {"v": vera.id}
        )
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(mail.redis_url))
    ctx = {
        "engine": engine, "redis": pool, "settings": mail, "senders": Senders.from_settings(mail),
        "clock": noon,
    }  # fmt: skip
    try:
        event_id = await _count(engine, "SELECT id FROM outbox WHERE topic = 'match.proposed'")
        await process_event(ctx, event_id)
        email_id = await _count(engine, "SELECT id FROM deliveries WHERE channel = 'email'")
        assert await send_deliveries(ctx, [email_id]) == 0
    finally:
        await pool.aclose()
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, last_error FROM deliveries WHERE id = :i"), {"i": email_id}
            )
        ).one()
    assert row.status == "dead"
    assert row.last_error.startswith("unexpected ")
    assert smtp_server.handler.envelopes == []


class CountingMailbox(MailCollector):
    """Notes the connection (client end) of every message; may take its time over each
    one, and signals (to another thread) each message it starts to take."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[object] = []
        self.delay_s = 0.0
        self.taking = threading.Semaphore(0)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.taking.release()
        await asyncio.sleep(self.delay_s)
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def mailbox() -> Iterator[tuple[int, CountingMailbox]]:
    handler = CountingMailbox()
    with smtp_on_free_port(handler) as port:
        yield port, handler


async def propose_to_volunteers(engine: AsyncEngine, settings: Settings, count: int) -> list[int]:
    """``count`` volunteers with addresses and no quiet hours, one request proposed to
    all of them, its event fanned out: returns the e-mail deliveries, in id order."""
    await mailable_volunteers(engine, count, spacing_m=10)
    everyone = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        match_batch_per_needed=count,
    )
    await request(engine, everyone, await author(engine))
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        ctx = {"engine": engine, "redis": pool, "settings": settings, "clock": noon}
        ctx["senders"] = Senders.from_settings(settings)
        event_id = await _count(engine, "SELECT id FROM outbox WHERE topic = 'match.proposed'")
        await process_event(ctx, event_id)
    finally:
        await pool.aclose()
    return await _ids(engine, "SELECT id FROM deliveries WHERE channel = 'email' ORDER BY id")


async def test_fan_out_queues_sends_on_their_own_queue(
    settings: Settings, engine: AsyncEngine, mailbox: tuple[int, CountingMailbox]
) -> None:
    mail = with_smtp(settings, mailbox[0])
    emails = await propose_to_volunteers(engine, mail, 3)
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(mail.redis_url))
    try:
        sends = await pool.queued_jobs(queue_name=SEND_QUEUE)
        events = await pool.queued_jobs()
    finally:
        await pool.aclose()
    assert [(job.function, job.args) for job in sends] == [("send_deliveries", (emails,))]
    assert events == []


async def test_a_chunk_goes_over_one_smtp_connection_and_a_refusal_fails_one_delivery(
    settings: Settings, engine: AsyncEngine, mailbox: tuple[int, CountingMailbox]
) -> None:
    port, handler = mailbox
    mail = with_smtp(settings, port)
    emails = await propose_to_volunteers(engine, mail, 5)
    async with engine.connect() as conn:
        refused = (
            await conn.execute(
                text("SELECT u.email FROM deliveries d JOIN users u ON u.id = d.user_id "
                     "WHERE d.id = :d"),
                {"d": emails[2]},
            )
        ).scalar_one()  # fmt: skip
    handler.refuse[refused] = "550 5.1.1 no such user"
    ctx = {"engine": engine, "settings": mail, "senders": Senders.from_settings(mail)}
    ctx["clock"] = noon
    assert await send_deliveries(ctx, emails) == 4
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, status, last_error FROM deliveries WHERE id = ANY(:ids) "
                     "ORDER BY id"),
                {"ids": emails},
            )
        ).all()  # fmt: skip
    assert [(r.status, r.last_error) for r in rows] == [
        ("sent", None),
        ("sent", None),
        ("dead", "SMTP recipient refused 550"),
        ("sent", None),
        ("sent", None),
    ]
    assert len(handler.envelopes) == 4
    assert len(set(handler.peers)) == 1


async def test_a_cancelled_send_job_hands_back_the_claims_it_had_not_started(
    settings: Settings, engine: AsyncEngine, mailbox: tuple[int, CountingMailbox]
) -> None:
    port, handler = mailbox
    handler.delay_s = 0.2
    mail = with_smtp(settings, port)
    emails = await propose_to_volunteers(engine, mail, 6)
    ctx = {"engine": engine, "settings": mail, "senders": Senders.from_settings(mail)}
    ctx["clock"] = noon
    job = asyncio.create_task(send_deliveries(ctx, emails))
    # The server is taking the third message: the first two were accepted and marked.
    for _ in range(3):
        assert await asyncio.to_thread(handler.taking.acquire, timeout=10)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT status, attempts FROM deliveries WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": emails},
            )
        ).all()
    # Two sent; the third was in flight (in doubt: it waits for the claim timeout);
    # the other three are pending again, as if never claimed.
    assert [(r.status, r.attempts) for r in rows] == [
        ("sent", 1),
        ("sent", 1),
        ("sending", 1),
        ("pending", 0),
        ("pending", 0),
        ("pending", 0),
    ]
