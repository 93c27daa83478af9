"""The life of a conversation (issue 15), through the API: it opens only once the match
is confirmed, the two sides (and the social workers acting for an assisted resident)
alone take part, a block closes it both ways, it turns read-only 30 days after the
help ended with contacts and the exact address hidden again, its texts are erased by
the retention of support records, the GDPR export holds my messages and erasure takes
them away; unread counts, input limits and the rate limit on messages.

Over 400 lines: one conversation's life, from opening to erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from httpx import Response
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.housekeeping import apply_retention
from voisins.notify.recipients import QUERIES
from voisins.settings import Settings

from .support.conversations import confirmed_pair
from .support.people import Person, staff
from .support.world import World, build_world, with_matches

API = "/api/v1"
VERA_PHONE = "06 11 22 33 44"  # tests/support/conversations.py
ALICE_PHONE = "06 55 66 77 88"


async def write(client: AsyncTestClient, who: Person, match_id: int, words: str) -> Response:
    return await client.post(
        f"{API}/matches/{match_id}/messages", json={"text": words}, headers=who.headers
    )


async def read(client: AsyncTestClient, who: Person, url: str, status: int = 200) -> Any:
    response = await client.get(API + url, headers=who.headers)
    assert response.status_code == status, (url, response.text)
    return response.json()


async def share_all(client: AsyncTestClient, who: Person, match_id: int) -> None:
    shared = await client.put(
        f"{API}/matches/{match_id}/contacts",
        json={"phone": True, "email": True},
        headers=who.headers,
    )
    assert shared.status_code == 200, shared.text


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def ended_days_ago(engine: AsyncEngine, match_id: int, days: int) -> None:
    await sql(
        engine,
        "UPDATE matches SET closed_at = now() - make_interval(days => :days) WHERE id = :m",
        m=match_id,
        days=days,
    )


async def display_name(engine: AsyncEngine, person: Person) -> str:
    async with engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    text("SELECT display_name FROM users WHERE id = :id"), {"id": person.id}
                )
            ).scalar_one()
        )


async def odile_and_vera(client: AsyncTestClient, engine: AsyncEngine) -> tuple[World, int, str]:
    """The world, with the social worker of the Goutte d'Or approving Vera's visit to
    Odile (an assisted resident): the world, the match, the worker's name."""
    world = await with_matches(client, engine, await build_world(client, engine))
    match_id = world.matches["odile_vera_1"]
    approved = await client.post(
        f"{API}/matches/{match_id}/approve",
        json={"reason": "Bénévole connue du centre"},
        headers=world.worker_18.headers,
    )
    assert approved.json()["status"] == "confirmed", approved.text
    return world, match_id, await display_name(engine, world.worker_18)


# ---------------------------------------------------------------------------------------
# Who may write, and when
# ---------------------------------------------------------------------------------------


