"""The privacy sweep: ``make_ctx`` seeds the world the call plan calls on (matches in
every state, posts in review, a dead letter, a reported message, housing); ``sweep``
runs the call plan (tests/support/privacy_call_plan.py) as every viewer and keeps each
answer with what its viewer was entitled to see at that moment (``Seen``); ``send``
makes one call with no session left over from the last one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .entitlement import VIEWERS, Entitlement, entitlement, headers_of
from .housing_documents import pdf_text
from .housing_world import with_housing
from .leak_scanner import Place
from .privacy_call_plan import CHECKPOINTS, READS, WRITES, Call, Ctx, Operation, Plan
from .world import HOME_ALICE, build_world, post_body, with_matches

# A third centre, far from every seeded place.
LYON = {
    "type": "Polygon",
    "coordinates": [[[4.83, 45.75], [4.85, 45.75], [4.85, 45.77], [4.83, 45.77], [4.83, 45.75]]],
}


async def make_ctx(client: AsyncTestClient, engine: AsyncEngine) -> Ctx:
    world = await with_matches(client, engine, await build_world(client, engine))
    lyon = await client.post(
        "/api/v1/centres",
        json={"name": "Centre social Lyon", "territory": LYON},
        headers=world.admin.headers,
    )
    assert lyon.status_code == 201, lyon.text
    # Two of Alice's posts waiting for review (as in a centre reviewing every post).
    for name in ("alice_review_1", "alice_review_2"):
        draft = await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ALICE, title=f"À valider {name[-1]}", publish=False),
            headers=world.alice.headers,
        )
        assert draft.status_code == 201, draft.text
        world.posts[name] = draft.json()["id"]
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE posts SET status = 'in_review' WHERE id = ANY(:ids)"),
            {"ids": [world.posts["alice_review_1"], world.posts["alice_review_2"]]},
        )
    spare = await client.post(
        "/api/v1/assisted-residents",
        json={
            "display_name": "Suzanne",
            "consent": {
                "method": "in_person",
                "obtained_at": datetime.now(UTC).isoformat(),
                "centre_id": world.centre_18,
            },
        },
        headers=world.worker_18.headers,
    )
    assert spare.status_code == 201, spare.text
    # What the notification worker would have left: one inbox message per person and a
    # dead letter (the worker itself is exercised in tests/notify).
    async with engine.begin() as conn:
        event = (
            await conn.execute(
                text(
                    "INSERT INTO outbox (topic, payload, processed_at) "
                    "VALUES ('match.proposed', '{}', now()) RETURNING id"
                )
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO notifications (user_id, event_id, kind, title, body) "
                "SELECT id, :e, 'match.proposed', 'Nouvelle proposition', 'Courses' FROM users"
            ),
            {"e": event},
        )
        dead = (
            await conn.execute(
                text(
                    "INSERT INTO deliveries (event_id, user_id, channel, kind, status, attempts, "
                    "last_error) VALUES (:e, :u, 'email', 'match.proposed', 'dead', 6, "
                    "'SMTPConnectError') RETURNING id"
                ),
                {"e": event, "u": world.vera.id},
            )
        ).scalar_one()
    # Basile and Victor (confirmed) talk; Basile reports one of Victor's messages.
    said: dict[str, int] = {}
    for name, words in (("basile", "Bonjour Victor, merci !"), ("victor", "Je passe jeudi.")):
        sent = await client.post(
            f"/api/v1/matches/{world.matches['basile_victor']}/messages",
            json={"text": words},
            headers=getattr(world, name).headers,
        )
        assert sent.status_code == 201, sent.text
        said[name] = sent.json()["id"]
    report = await client.post(
        "/api/v1/reports",
        json={"message_id": said["victor"], "reason": "inappropriate"},
        headers=world.basile.headers,
    )
    assert report.status_code == 201, report.text
    housing = await with_housing(client, world)
    return Ctx(
        world,
        lyon.json()["id"],
        dead_letter=dead,
        spare_resident=spare.json()["id"],
        message_report=report.json()["id"],
        housing=housing,
    )


def forbidden_places(seen: Seen) -> list[Place]:
    return seen.allowed.forbidden_places(seen.viewer)


def body_of(response: Any) -> Any:
    content_type = response.headers.get("content-type", "")
    if "json" in content_type and response.content:
        return response.json()
    # A housing document: the scanner reads its text, as its reader would.
    if content_type.startswith("application/pdf") and response.status_code == 200:
        return pdf_text(response.content)
    return response.text


async def send(client: AsyncTestClient, op: Operation, call: Call, headers: dict[str, str]) -> Any:
    # Every login (build_world's included) leaves a session cookie in the client: an
    # anonymous request must not carry the last person's session.
    client.cookies.clear()
    return await client.request(
        op.method,
        op.path.format(**call.path),
        params=call.query,
        json=call.json,
        headers=headers,
    )


@dataclass
class Seen:
    viewer: str
    op_id: str
    url: str
    status: int
    body: Any
    # "before" (first read pass), "writes", "after <write>" (checkpoint), "after".
    phase: str
    # What the viewer was entitled to once the call had answered.
    allowed: Entitlement


async def sweep(
    client: AsyncTestClient, engine: AsyncEngine, ctx: Ctx, ops: dict[str, Operation]
) -> list[Seen]:
    seen: list[Seen] = []
    allowed = await entitlement(engine, ctx.world)

    async def run(viewer: str, op_id: str, plan: Plan, phase: str) -> None:
        nonlocal allowed
        for call in plan(ctx, viewer):
            response = await send(client, ops[op_id], call, headers_of(ctx.world, viewer))
            if ops[op_id].method != "GET":
                allowed = await entitlement(engine, ctx.world)
            url = str(response.request.url)
            body = body_of(response)
            seen.append(Seen(viewer, op_id, url, response.status_code, body, phase, allowed))

    for viewer in VIEWERS:
        for op_id, plan in READS.items():
            await run(viewer, op_id, plan, "before")
    for op_id, plan in WRITES.items():
        for viewer in VIEWERS:
            await run(viewer, op_id, plan, "writes")
        if op_id in CHECKPOINTS:
            for viewer in VIEWERS:
                for read in CHECKPOINTS[op_id]:
                    await run(viewer, read, READS[read], f"after {op_id}")
    for viewer in VIEWERS:
        for op_id, plan in READS.items():
            await run(viewer, op_id, plan, "after")
    return seen
