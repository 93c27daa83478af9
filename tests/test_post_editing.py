"""Editing a post after publication (issue 12, "Posts"): the author or a social worker
acting for them, text and schedule, back to review when the centre vouched for the
text, volunteers who said yes told through the outbox, closed posts refused, and two
edits at once never losing one silently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from voisins.accounts.access import Viewer
from voisins.errors import Conflict
from voisins.notify.fanout import fan_out
from voisins.posts import editing
from voisins.posts.schemas import PostUpdate
from voisins.settings import Settings

from .support.matching import match_of
from .support.world import HOME_ALICE, World, build_world, post_body, vet

API = "/api/v1"
WEEKLY = {"type": "weekly", "days": [2, 4], "start": "14:00", "end": "16:00"}


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def topics(engine: AsyncEngine, post_id: int) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT topic FROM outbox WHERE payload->>'post_id' = :p ORDER BY id"),
            {"p": str(post_id)},
        )
        return list(rows.scalars())


async def alice_request(client: AsyncTestClient, world: World, **fields: Any) -> dict[str, Any]:
    return await ok(  # type: ignore[no-any-return]
        await client.post(
            f"{API}/posts", json=post_body(HOME_ALICE, **fields), headers=world.alice.headers
        ),
        201,
    )


async def vera_says_yes(
    client: AsyncTestClient, engine: AsyncEngine, world: World, post_id: int
) -> int:
    match_id = await match_of(engine, post_id, world.vera.id)
    await ok(await client.post(f"{API}/matches/{match_id}/accept", headers=world.vera.headers))
    return int(match_id)


async def test_the_author_edits_text_and_schedule_after_publication(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post = await alice_request(client, world)
    assert post["version"] == 1 and post["edited_at"] is None
    edited = await ok(
        await client.patch(
            f"{API}/posts/{post['id']}",
            json={
                "title": "Courses du mardi et du jeudi",
                "description": "Deux fois par semaine, sacs lourds.",
                "schedule": WEEKLY,
                "version": 1,
            },
            headers=world.alice.headers,
        )
    )
    assert edited["title"] == "Courses du mardi et du jeudi"
    assert edited["description"] == "Deux fois par semaine, sacs lourds."
    assert edited["schedule"] == {
        "type": "weekly",
        "days": [2, 4],
        "start": "14:00",
        "end": "16:00",
    }
    assert edited["version"] == 2 and edited["edited_at"] is not None
    assert edited["status"] == "published"
    # Everyone reads the new text; the slots the matcher compares follow the schedule.
    public = await ok(await client.get(f"{API}/posts/{post['id']}", headers=world.vera.headers))
    assert public["title"] == "Courses du mardi et du jeudi"
    async with engine.connect() as conn:
        slots = (
            await conn.execute(
                text("SELECT slots::text FROM posts WHERE id = :p"), {"p": post["id"]}
            )
        ).scalar_one()
    assert slots == "{[2280,2400),[5160,5280)}"
    # The same values again change nothing: no new version.
    same = await ok(
        await client.patch(
            f"{API}/posts/{post['id']}",
            json={"title": "Courses du mardi et du jeudi", "schedule": WEEKLY},
            headers=world.alice.headers,
        )
    )
    assert same["version"] == 2


async def test_a_closed_or_withdrawn_post_cannot_be_edited(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    withdrawn = await alice_request(client, world, title="Une première demande")
    await ok(
        await client.post(f"{API}/posts/{withdrawn['id']}/withdraw", headers=world.alice.headers)
    )
    closed = await alice_request(client, world, title="Une deuxième demande")
    await ok(
        await client.post(
            f"{API}/posts/{closed['id']}/close",
            json={"reason": "Plus besoin"},
            headers=world.alice.headers,
        )
    )
    for post, status in ((withdrawn, "withdrawn"), (closed, "closed")):
        refused = await client.patch(
            f"{API}/posts/{post['id']}", json={"title": "Encore"}, headers=world.alice.headers
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == f"a {status} post can no longer be edited"
        assert refused.json()["fields"] == {"status": f"is {status}"}
    async with engine.connect() as conn:
        titles = (
            await conn.execute(
                text("SELECT title, version FROM posts WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": [withdrawn["id"], closed["id"]]},
            )
        ).all()
    assert [tuple(r) for r in titles] == [("Une première demande", 1), ("Une deuxième demande", 1)]


async def test_only_the_author_or_a_social_worker_acting_for_them_may_edit(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    alice_post = world.posts["alice"]
    for who in (world.vera, world.stranger, world.worker_20, world.worker_18):
        # worker_18 covers Alice's place but does not act for her: reading is not editing.
        refused = await client.patch(
            f"{API}/posts/{alice_post}", json={"title": "Piraté"}, headers=who.headers
        )
        assert refused.status_code == 403, (who.email, refused.text)
    # Odile has no digital access: the social worker who acts for her edits her visit.
    odile_post = world.posts["odile"]
    edited = await ok(
        await client.patch(
            f"{API}/posts/{odile_post}",
            json={"schedule": {"type": "weekly", "days": [3], "start": "15:00", "end": "17:00"}},
            headers=world.worker_18.headers,
        )
    )
    assert edited["schedule"]["days"] == [3] and edited["version"] == 2
    async with engine.connect() as conn:
        edited_by = (
            await conn.execute(text("SELECT edited_by FROM posts WHERE id = :p"), {"p": odile_post})
        ).scalar_one()
    assert edited_by == world.worker_18.id
    assert (
        await client.patch(
            f"{API}/posts/{odile_post}", json={"title": "Non"}, headers=world.worker_20.headers
        )
    ).status_code == 403


async def test_bad_input_is_a_clear_error_and_nothing_is_written(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["alice"]
    url = f"{API}/posts/{post_id}"
    short = await client.patch(url, json={"title": "ab"}, headers=world.alice.headers)
    assert short.status_code == 422 and "title" in short.json()["fields"]
    blank = await client.patch(url, json={"title": "  a  "}, headers=world.alice.headers)
    assert blank.status_code == 422 and "title" in blank.json()["fields"]
    backwards = {"type": "weekly", "days": [1], "start": "16:00", "end": "14:00"}
    both = await client.patch(
        url, json={"title": "Un bon titre", "schedule": backwards}, headers=world.alice.headers
    )
    assert both.status_code == 422 and both.json()["fields"] == {
        "schedule.end": "must be after start"
    }
    unknown = await client.patch(url, json={"sensitive": False}, headers=world.alice.headers)
    assert unknown.status_code == 422 and unknown.json()["fields"] == {"sensitive": "unknown field"}
    fewer = await client.patch(url, json={"version": 0}, headers=world.alice.headers)
    assert fewer.status_code == 422 and "version" in fewer.json()["fields"]
    after = await ok(await client.get(url, headers=world.alice.headers))
    assert after["title"] == "Courses du samedi" and after["version"] == 1


async def test_a_text_change_sends_a_post_the_centre_let_through_back_to_review(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE centres SET moderation_level = 'all_posts' WHERE id = :c"),
            {"c": world.centre_18},
        )
    post = await alice_request(client, world, title="Aide au ménage")
    assert post["status"] == "in_review"
    # Under review, an edit keeps it there: the reviewer reads the latest text.
    still = await ok(
        await client.patch(
            f"{API}/posts/{post['id']}",
            json={"title": "Aide au rangement"},
            headers=world.alice.headers,
        )
    )
    assert still["status"] == "in_review"
    await ok(
        await client.post(
            f"{API}/moderation/posts/{post['id']}/approve",
            json={"reason": "Demande claire"},
            headers=world.worker_18.headers,
        )
    )
    # Not the text: it stays online.
    urgent = await ok(
        await client.patch(
            f"{API}/posts/{post['id']}", json={"urgency": "urgent"}, headers=world.alice.headers
        )
    )
    assert urgent["status"] == "published"
    # The text the centre let through is not the one online any more: back to review.
    changed = await ok(
        await client.patch(
            f"{API}/posts/{post['id']}",
            json={"description": "Et autre chose que le centre n'a pas lu."},
            headers=world.alice.headers,
        )
    )
    assert changed["status"] == "in_review"
    assert (await topics(engine, post["id"])).count("post.review_needed") == 2
    assert (
        await client.get(f"{API}/posts/{post['id']}", headers=world.vera.headers)
    ).status_code == 404


async def test_a_sensitive_post_with_an_approved_match_goes_back_to_review(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    await vet(client, world, world.vera)
    post = await alice_request(
        client, world, category="visite_convivialite", title="Une visite", volunteers_needed=2
    )
    assert post["sensitive"] is True
    match_id = await vera_says_yes(client, engine, world, post["id"])
    await ok(
        await client.post(
            f"{API}/matches/{match_id}/approve",
            json={"reason": "Bénévole connue du centre"},
            headers=world.worker_18.headers,
        )
    )
    edited = await ok(
        await client.patch(
            f"{API}/posts/{post['id']}",
            json={"description": "Finalement, je voudrais de l'aide pour autre chose."},
            headers=world.alice.headers,
        )
    )
    assert edited["status"] == "in_review"
    assert "post.review_needed" in await topics(engine, post["id"])


async def test_volunteers_who_said_yes_are_told_the_post_changed(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post = await alice_request(client, world, volunteers_needed=2)
    # Nobody said yes yet: nobody to tell.
    await ok(
        await client.patch(
            f"{API}/posts/{post['id']}",
            json={"title": "Courses lourdes"},
            headers=world.alice.headers,
        )
    )
    assert "post.updated" not in await topics(engine, post["id"])
    await vera_says_yes(client, engine, world, post["id"])
    # A change of urgency is not what Vera agreed to: she is not bothered.
    await ok(
        await client.patch(
            f"{API}/posts/{post['id']}", json={"urgency": "urgent"}, headers=world.alice.headers
        )
    )
    assert "post.updated" not in await topics(engine, post["id"])
    await ok(
        await client.patch(
            f"{API}/posts/{post['id']}", json={"schedule": WEEKLY}, headers=world.alice.headers
        )
    )
    assert (await topics(engine, post["id"])).count("post.updated") == 1
    # The notification worker's fan-out: Vera (confirmed) hears of it, Victor (only
    # proposed, he never said yes) does not.
    async with engine.begin() as conn:
        pending = list(
            (
                await conn.execute(
                    text("SELECT id FROM outbox WHERE processed_at IS NULL ORDER BY id")
                )
            ).scalars()
        )
        for event_id in pending:
            await fan_out(conn, event_id, now=datetime.now(UTC), enabled=frozenset({"inapp"}))
        told = (
            await conn.execute(
                text("SELECT user_id, title, link FROM notifications WHERE kind = 'post.updated'")
            )
        ).all()
    assert [(t.user_id, t.link) for t in told] == [(world.vera.id, "/mes-aides")]
    assert told[0].title == "Une demande a changé"


async def test_twenty_concurrent_edits_from_the_same_version_one_wins_the_rest_are_told(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["alice"]
    alice = Viewer(id=world.alice.id, role="resident", second_factor=False)
    wide = create_async_engine(settings.sqlalchemy_url, pool_size=20, max_overflow=5)

    async def edit(n: int, version: int | None) -> str:
        # Each edit its own text (a round of its own too): an edit that changes nothing
        # is not a new version.
        round_ = "premier" if version is not None else "second"
        body: dict[str, Any] = {"description": f"Version écrite par l'édition {n} ({round_})"}
        if version is not None:
            body["version"] = version
        try:
            async with wide.begin() as conn:
                await editing.update_post(conn, alice, post_id, PostUpdate(**body))
        except Conflict:
            return "conflict"
        return "saved"

    try:
        outcomes = await asyncio.gather(*(edit(n, 1) for n in range(20)))
        assert sorted(outcomes) == ["conflict"] * 19 + ["saved"]
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT version, description FROM posts WHERE id = :p"), {"p": post_id}
                )
            ).one()
        assert row.version == 2 and row.description.startswith("Version écrite par l'édition ")
        # Without a version, concurrent edits queue on the row lock: each one is applied
        # in turn and counted, none is dropped.
        outcomes = await asyncio.gather(*(edit(n, None) for n in range(20)))
        assert outcomes == ["saved"] * 20
        async with engine.connect() as conn:
            version = (
                await conn.execute(text("SELECT version FROM posts WHERE id = :p"), {"p": post_id})
            ).scalar_one()
        assert version == 22
    finally:
        await wide.dispose()
