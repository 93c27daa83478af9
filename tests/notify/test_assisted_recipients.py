"""Notifications for an assisted resident (no digital access) reach every social worker
of the centre acting for them — the one who posted and their colleagues — and nobody
of another centre; through the real pipeline (outbox → relay → arq worker → inbox and
aiosmtpd), and at the rule itself (notify/recipients.py)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify.recipients import audience
from voisins.settings import Settings

from ..support.burst_worker import deliver_pending
from ..support.mail import SmtpServer, with_smtp
from ..support.people import staff
from ..support.world import build_world, confirmed_visit


async def _readers(engine: AsyncEngine, topic: str, payload: dict[str, Any]) -> set[int]:
    async with engine.connect() as conn:
        return set((await audience(conn, topic, payload)).user_ids)


async def test_every_colleague_of_the_acting_centre_hears_and_no_other_centre(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = with_smtp(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        world = await build_world(client, engine)
        colleague = await staff(client, engine, centre_ids=(world.centre_18,))
        post_id, match_id = await confirmed_visit(client, engine, world)
        assert await deliver_pending(engine, mail) >= 1
        inbox = await client.get("/api/v1/me/notifications", headers=colleague.headers)

    acting = {world.worker_18.id, colleague.id}
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT n.user_id, n.kind, n.link FROM notifications n "
                    "JOIN outbox o ON o.id = n.event_id "
                    "WHERE CAST(o.payload ->> 'match_id' AS bigint) = :m"
                ),
                {"m": match_id},
            )
        ).all()
    heard = {(r.kind, r.user_id) for r in rows}
    for kind in ("match.accepted", "match.confirmed"):
        assert {(kind, who) for who in acting} <= heard, kind
    # Belleville's worker, the resident's own account and the admin hear nothing of it.
    others = {world.worker_20.id, world.odile_id, world.admin.id}
    assert not {who for _, who in heard} & others
    # The worker's link leads to the request (which opens the resident's page for them),
    # and once confirmed to the conversation, where they write for the resident.
    post_link = f"/annonces/{post_id}"
    links = {(r.kind, r.link) for r in rows if r.user_id in acting}
    assert {link for kind, link in links if kind == "match.accepted"} == {post_link}
    assert {link for kind, link in links if kind == "match.confirmed"} == {
        f"/conversations/{match_id}"
    }
    assert inbox.status_code == 200
    assert any(item["link"] == post_link for item in inbox.json()["items"])

    mailed = {tuple(m.rcpt_tos) for m in smtp_server.handler.envelopes}
    assert (world.worker_18.email,) in mailed and (colleague.email,) in mailed
    assert (world.worker_20.email,) not in mailed


async def test_the_rule_follows_the_consent_and_leaves_other_authors_alone(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    colleague = await staff(client, engine, centre_ids=(world.centre_18,))
    other_centre = await staff(client, engine, centre_ids=(world.centre_20,))
    odile_post = {"post_id": world.posts["odile"]}
    alice_post = {"post_id": world.posts["alice"]}

    everyone = {world.worker_18.id, colleague.id}
    assert await _readers(engine, "post.unanswered", odile_post) == everyone
    assert await _readers(engine, "post.approved", odile_post) == everyone
    assert other_centre.id not in await _readers(engine, "post.rejected", odile_post)
    # A resident with an account hears for themselves, alone.
    assert await _readers(engine, "post.unanswered", alice_post) == {world.alice.id}

    # A colleague who left the staff (suspended) hears nothing any more.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET status = 'suspended' WHERE id = :u"), {"u": colleague.id}
        )
    assert await _readers(engine, "post.unanswered", odile_post) == {world.worker_18.id}
    # Consent withdrawn: the centre no longer acts for Odile; the worker who posted
    # still hears of what they started, and no one else.
    await staff(client, engine, centre_ids=(world.centre_18,))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE consents SET withdrawn_at = now() WHERE resident_id = :r"),
            {"r": world.odile_id},
        )
    assert await _readers(engine, "post.unanswered", odile_post) == {world.worker_18.id}
