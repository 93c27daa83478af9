"""Notifications for an assisted resident (no digital access) reach every social worker
of the centre acting for them — the one who posted and their colleagues — and nobody
of another centre; through the real pipeline (outbox → relay → arq worker → inbox and
aiosmtpd), and at the rule itself (notify/recipients.py)."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify.recipients import audience
from voisins.notify.relay import dispatch_pending
from voisins.settings import Settings

from ..support.people import Person, staff
from ..support.world import HOME_ODILE, World, build_world, post_body, vet
from .conftest import SmtpServer
from .test_delivery import run_worker, with_smtp


async def _match_of(engine: AsyncEngine, post_id: int, volunteer: Person) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v"),
                    {"p": post_id, "v": volunteer.id},
                )
            ).scalar_one()
        )


async def _readers(engine: AsyncEngine, topic: str, payload: dict[str, Any]) -> set[int]:
    async with engine.connect() as conn:
        return set((await audience(conn, topic, payload)).user_ids)


async def _confirmed_visit(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> tuple[int, int]:
    """Vera, vetted, says yes to a visit worker_18 posts for Odile; worker_18 approves
    it: confirmed. Returns the post and the match."""
    await vet(client, world, world.vera)
    posted = await client.post(
        "/api/v1/posts",
        json=post_body(
            HOME_ODILE,
            category="visite_convivialite",
            title="Une visite le vendredi",
            on_behalf_of=world.odile_id,
            schedule={"type": "weekly", "days": [5], "start": "10:00", "end": "12:00"},
        ),
        headers=world.worker_18.headers,
    )
    assert posted.status_code == 201, posted.text
    post_id = posted.json()["id"]
    match_id = await _match_of(engine, post_id, world.vera)
    accepted = await client.post(f"/api/v1/matches/{match_id}/accept", headers=world.vera.headers)
    assert accepted.json()["status"] == "pending_review", accepted.text
    approved = await client.post(
        f"/api/v1/matches/{match_id}/approve",
        json={"reason": "Bénévole connue du centre"},
        headers=world.worker_18.headers,
    )
    assert approved.json()["status"] == "confirmed", approved.text
    return post_id, match_id


async def test_every_colleague_of_the_acting_centre_hears_and_no_other_centre(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    mail = with_smtp(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        world = await build_world(client, engine)
        colleague = await staff(client, engine, centre_ids=(world.centre_18,))
        post_id, match_id = await _confirmed_visit(client, engine, world)
        pool: ArqRedis = await create_pool(RedisSettings.from_dsn(mail.redis_url))
        try:
            assert await dispatch_pending(engine, pool) >= 1
            await run_worker(mail)
        finally:
            await pool.aclose()
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
