"""The daily digest, reminders and SMS, end to end on real services: API → outbox →
relay → arq worker → aiosmtpd / the SMS provider's HTTP endpoint, with a frozen clock."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.clock import PARIS
from voisins.notify.digest import compose_digests
from voisins.notify.reminders import remind_propositions
from voisins.settings import Settings, load_settings
from voisins.typography import french_spaces

from ..support.burst_worker import relay_outbox, run_worker
from ..support.http_sink import HttpSink
from ..support.mail import SmtpServer
from ..support.people import Person, register
from ..support.world import HOME_ALICE, HOME_VERA, post_body, volunteer_body


def paris(days: int, hour: int, minute: int = 0) -> datetime:
    """A moment ``days`` from today, Paris time."""
    today = datetime.now(PARIS).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (today + timedelta(days=days)).astimezone(UTC)


def mail_settings(settings: Settings, smtp_port: int, **extra: Any) -> Settings:
    return load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        log_level="WARNING",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        **extra,
    )


async def deliver(engine: AsyncEngine, settings: Settings, at: datetime) -> None:
    """Relay the pending outbox rows and run a burst worker whose clock reads ``at``."""
    await relay_outbox(engine, settings)
    # Events first, then the sends they queued (crons left out).
    await run_worker(settings, clock=lambda: at)


async def volunteer(client: AsyncTestClient, prefs: dict[str, Any], **me: Any) -> Person:
    vera = await register(client, "Vera")
    response = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert response.status_code == 200, response.text
    if me:
        assert (await client.patch("/api/v1/me", json=me, headers=vera.headers)).status_code == 200
    response = await client.put(
        "/api/v1/me/notification-preferences", json=prefs, headers=vera.headers
    )
    assert response.status_code == 200, response.text
    return vera


async def publish(client: AsyncTestClient, title: str) -> int:
    alice = await register(client, "Alice")
    body = post_body(HOME_ALICE) | {"title": title}
    response = await client.post("/api/v1/posts", json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def proposed_at_noon(client: AsyncTestClient, engine: AsyncEngine, mail: Settings) -> Person:
    """Vera, a volunteer with no preferences, once «Courses du samedi» was proposed to
    her and delivered at noon."""
    vera = await volunteer(client, {})
    await publish(client, "Courses du samedi")
    await deliver(engine, mail, paris(0, 12))
    return vera


async def test_digest_gathers_a_days_messages_into_one_mail_the_next_morning(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = mail_settings(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        vera = await volunteer(client, {"digest": True})
        await publish(client, "Courses du lundi")
        await publish(client, "Courses du mardi")
    await deliver(engine, mail, paris(0, 12))

    # The inbox got both at once; the e-mails wait for the digest.
    assert await scalar(engine, "SELECT count(*) FROM notifications") == 2
    assert smtp_server.handler.envelopes == []
    waiting = "SELECT count(*) FROM deliveries WHERE status = 'digest' AND channel = 'email'"
    assert await scalar(engine, waiting) == 2

    # Still the evening, then the night: nothing goes out.
    assert await compose_digests(engine, now=paris(0, 18)) == []
    assert await compose_digests(engine, now=paris(1, 7, 59)) == []

    # The next morning: one digest, sent once however many sweeps run.
    morning = paris(1, 8, 5)
    events = await compose_digests(engine, now=morning)
    assert len(events) == 1
    assert await compose_digests(engine, now=morning + timedelta(minutes=5)) == []
    await deliver(engine, mail, morning)
    await deliver(engine, mail, morning)

    (envelope,) = smtp_server.handler.envelopes
    assert envelope.rcpt_tos == [vera.email]
    body = envelope.content.decode()
    assert "Vos nouvelles sur Voisins (2)" in body
    assert "Courses du lundi" in body and "Courses du mardi" in body
    assert await scalar(engine, waiting) == 0
    assert await scalar(
        engine, "SELECT count(*) FROM deliveries WHERE status = 'digested' AND digest_id = :e",
        e=events[0],
    ) == 2  # fmt: skip
    # No second in-app copy: the digest is for the channels that waited.
    assert await scalar(engine, "SELECT count(*) FROM notifications") == 2


async def test_one_digest_a_day_what_comes_later_waits_for_the_next_morning(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = mail_settings(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        await volunteer(client, {"digest": True})
        await publish(client, "Courses du lundi")
        await deliver(engine, mail, paris(0, 12))
        assert len(await compose_digests(engine, now=paris(1, 9))) == 1
        await publish(client, "Courses du mardi")
    await deliver(engine, mail, paris(1, 10))
    # The second message waits: one digest a day …
    assert await compose_digests(engine, now=paris(1, 20)) == []
    # … it goes with the next morning's.
    assert len(await compose_digests(engine, now=paris(2, 8, 30))) == 1


async def test_urgent_requests_skip_the_digest(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = mail_settings(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        await volunteer(client, {"digest": True})
        alice = await register(client, "Alice")
        body = post_body(HOME_ALICE) | {"urgency": "urgent"}
        response = await client.post("/api/v1/posts", json=body, headers=alice.headers)
        assert response.status_code == 201, response.text
    await deliver(engine, mail, paris(0, 12))
    assert len(smtp_server.handler.envelopes) == 1
    assert await compose_digests(engine, now=paris(1, 9)) == []


async def test_an_unanswered_proposition_is_recalled_once_half_way_to_its_deadline(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = mail_settings(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        vera = await proposed_at_noon(client, engine, mail)
        proposed_at, deadline = await _first(engine, "SELECT proposed_at, deadline_at FROM matches")
        half_way = proposed_at + (deadline - proposed_at) / 2
        async with engine.begin() as conn:
            assert await remind_propositions(conn, now=half_way - timedelta(minutes=1)) == 0
            assert await remind_propositions(conn, now=half_way) == 1
            assert await remind_propositions(conn, now=half_way + timedelta(hours=1)) == 0
        await deliver(engine, mail, paris(0, 13))
        inbox = (await client.get("/api/v1/me/notifications", headers=vera.headers)).json()
    assert [n["kind"] for n in inbox["items"]] == ["reminder", "match.proposed"]
    assert inbox["items"][0]["title"] == "Une demande attend votre réponse"
    _, reminder = smtp_server.handler.envelopes
    body = reminder.content.decode()
    parsed = email.message_from_bytes(reminder.content, policy=email.policy.default)
    assert parsed["Subject"] == french_spaces("Rappel : une demande attend votre réponse")
    assert "Courses du samedi" in body
    assert "Merci de r=C3=A9pondre avant" in body or "Merci de répondre avant" in body


async def test_no_reminder_once_the_volunteer_answered(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = mail_settings(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        vera = await proposed_at_noon(client, engine, mail)
        deadline = await scalar(engine, "SELECT deadline_at FROM matches")
        # The sweep writes the reminder, then the volunteer answers before it is sent.
        async with engine.begin() as conn:
            assert await remind_propositions(conn, now=deadline - timedelta(minutes=5)) == 1
        match_id = await scalar(engine, "SELECT id FROM matches")
        response = await client.post(
            f"/api/v1/matches/{match_id}/decline", json={}, headers=vera.headers
        )
        assert response.status_code == 200, response.text
        await deliver(engine, mail, paris(0, 13))
    # The proposition only (the author hears that nobody could answer: not Vera's mail).
    to_vera = [e for e in smtp_server.handler.envelopes if e.rcpt_tos == [vera.email]]
    assert len(to_vera) == 1
    assert await scalar(engine, "SELECT count(*) FROM notifications WHERE kind = 'reminder'") == 0


async def test_sms_reaches_the_provider_through_the_whole_pipeline(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    mail = mail_settings(
        settings, smtp_server.port, sms_url=http_sink.base_url + "/sms", sms_token="provider-token"
    )
    async with AsyncTestClient(create_app(mail)) as client:
        await volunteer(
            client, {"channels": {"match.proposed": ["inapp", "sms"]}}, phone="+33 6 12 34 56 78"
        )
        await publish(client, "Courses du samedi")
    await deliver(engine, mail, paris(0, 12))
    await deliver(engine, mail, paris(0, 12))  # a second run sends nothing more

    (sms,) = http_sink.received
    assert sms.path == "/sms"
    assert sms.headers["Authorization"] == "Bearer provider-token"
    payload = sms.json()
    assert payload["to"] == "+33612345678"
    assert "Courses du samedi" in payload["text"]
    assert "rue" not in payload["text"].lower()
    assert smtp_server.handler.envelopes == []  # e-mail was not chosen for this kind
    assert await scalar(
        engine, "SELECT count(*) FROM deliveries WHERE channel = 'sms' AND status = 'sent'"
    ) == 1  # fmt: skip


async def test_sms_at_night_waits_for_the_morning(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    mail = mail_settings(settings, smtp_server.port, sms_url=http_sink.base_url + "/sms")
    async with AsyncTestClient(create_app(mail)) as client:
        await volunteer(client, {"channels": {"match.proposed": ["sms"]}}, phone="+33612345678")
        await publish(client, "Courses du samedi")
    await deliver(engine, mail, paris(0, 23))
    assert http_sink.received == []
    not_before = await scalar(engine, "SELECT not_before FROM deliveries WHERE channel = 'sms'")
    assert not_before == paris(1, 8)


async def _first(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).one()
