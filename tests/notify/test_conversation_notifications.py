"""A message in a conversation reaches the other side on their channels — in-app,
e-mail (aiosmtpd), SMS (the HTTP provider) — through the real pipeline (outbox → relay
→ arq worker), once per unread stretch, and never carries the text (issue 15).

The text is a marker no other data holds: after the worker ran it is hunted in every
key and value of the test Redis database (arq's job payloads and results included),
in what the conversation's live channel published, in everything the app and the
worker logged at DEBUG, and in every row of every table but the messages' own."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.links import page_path
from voisins.logs import configure_logging
from voisins.notify.live import conversation_channel
from voisins.settings import Settings, load_settings

from ..support.burst_worker import relay_outbox, run_worker
from ..support.http_sink import HttpSink
from ..support.mail import Mail, SmtpServer, received
from ..support.people import PASSWORD, Person, register
from ..support.secrets_at_rest import keys_holding, texts_holding
from ..support.world import (
    HOME_ALICE,
    HOME_VERA,
    build_world,
    confirmed_visit,
    post_body,
    volunteer_body,
)

API = "/api/v1"
BASE = "http://voisins.test"
ALICE_PHONE = "06 55 66 77 88"
VERA_PHONE = "06 11 22 33 44"
NEW_MESSAGE_FR = "Vous avez un nouveau message au sujet de votre demande"
FOR_ASSISTED_FR = "Un message est arrivé pour la personne que vous accompagnez"


def marker() -> str:
    """A text no other data of the test holds (ASCII: found as is in a pickle)."""
    return f"MARQUEUR{uuid.uuid4().hex}"


def channels_settings(settings: Settings, smtp: SmtpServer, sms: HttpSink) -> Settings:
    return load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        public_base_url=BASE,
        # Everything the app and the worker log is hunted for the text.
        log_level="DEBUG",
        log_json=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        sms_url=sms.base_url + "/sms",
        sms_token="provider-token",
    )


class RedisSeen:
    """The keys of the test Redis database holding the message texts, or a job, read at
    each step of a delivery: after the relay queued its jobs, and after each worker ran
    (the jobs the events worker queues are read before the sends worker takes them)."""

    def __init__(self, redis: Redis | None = None, texts: list[str] | None = None) -> None:
        self.redis = redis
        self.texts = texts or []
        self.jobs: set[bytes] = set()
        self.holding_texts: set[bytes] = set()

    async def read(self) -> None:
        if self.redis is None:
            return
        self.jobs.update(await keys_holding(self.redis, ["process_event", "send_deliveries"]))
        self.holding_texts.update(await keys_holding(self.redis, self.texts))


async def deliver(engine: AsyncEngine, config: Settings, seen: RedisSeen | None = None) -> None:
    """What the relay and the real arq workers (events, then sends, as run_worker runs
    them) do with every pending event; again while something is left (a job arq
    deferred on a busy machine), so that a test never reads a delivery still on its way."""
    seen = seen or RedisSeen()
    for _ in range(20):
        await relay_outbox(engine, config)
        await seen.read()
        await run_worker(config, after_each=seen.read)
        async with engine.connect() as conn:
            left = (await conn.execute(text(_LEFT))).scalar_one()
        if not left:
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"{left} events or deliveries still pending")


# Events not yet fanned out, and e-mails or SMS due (at the workers' noon) not yet sent.
_LEFT = """
SELECT (SELECT count(*) FROM outbox WHERE processed_at IS NULL)
     + (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')
        AND channel IN ('email', 'sms'))