async def test_no_message_before_the_match_is_confirmed_and_nobody_else_takes_part(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await with_matches(client, engine, await build_world(client, engine))
    proposed = world.matches["alice_vera"]
    pending = world.matches["odile_vera_2"]  # sensitive, accepted, waiting for review
    confirmed = world.matches["basile_victor"]

    # A proposition nobody answered yet: the volunteer hears 409; the request's side
    # 404, as for any match it was not told of (who was asked shows the batches).
    for who, status in ((world.vera, 409), (world.alice, 404)):
        assert (await write(client, who, proposed, "Bonjour")).status_code == status
        await read(client, who, f"/matches/{proposed}/conversation", status)
        await read(client, who, f"/matches/{proposed}/messages", status)
    # Accepted but waiting for the social worker's approval: the volunteer, and the
    # social worker acting for Odile, wait too.
    for who in (world.vera, world.worker_18):
        assert (await write(client, who, pending, "Bonjour")).status_code == 409
        await read(client, who, f"/matches/{pending}/conversation", 409)
    async with engine.connect() as conn:
        written = (
            await conn.execute(text("SELECT count(*) FROM conversation_messages"))
        ).scalar_one()
    assert written == 0

    # Confirmed: Basile and Victor talk; a third person, an administrator, and the
    # social workers of the centres (Basile is not an assisted resident: nobody acts
    # for him) are told the conversation does not exist, as for a made-up id.
    assert (await write(client, world.victor, confirmed, "Bonjour Basile")).status_code == 201
    assert (await write(client, world.basile, confirmed, "Bonjour Victor")).status_code == 201
    for outsider in (world.stranger, world.alice, world.admin, world.worker_20, world.worker_18):
        assert (await write(client, outsider, confirmed, "Coucou")).status_code == 404
        for url in ("conversation", "messages"):
            await read(client, outsider, f"/matches/{confirmed}/{url}", 404)
        marked = await client.post(
            f"{API}/matches/{confirmed}/conversation/read",
            json={"up_to": 1},
            headers=outsider.headers,
        )
        assert marked.status_code == 404
    # The proposition still waiting is not theirs either: 404, not 409.
    for outsider in (world.stranger, world.admin, world.worker_20):
        assert (await write(client, outsider, proposed, "Coucou")).status_code == 404
    await read(client, world.vera, "/matches/999999/conversation", 404)


async def test_a_social_worker_writes_for_an_assisted_resident_signed_with_their_name(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, match_id, worker_name = await odile_and_vera(client, engine)

    conversation = await read(client, world.worker_18, f"/matches/{match_id}/conversation")
    assert conversation["my_side"] == "requester" and conversation["acting_for"] == "Odile"
    sent = await write(client, world.worker_18, match_id, "Odile vous attend jeudi à 15 h.")
    assert sent.status_code == 201, sent.text
    assert sent.json()["on_behalf"] is True and sent.json()["author_name"] == worker_name

    # Vera reads it as Odile's side's message, signed by the social worker.
    seen = await read(client, world.vera, f"/matches/{match_id}/conversation")
    assert seen["other_name"] == "Odile" and seen["unread"] == 1
    [message] = await read(client, world.vera, f"/matches/{match_id}/messages")
    assert message["text"] == "Odile vous attend jeudi à 15 h."
    assert (message["side"], message["mine"], message["on_behalf"]) == ("requester", False, True)
    assert message["author_name"] == worker_name

    reply = await write(client, world.vera, match_id, "Très bien, à jeudi.")
    assert reply.status_code == 201
    assert reply.json()["on_behalf"] is False
    theirs = await read(client, world.worker_18, f"/matches/{match_id}/messages")
    assert [(m["text"], m["mine"]) for m in theirs] == [
        ("Odile vous attend jeudi à 15 h.", True),
        ("Très bien, à jeudi.", False),
    ]
    assert (await read(client, world.worker_18, f"/matches/{match_id}/conversation"))["unread"] == 1
    # Another centre's social worker does not act for Odile.
    await read(client, world.worker_20, f"/matches/{match_id}/messages", 404)
    assert (await write(client, world.worker_20, match_id, "Bonjour")).status_code == 404
    # The acting worker finds the conversation in their list, for Odile; the other
    # centre's worker does not.
    listed = await read(client, world.worker_18, "/me/conversations")
    assert [(c["match_id"], c["acting_for"], c["other_name"], c["unread"]) for c in listed] == [
        (match_id, "Odile", await display_name(engine, world.vera), 1)
    ]
    assert await read(client, world.worker_20, "/me/conversations") == []


# ---------------------------------------------------------------------------------------
# Closing: blocks, and 30 days after the end
# ---------------------------------------------------------------------------------------


async def _revealed(
    client: AsyncTestClient, alice: Person, vera: Person, match_id: int, post_id: int
) -> tuple[Any, Any, Any]:
    """What each side sees of the other: Vera's proposition (among all of hers, and on
    its own) and the volunteer on Alice's request."""
    listed = await read(client, vera, "/me/propositions?active=false")
    [in_list] = [p for p in listed["items"] if p["id"] == match_id]
    single = await read(client, vera, f"/me/propositions/{match_id}")
    [answer] = (await read(client, alice, f"/posts/{post_id}/matches"))["answers"]
    return in_list, single, answer


def _assert_shown(in_list: Any, single: Any, answer: Any, alice: Person, vera: Person) -> None:
    for proposition in (in_list, single):
        assert proposition["requester"]["phone"] == ALICE_PHONE
        assert proposition["requester"]["email"] == alice.email
        assert proposition["location"] is not None
    assert answer["volunteer"]["phone"] == VERA_PHONE
    assert answer["volunteer"]["email"] == vera.email


def _assert_hidden(in_list: Any, single: Any, answer: Any) -> None:
    for proposition in (in_list, single):
        assert proposition["requester"] is None and proposition["location"] is None
    assert answer["volunteer"] is None


async def test_a_block_closes_the_conversation_both_ways_and_hides_what_it_revealed(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    for who in (alice, vera):
        await share_all(client, who, match_id)
    assert (await write(client, vera, match_id, "Je passe jeudi ?")).status_code == 201
    post_id = (await read(client, alice, f"/matches/{match_id}/conversation"))["post_id"]
    _assert_shown(*await _revealed(client, alice, vera, match_id, post_id), alice, vera)

    blocked = await client.post(
        f"{API}/me/blocks", json={"match_id": match_id}, headers=alice.headers
    )
    assert blocked.status_code in (200, 201), blocked.text

    for who in (alice, vera):
        assert (await write(client, who, match_id, "Encore un mot")).status_code == 409
        again = await client.put(
            f"{API}/matches/{match_id}/contacts",
            json={"phone": True, "email": True},
            headers=who.headers,
        )
        assert again.status_code == 409
        conversation = await read(client, who, f"/matches/{match_id}/conversation")
        assert conversation["state"] == "read_only"
        assert conversation["closed_because"] == "blocked"
        assert conversation["their_contacts"] == {"phone": None, "email": None}
        # What was said stays readable to its two sides.
        messages = await read(client, who, f"/matches/{match_id}/messages")
        assert [m["text"] for m in messages] == ["Je passe jeudi ?"]
    [summary] = await read(client, vera, "/me/conversations")
    assert summary["state"] == "read_only"
    _assert_hidden(*await _revealed(client, alice, vera, match_id, post_id))


async def test_read_only_thirty_days_after_the_end_with_contacts_and_address_hidden(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    for who in (alice, vera):
        await share_all(client, who, match_id)
    post_id = (await read(client, alice, f"/matches/{match_id}/conversation"))["post_id"]
    completed = await client.post(f"{API}/matches/{match_id}/complete", headers=alice.headers)
    assert completed.status_code == 200, completed.text

    # 29 days after the end: still writable, still shown (among Vera's past matches).
    await ended_days_ago(engine, match_id, 29)
    for who in (alice, vera):
        assert (await write(client, who, match_id, "Merci encore !")).status_code == 201
        conversation = await read(client, who, f"/matches/{match_id}/conversation")
        assert (conversation["state"], conversation["closed_because"]) == ("open", None)
        until = datetime.fromisoformat(conversation["writable_until"])
        assert timedelta(hours=23) < until - datetime.now(UTC) < timedelta(days=1, hours=1)
    active = await read(client, vera, "/me/propositions")
    assert match_id not in [p["id"] for p in active["items"]]  # a past one now
    _assert_shown(*await _revealed(client, alice, vera, match_id, post_id), alice, vera)

    # 31 days: read-only both ways, nothing revealed on either side's pages.
    await ended_days_ago(engine, match_id, 31)
    for who in (alice, vera):
        assert (await write(client, who, match_id, "Vous êtes là ?")).status_code == 409
        conversation = await read(client, who, f"/matches/{match_id}/conversation")
        assert conversation["state"] == "read_only"
        assert conversation["closed_because"] == "ended"
        assert conversation["their_contacts"] == {"phone": None, "email": None}
        assert len(await read(client, who, f"/matches/{match_id}/messages")) == 2
    _assert_hidden(*await _revealed(client, alice, vera, match_id, post_id))


# ---------------------------------------------------------------------------------------
# Retention, export, erasure
# ---------------------------------------------------------------------------------------


async def _texts(client: AsyncTestClient, who: Person, match_id: int) -> list[tuple[int, Any]]:
    return [(m["id"], m["text"]) for m in await read(client, who, f"/matches/{match_id}/messages")]


async def test_retention_erases_old_texts_and_keeps_each_message_in_its_place(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    for who, words in ((vera, "Bonjour, je suis Vera"), (alice, "J'habite au 3e"), (vera, "Ok")):
        assert (await write(client, who, match_id, words)).status_code == 201
    [first, second, third] = [i for i, _ in await _texts(client, alice, match_id)]
    # The first two are 100 days old, the third is from today.
    await sql(
        engine,
        "UPDATE conversation_messages SET created_at = now() - interval '100 days' "
        "WHERE id IN (:a, :b)",
        a=first,
        b=second,
    )
    ctx: dict[str, Any] = {"engine": engine, "settings": settings}
    assert settings.support_retention_days == 730
    assert (await apply_retention(ctx))["conversation_texts"] == 0
    assert await _texts(client, alice, match_id) == [
        (first, "Bonjour, je suis Vera"),
        (second, "J'habite au 3e"),
        (third, "Ok"),
    ]

    # With a retention of 60 days, the two old texts go; the messages stay, in order.
    ctx["settings"] = msgspec.structs.replace(settings, support_retention_days=60)
    assert (await apply_retention(ctx))["conversation_texts"] == 2
    for who in (alice, vera):
        messages = await read(client, who, f"/matches/{match_id}/messages")
        assert [(m["id"], m["text"]) for m in messages] == [
            (first, None),
            (second, None),
            (third, "Ok"),
        ]
        assert [m["author_name"] for m in messages][:2] == [None, None]
        assert [m["side"] for m in messages] == ["volunteer", "requester", "volunteer"]
    # A second run finds nothing more to erase.
    assert (await apply_retention(ctx))["conversation_texts"] == 0

    # The default retention, with a clock far ahead: the last text goes too.
    later = datetime.now(UTC) + timedelta(days=731)
    ctx = {"engine": engine, "settings": settings, "clock": lambda: later}
    assert (await apply_retention(ctx))["conversation_texts"] == 1
    assert [t for _, t in await _texts(client, vera, match_id)] == [None, None, None]


async def test_retention_keeps_a_conversation_under_an_open_report(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    sent = await write(client, vera, match_id, "Donnez-moi votre code de carte")
    assert sent.status_code == 201
    reported = await client.post(
        f"{API}/reports",
        json={"reason": "fraud", "message_id": sent.json()["id"]},
        headers=alice.headers,
    )
    assert reported.status_code == 201, reported.text
    later = datetime.now(UTC) + timedelta(days=731)
    ctx = {"engine": engine, "settings": settings, "clock": lambda: later}
    assert (await apply_retention(ctx))["conversation_texts"] == 0
    assert [t for _, t in await _texts(client, alice, match_id)] == [
        "Donnez-moi votre code de carte"
    ]
    # Once the centre resolved the report, the retention applies.
    await sql(
        engine,
        "UPDATE reports SET resolved_at = now(), resolved_by = :u, resolution = 'vu' WHERE id = :r",
        u=alice.id,
        r=reported.json()["id"],
    )
    assert (await apply_retention(ctx))["conversation_texts"] == 1


async def test_my_export_holds_my_messages_and_my_shares_not_the_other_sides(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    assert (await write(client, vera, match_id, "Message de Vera-4K")).status_code == 201
    assert (await write(client, alice, match_id, "Message d'Alice-5J")).status_code == 201
    await share_all(client, alice, match_id)

    mine = await read(client, alice, "/me/export")
    assert [(m["match_id"], m["side"], m["text"], m["typed_by"]) for m in mine["messages"]] == [
        (match_id, "requester", "Message d'Alice-5J", "me")
    ]
    assert [(s["match_id"], s["phone"], s["email"]) for s in mine["contact_shares"]] == [
        (match_id, True, True)
    ]
    assert "Vera-4K" not in json.dumps(mine, ensure_ascii=False)
    hers = await read(client, vera, "/me/export")
    assert [m["text"] for m in hers["messages"]] == ["Message de Vera-4K"]
    assert hers["contact_shares"] == []
    assert "Alice-5J" not in json.dumps(hers, ensure_ascii=False)


async def test_an_assisted_residents_export_and_erasure_cover_what_workers_wrote_for_them(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, match_id, worker_name = await odile_and_vera(client, engine)
    for who, words in ((world.worker_18, "Pour Odile-8Z"), (world.vera, "Réponse de Vera-8Z")):
        assert (await write(client, who, match_id, words)).status_code == 201

    export = await read(client, world.worker_18, f"/assisted-residents/{world.odile_id}/export")
    assert [(m["text"], m["on_behalf"], m["typed_by"]) for m in export["messages"]] == [
        ("Pour Odile-8Z", True, worker_name)
    ]
    # The social worker's own export holds what they typed, as theirs.
    own = await read(client, world.worker_18, "/me/export")
    assert [(m["text"], m["typed_by"]) for m in own["messages"]] == [("Pour Odile-8Z", "me")]

    erased = await client.post(
        f"{API}/assisted-residents/{world.odile_id}/erasure",
        json={"confirm": True},
        headers=world.worker_18.headers,
    )
    assert erased.status_code == 200, erased.text
    # Vera keeps the thread's shape, without its words.
    messages = await read(client, world.vera, f"/matches/{match_id}/messages")
    assert [(m["side"], m["text"]) for m in messages] == [("requester", None), ("volunteer", None)]
    async with engine.connect() as conn:
        left = (
            await conn.execute(
                text("SELECT count(*) FROM conversation_messages WHERE body LIKE '%8Z%'")
            )
        ).scalar_one()
    assert left == 0


async def test_erasure_removes_my_messages_and_the_other_side_sees_them_erased(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    for who, words in ((vera, "Vera-3M écrit"), (alice, "Alice répond à Vera-3M")):
        assert (await write(client, who, match_id, words)).status_code == 201
    await share_all(client, vera, match_id)
    await share_all(client, alice, match_id)
    read_up_to = (await read(client, alice, f"/matches/{match_id}/conversation"))["last_message_id"]
    marked = await client.post(
        f"{API}/matches/{match_id}/conversation/read",
        json={"up_to": read_up_to},
        headers=alice.headers,
    )
    assert marked.status_code == 200

    erased = await client.post(f"{API}/me/erasure", json={"confirm": True}, headers=vera.headers)
    assert erased.status_code == 200, erased.text

    # Alice's thread keeps its two messages, both without their words: hers answered
    # Vera and named her.
    messages = await read(client, alice, f"/matches/{match_id}/messages")
    assert [(m["side"], m["mine"], m["text"], m["author_name"]) for m in messages] == [
        ("volunteer", False, None, None),
        ("requester", True, None, None),
    ]
    conversation = await read(client, alice, f"/matches/{match_id}/conversation")
    assert conversation["their_contacts"] == {"phone": None, "email": None}
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM conversation_messages WHERE body IS NOT NULL "
                    "        OR author_id = :v) AS texts, "
                    "(SELECT array_agg(side ORDER BY side) FROM contact_shares "
                    " WHERE match_id = :m) AS shares, "
                    "(SELECT array_agg(side ORDER BY side) FROM conversation_reads "
                    " WHERE match_id = :m) AS reads"
                ),
                {"v": vera.id, "m": match_id},
            )
        ).one()
    assert rows.texts == 0
    # Vera's side's shares and read marks are gone; Alice's stay hers.
    assert rows.shares == ["requester"] and rows.reads == ["requester"]


# ---------------------------------------------------------------------------------------
# Unread counts, input, rate limit
# ---------------------------------------------------------------------------------------


async def test_unread_counts_and_marking_read(client: AsyncTestClient, engine: AsyncEngine) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    ids = []
    for words in ("Un", "Deux", "Trois"):
        sent = await write(client, vera, match_id, words)
        assert sent.status_code == 201
        ids.append(sent.json()["id"])
    # What one writes, one has read.
    assert (await read(client, vera, f"/matches/{match_id}/conversation"))["unread"] == 0
    assert (await read(client, alice, f"/matches/{match_id}/conversation"))["unread"] == 3
    [summary] = await read(client, alice, "/me/conversations")
    assert summary["unread"] == 3

    async def mark(up_to: int) -> Any:
        marked = await client.post(
            f"{API}/matches/{match_id}/conversation/read",
            json={"up_to": up_to},
            headers=alice.headers,
        )
        assert marked.status_code == 200, marked.text
        return marked.json()["unread"]

    assert await mark(ids[0]) == 2
    # A mark never moves back.
    assert await mark(0) == 2
    assert await mark(ids[2]) == 0
    assert (await read(client, alice, "/me/conversations"))[0]["unread"] == 0
    # Alice's answer is unread for Vera, and only hers.
    assert (await write(client, alice, match_id, "Merci")).status_code == 201
    assert (await read(client, vera, f"/matches/{match_id}/conversation"))["unread"] == 1
    assert (await read(client, alice, f"/matches/{match_id}/conversation"))["unread"] == 0
    # A mark beyond the last message stops at it: what Vera writes next is unread.
    assert await mark(10**15) == 0
    assert (await write(client, vera, match_id, "Quatre")).status_code == 201
    assert (await read(client, alice, f"/matches/{match_id}/conversation"))["unread"] == 1


async def test_a_report_brings_the_conversation_as_it_stood_and_never_to_the_reported(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """The covering centre reads what was written up to the report, not what the two
    sides write afterwards; a social worker reported for what they wrote for an assisted
    resident neither hears of the report nor reads, lists or resolves it."""
    world, match_id, _ = await odile_and_vera(client, engine)
    colleague = await staff(client, engine, centre_ids=(world.centre_18,))
    before = await write(client, world.worker_18, match_id, "Donnez-moi votre code de carte")
    assert before.status_code == 201
    reported = await client.post(
        f"{API}/reports",
        json={"reason": "fraud", "message_id": before.json()["id"]},
        headers=world.vera.headers,
    )
    assert reported.status_code == 201, reported.text
    report_id = reported.json()["id"]
    after = await write(client, world.vera, match_id, "Je préviens le centre social.")
    assert after.status_code == 201

    url = f"/moderation/reports/{report_id}/conversation"
    brought = await read(client, colleague, url)
    assert [m["id"] for m in brought["messages"]] == [before.json()["id"]]
    # The reported worker: no report in their list, no conversation, no resolving it.
    await read(client, world.worker_18, url, 404)
    listed = await read(client, world.worker_18, "/moderation/reports?open=false")
    assert report_id not in [r["id"] for r in listed["items"]]
    resolved = await client.post(
        f"{API}/moderation/reports/{report_id}/resolve",
        json={"resolution": "Rien à signaler"},
        headers=world.worker_18.headers,
    )
    assert resolved.status_code == 404
    assert report_id in [
        r["id"] for r in (await read(client, colleague, "/moderation/reports"))["items"]
    ]
    async with engine.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT id FROM outbox WHERE topic = 'report.filed' "
                    "AND CAST(payload ->> 'report_id' AS bigint) = :r"
                ),
                {"r": report_id},
            )
        ).scalar_one()
        heard = set(
            (
                await conn.execute(text(QUERIES["report.filed"][0]), {"report_id": report_id})
            ).scalars()
        )
    assert event and colleague.id in heard and world.worker_18.id not in heard


async def test_a_message_is_one_to_two_thousand_characters_not_only_spaces(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    for words in ("é" * 2001, "", "   \n\t  "):
        refused = await write(client, vera, match_id, words)
        assert refused.status_code == 422, (len(words), refused.text)
        assert "text" in refused.json()["fields"], refused.json()
    assert (await write(client, vera, match_id, "é" * 2000)).status_code == 201
    # Surrounding spaces are trimmed.
    assert (await write(client, vera, match_id, "  Bonjour  ")).json()["text"] == "Bonjour"
    assert len(await read(client, alice, f"/matches/{match_id}/messages")) == 2


async def test_the_twenty_first_message_in_a_minute_is_refused(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    assert settings.limit_message_per_minute == 20
    for n in range(20):
        sent = await write(client, vera, match_id, f"Message {n}")
        assert sent.status_code == 201, (n, sent.text)
    refused = await write(client, vera, match_id, "Un de trop")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]
    assert len(await read(client, alice, f"/matches/{match_id}/messages")) == 20
    # The limit is Vera's: Alice still writes.
    assert (await write(client, alice, match_id, "Doucement !")).status_code == 201