"""


class Logs(io.StringIO):
    """Everything the app and the workers log: they write to ``sys.stderr`` as it is
    when they configure logging (voisins/logs.py), which is this buffer from ``start``
    on (pytest puts its own capture back between a test's set-up and its body). It is
    never closed: a logger bound during the test writes nowhere harmful after it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self._monkeypatch = monkeypatch

    def start(self) -> None:
        self._monkeypatch.setattr(sys, "stderr", self)
        self._monkeypatch.setattr(sys, "stdout", self)

    def close(self) -> None:
        pass


@pytest.fixture
def logs(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Logs]:
    buffer = Logs(monkeypatch)
    yield buffer
    monkeypatch.undo()
    configure_logging(settings)  # back to the tests' WARNING, on pytest's stderr


async def confirmed_match(client: AsyncTestClient) -> tuple[Person, Person, int]:
    """Vera says yes to Alice's request (not sensitive: confirmed at once). Alice asked
    for messages about her requests in the app, by e-mail and by SMS."""
    vera = await register(client, "Vera", phone=VERA_PHONE)
    profile = await client.put(
        f"{API}/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert profile.status_code == 200, profile.text
    alice = await register(client, "Alice", phone=ALICE_PHONE)
    chosen = await client.put(
        f"{API}/me/notification-preferences",
        json={"channels": {"conversation.to_requester": ["inapp", "email", "sms"]}},
        headers=alice.headers,
    )
    assert chosen.status_code == 200, chosen.text
    created = await client.post(f"{API}/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    assert created.status_code == 201, created.text
    listed = await client.get(f"{API}/me/propositions", headers=vera.headers)
    [proposition] = listed.json()["items"]
    accepted = await client.post(f"{API}/matches/{proposition['id']}/accept", headers=vera.headers)
    assert accepted.json()["status"] == "confirmed", accepted.text
    return alice, vera, int(proposition["id"])


async def write(client: AsyncTestClient, who: Person, match_id: int, words: str) -> int:
    sent = await client.post(
        f"{API}/matches/{match_id}/messages", json={"text": words}, headers=who.headers
    )
    assert sent.status_code == 201, sent.text
    return int(sent.json()["id"])


def mails_to(smtp: SmtpServer, who: Person) -> list[Mail]:
    return [mail for mail in received(smtp) if mail.to == who.email]


def sms_texts(sink: HttpSink) -> list[dict[str, Any]]:
    return [r.json() for r in sink.received if r.path == "/sms"]


async def conversation_topics(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT topic FROM outbox WHERE topic LIKE 'conversation.%' ORDER BY id")
        )
        return list(rows.scalars())


class Published:
    """What the conversation channels carried while the test ran (pub/sub is shared by
    every database of the server: channels of other tests may show up too)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []


@pytest.fixture
async def published(redis_url: str) -> AsyncIterator[Published]:
    seen = Published()
    client = Redis.from_url(redis_url)
    pubsub = client.pubsub()
    assert conversation_channel(7) == "conversation:7"
    await pubsub.psubscribe("conversation:*")

    async def listen() -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                seen.messages.append((message["channel"].decode(), message["data"]))

    task = asyncio.create_task(listen())
    try:
        yield seen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pubsub.aclose()
        await client.aclose()


async def wait_for_push(published: Published, match_id: int, message_id: int) -> None:
    channel = conversation_channel(match_id)
    for _ in range(100):
        if any(
            name == channel and json.loads(data).get("id") == message_id
            for name, data in published.messages
        ):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"message {message_id} was never pushed on {channel}")


async def test_the_other_side_hears_once_per_unread_stretch_and_never_reads_the_text(
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    smtp_server: SmtpServer,
    http_sink: HttpSink,
    published: Published,
    logs: Logs,
) -> None:
    logs.start()
    config = channels_settings(settings, smtp_server, http_sink)
    words = [marker() for _ in range(4)]
    seen = RedisSeen(redis, words)
    async with AsyncTestClient(create_app(config), base_url=BASE) as client:
        alice, vera, match_id = await confirmed_match(client)
        # The proposition and the confirmation go out first: what follows is the talk.
        await deliver(engine, config, seen)
        smtp_server.handler.envelopes.clear()
        http_sink.received.clear()
        page = page_path("conversation_page", match_id=match_id)
        assert page == f"/conversations/{match_id}"

        first = await write(client, vera, match_id, f"Bonjour Alice, {words[0]}")
        await wait_for_push(published, match_id, first)
        await deliver(engine, config, seen)

        [mail] = mails_to(smtp_server, alice)
        assert mail.subject == "Nouveau message"
        assert NEW_MESSAGE_FR in mail.text and "Courses du samedi" in mail.text
        assert f"{BASE}{page}" in mail.text and f'href="{BASE}{page}"' in mail.html
        assert page in mail.links(BASE)
        [sms] = sms_texts(http_sink)
        assert sms["to"] == "0655667788" and sms["text"].endswith(f"{BASE}{page}")
        inbox = (await client.get(f"{API}/me/notifications", headers=alice.headers)).json()
        [note] = [i for i in inbox["items"] if i["kind"] == "conversation.to_requester"]
        assert note["link"] == page and NEW_MESSAGE_FR in note["body"]
        assert mails_to(smtp_server, vera) == []  # the writer is not told of her own words

        # A second message before Alice read the first: no second e-mail, SMS or note.
        second = await write(client, vera, match_id, f"Je peux jeudi. {words[1]}")
        await wait_for_push(published, match_id, second)
        await deliver(engine, config, seen)
        assert len(mails_to(smtp_server, alice)) == 1 and len(sms_texts(http_sink)) == 1
        assert await conversation_topics(engine) == ["conversation.to_requester"]

        # Alice reads up to the second message: the next one tells her again.
        read = await client.post(
            f"{API}/matches/{match_id}/conversation/read",
            json={"up_to": second},
            headers=alice.headers,
        )
        assert read.status_code == 200 and read.json() == {"unread": 0}, read.text
        third = await write(client, vera, match_id, f"Ou vendredi ? {words[2]}")
        await wait_for_push(published, match_id, third)
        await deliver(engine, config, seen)
        assert len(mails_to(smtp_server, alice)) == 2 and len(sms_texts(http_sink)) == 2

        # Alice answers: Vera hears as she chose by default (in-app and e-mail).
        await write(client, alice, match_id, f"Jeudi, parfait. {words[3]}")
        await deliver(engine, config, seen)
        [to_vera] = mails_to(smtp_server, vera)
        assert "Vous avez un nouveau message au sujet de" in to_vera.text
        assert page in to_vera.links(BASE)
        assert await conversation_topics(engine) == [
            "conversation.to_requester",
            "conversation.to_requester",
            "conversation.to_volunteer",
        ]

        # The link leads to the conversation, where Alice, signed in, reads the texts.
        client.cookies.clear()
        anonymous = await client.get(page, follow_redirects=False)
        assert all(w not in anonymous.text for w in words)
        signed_in = await client.post(
            f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        opened = await client.get(page)
        client.cookies.clear()
        assert opened.status_code == 200, opened.text
        assert words[2] in opened.text and words[3] in opened.text

        async with engine.connect() as conn:
            payloads = (
                await conn.execute(
                    text("SELECT payload FROM outbox WHERE topic LIKE 'conversation.%'")
                )
            ).scalars()
            assert [set(p) for p in payloads] == [{"match_id", "message_id"}] * 3

    # Nothing of the texts anywhere but the conversation itself.
    for mail in received(smtp_server):
        assert all(w not in mail.text + mail.html + mail.subject for w in words), mail
    for envelope in smtp_server.handler.envelopes:
        assert all(w.encode() not in envelope.content for w in words)
    for request in http_sink.received:
        assert all(w.encode() not in request.body for w in words)
    # Every table was read: the texts are in the conversation's own, and nowhere else.
    assert await texts_holding(engine, words) == ["conversation_messages"]

    await seen.read()
    # The scan read arq's queued jobs themselves (their pickled arguments).
    assert any(k.startswith(b"arq:job:") for k in seen.jobs), seen.jobs
    assert seen.holding_texts == set()

    # The live channel carried ids only.
    ours = [
        json.loads(data)
        for name, data in published.messages
        if name == conversation_channel(match_id)
    ]
    assert {m["id"] for m in ours} >= {first, second, third}
    assert all(set(m) == {"type", "id"} and isinstance(m["id"], int) for m in ours), ours
    assert not [data for _, data in published.messages if b"MARQUEUR" in data]

    output = logs.getvalue()
    # The capture holds the app's and the worker's logs (a worker's job names its id).
    assert "process_event" in output and "send_deliveries" in output
    assert "MARQUEUR" not in output


async def test_the_social_workers_acting_for_an_assisted_resident_hear_in_their_words(
    settings: Settings,
    engine: AsyncEngine,
    smtp_server: SmtpServer,
    http_sink: HttpSink,
) -> None:
    config = channels_settings(settings, smtp_server, http_sink)
    words = marker()
    async with AsyncTestClient(create_app(config), base_url=BASE) as client:
        world = await build_world(client, engine)
        _, match_id = await confirmed_visit(client, engine, world)
        await deliver(engine, config)
        smtp_server.handler.envelopes.clear()

        await write(client, world.vera, match_id, f"Bonjour, je viendrai vendredi. {words}")
        await deliver(engine, config)
        inbox = await client.get(f"{API}/me/notifications", headers=world.worker_18.headers)
        notes = [i for i in inbox.json()["items"] if i["kind"] == "conversation.to_requester"]

    page = page_path("conversation_page", match_id=match_id)
    [note] = notes
    assert FOR_ASSISTED_FR in note["body"] and "Une visite le vendredi" in note["body"]
    assert note["link"] == page
    [mail] = mails_to(smtp_server, world.worker_18)
    assert "la personne que vous accompagnez" in mail.text, mail.text
    assert page in mail.links(BASE)
    # Another centre's social worker, the volunteer and the administrator hear nothing.
    heard = {m.to for m in received(smtp_server)}
    assert heard == {world.worker_18.email}
    assert all(words not in m.text + m.html for m in received(smtp_server))
    assert await texts_holding(engine, [words]) == ["conversation_messages"]
