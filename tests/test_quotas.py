"""Quotas per account on publishing, withdrawing, publishing again and pausing (shared by
every API process through Redis), and the follow-up raised by a burst of short-lived
posts. Each refused call answers 429 with Retry-After and leaves nothing written.

Over 400 lines: one limit on a person's activity, over each action it counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.quotas import Limit, Quotas, quota_keys
from voisins.app import create_app
from voisins.settings import Settings

from .support.database import scalar
from .support.people import Person, register
from .support.post_states import expire
from .support.refusals import refused
from .support.world import HOME_ALICE, HOME_OUTSIDE, build_world, post_body, volunteer_body

API = "/api/v1"
# Small limits so that each test reaches them quickly; publishing is wider than
# re-publishing so that the two can be told apart.
PUBLISH_PER_HOUR = 6
REPUBLISH_PER_HOUR = 2
WITHDRAW_PER_HOUR = 3
PAUSE_PER_HOUR = 2


@pytest.fixture
def quota_settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(
        settings,
        quota_publish_per_hour=PUBLISH_PER_HOUR,
        quota_publish_per_day=100,
        quota_republish_per_hour=REPUBLISH_PER_HOUR,
        quota_withdraw_per_hour=WITHDRAW_PER_HOUR,
        quota_pause_per_hour=PAUSE_PER_HOUR,
    )


@pytest.fixture
async def limited(quota_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(quota_settings)) as client:
        yield client


async def written(engine: AsyncEngine) -> tuple[int, int, int, int]:
    """What any publication or withdrawal writes: posts, outbox events, matches, follow-ups."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM outbox), "
                    "(SELECT count(*) FROM matches), (SELECT count(*) FROM followups)"
                )
            )
        ).one()
    return (row[0], row[1], row[2], row[3])


async def publish_new(client: AsyncTestClient, person: Person, **overrides: Any) -> Any:
    return await client.post(
        f"{API}/posts", json=post_body(HOME_ALICE, **overrides), headers=person.headers
    )


async def created(client: AsyncTestClient, person: Person, **overrides: Any) -> int:
    response = await publish_new(client, person, **overrides)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def status_of(engine: AsyncEngine, post_id: int) -> str:
    return str(await scalar(engine, "SELECT status FROM posts WHERE id = :p", p=post_id))


# ---------------------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------------------


async def test_publishing_beyond_the_hourly_limit_is_refused_and_writes_nothing(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(limited, "Alice")
    for _ in range(PUBLISH_PER_HOUR):
        await created(limited, alice)
    # A draft publishes nothing, so it is not counted.
    draft = await created(limited, alice, publish=False)
    before = await written(engine)

    detail = refused(await publish_new(limited, alice))
    assert "publications" in detail and f"at most {PUBLISH_PER_HOUR} per hour" in detail
    # Publishing the draft is a publication too.
    refused(await limited.post(f"{API}/posts/{draft}/publish", headers=alice.headers))
    assert await written(engine) == before
    assert await status_of(engine, draft) == "draft"
    # The same request again with its Idempotency-Key is refused just the same, and
    # leaves no stored response behind that a retry would replay.
    keyed = await limited.post(
        f"{API}/posts",
        json=post_body(HOME_ALICE),
        headers={**alice.headers, "Idempotency-Key": "quota-test-0001"},
    )
    refused(keyed)
    assert await scalar(engine, "SELECT count(*) FROM idempotency_keys") == 0

    # Another account has its own quota.
    basile = await register(limited, "Basile")
    await created(limited, basile)


async def test_the_daily_limit_holds_when_the_hourly_one_does_not(
    quota_settings: Settings, engine: AsyncEngine
) -> None:
    daily = msgspec.structs.replace(
        quota_settings, quota_publish_per_hour=100, quota_publish_per_day=3
    )
    async with AsyncTestClient(create_app(daily)) as client:
        alice = await register(client, "Alice")
        for _ in range(3):
            await created(client, alice)
        before = await written(engine)
        response = await publish_new(client, alice)
        detail = refused(response, window_s=86400)
        assert "at most 3 per day" in detail
        # The day's window is the one that refused: the wait is longer than an hour.
        assert int(response.headers["retry-after"]) > 3600
        assert await written(engine) == before


# ---------------------------------------------------------------------------------------
# Publishing again
# ---------------------------------------------------------------------------------------


async def test_publishing_again_has_its_own_tighter_limit_and_a_refusal_costs_nothing(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(limited, "Alice")
    posts = [await created(limited, alice) for _ in range(REPUBLISH_PER_HOUR + 1)]
    for post_id in posts:
        await expire(engine, post_id)
    for post_id in posts[:REPUBLISH_PER_HOUR]:
        again = await limited.post(f"{API}/posts/{post_id}/publish", headers=alice.headers)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "published"
    before = await written(engine)

    last = posts[REPUBLISH_PER_HOUR]
    detail = refused(await limited.post(f"{API}/posts/{last}/publish", headers=alice.headers))
    assert "re-publications" in detail
    assert await status_of(engine, last) == "expired"
    assert await written(engine) == before

    # 3 + 2 publications so far: the refused one spent none of the publishing quota,
    # so exactly one more new post goes out, and the next does not.
    assert len(posts) + REPUBLISH_PER_HOUR + 1 == PUBLISH_PER_HOUR
    await created(limited, alice)
    refused(await publish_new(limited, alice))


# ---------------------------------------------------------------------------------------
# Withdrawing
# ---------------------------------------------------------------------------------------


async def test_withdrawing_beyond_the_limit_is_refused_and_the_post_stays_online(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(limited, "Alice")
    posts = [await created(limited, alice) for _ in range(WITHDRAW_PER_HOUR + 1)]
    for post_id in posts[:WITHDRAW_PER_HOUR]:
        gone = await limited.post(f"{API}/posts/{post_id}/withdraw", headers=alice.headers)
        assert gone.status_code == 200, gone.text
    before = await written(engine)

    last = posts[WITHDRAW_PER_HOUR]
    detail = refused(await limited.post(f"{API}/posts/{last}/withdraw", headers=alice.headers))
    assert "withdrawals" in detail
    assert await status_of(engine, last) == "published"
    assert await scalar(engine, "SELECT withdrawn_at FROM posts WHERE id = :p", p=last) is None
    assert await written(engine) == before


async def test_a_move_that_is_not_allowed_spends_no_quota(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(limited, "Alice")
    post_id = await created(limited, alice)
    gone = await limited.post(f"{API}/posts/{post_id}/withdraw", headers=alice.headers)
    assert gone.status_code == 200
    for _ in range(WITHDRAW_PER_HOUR + 2):
        again = await limited.post(f"{API}/posts/{post_id}/withdraw", headers=alice.headers)
        assert again.status_code == 409
    # Still room for the two withdrawals left.
    for _ in range(WITHDRAW_PER_HOUR - 1):
        other = await created(limited, alice)
        done = await limited.post(f"{API}/posts/{other}/withdraw", headers=alice.headers)
        assert done.status_code == 200, done.text


# ---------------------------------------------------------------------------------------
# Pausing and resuming the volunteer profile
# ---------------------------------------------------------------------------------------


async def test_pausing_and_resuming_beyond_the_limit_is_refused(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    vera = await register(limited, "Vera")

    async def put(**overrides: Any) -> Any:
        return await limited.put(
            f"{API}/me/volunteer",
            json=volunteer_body(HOME_ALICE, **overrides),
            headers=vera.headers,
        )

    assert (await put()).status_code == 200  # a new profile is no toggle
    assert (await put(paused=True)).status_code == 200
    assert (await put(paused=False)).status_code == 200
    # Saving without switching the pause is not counted.
    assert (await put(radius_km=5)).status_code == 200

    detail = refused(await put(paused=True, radius_km=2))
    assert "pauses" in detail
    async with engine.connect() as conn:
        saved = (
            await conn.execute(
                text("SELECT paused, radius_m FROM volunteers WHERE user_id = :u"), {"u": vera.id}
            )
        ).one()
    assert tuple(saved) == (False, 5000)  # neither the pause nor the rest was saved


# ---------------------------------------------------------------------------------------
# Who pays, and where the count lives
# ---------------------------------------------------------------------------------------


async def test_a_social_worker_posting_for_residents_spends_their_own_quota(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(limited, engine)
    worker = world.worker_18
    paul = await limited.post(
        f"{API}/assisted-residents",
        json={
            "display_name": "Paul",
            "phone": "01 42 00 00 01",
            "consent": {
                "method": "in_person",
                "obtained_at": datetime.now(UTC).isoformat(),
                "centre_id": world.centre_18,
            },
        },
        headers=worker.headers,
    )
    assert paul.status_code == 201, paul.text
    residents = [world.odile_id, paul.json()["id"]]
    # The world's worker already published one post for Odile.
    for i in range(PUBLISH_PER_HOUR - 1):
        await created(limited, worker, on_behalf_of=residents[i % 2])
    before = await written(engine)
    refused(await publish_new(limited, worker, on_behalf_of=residents[0]))
    assert await written(engine) == before
    # The residents' own accounts were never charged; nor is Alice.
    await created(limited, world.alice)


async def test_two_api_processes_share_one_count(
    quota_settings: Settings, engine: AsyncEngine
) -> None:
    """Two app objects (two API processes behind a load balancer) on the same Redis."""
    async with (
        AsyncTestClient(create_app(quota_settings)) as first,
        AsyncTestClient(create_app(quota_settings)) as second,
    ):
        alice = await register(first, "Alice")
        for i in range(PUBLISH_PER_HOUR):
            await created(first if i % 2 else second, alice)
        before = await written(engine)
        refused(await publish_new(first, alice))
        refused(await publish_new(second, alice))
        assert await written(engine) == before


async def test_quotas_fail_open_when_redis_is_unreachable(free_port: int) -> None:
    """A Redis outage must not stop anyone asking for help (the readiness probe reports
    it): the action goes through uncounted."""
    down = Redis.from_url(f"redis://127.0.0.1:{free_port}/0", socket_connect_timeout=0.5)
    try:
        quotas = Quotas(down, {"publish": (Limit(1, 3600),)})
        for _ in range(3):
            await quotas.spend(1, "publish")
    finally:
        await down.aclose()


async def test_quotas_are_keyed_by_user_id_only(
    limited: AsyncTestClient, redis: Redis, quota_settings: Settings
) -> None:
    alice = await register(limited, "Alice")
    await created(limited, alice)
    keys = sorted(k.decode() for k in await redis.keys("voisins:quota:*"))
    assert keys == sorted(k for k in quota_keys(alice.id, quota_settings) if ":publish:" in k), keys
    assert all(alice.email not in k for k in keys)


# ---------------------------------------------------------------------------------------
# A burst of short-lived posts
# ---------------------------------------------------------------------------------------


async def publish_and_withdraw(client: AsyncTestClient, person: Person, home: Any) -> int:
    post_id = await created(client, person, location={"lon": home[0], "lat": home[1]})
    gone = await client.post(f"{API}/posts/{post_id}/withdraw", headers=person.headers)
    assert gone.status_code == 200, gone.text
    return post_id


async def short_lived_items(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT person_id, centre_id, post_id FROM followups "
                        "WHERE reason = 'short_lived_posts' ORDER BY id"
                    )
                )
            ).all()
        )


async def test_a_burst_of_short_lived_posts_reaches_the_covering_centre_once(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    alice = world.alice
    burst = settings.followup_short_lived_posts
    posts = [await publish_and_withdraw(client, alice, HOME_ALICE) for _ in range(burst - 1)]
    assert await short_lived_items(engine) == []
    posts.append(await publish_and_withdraw(client, alice, HOME_ALICE))
    assert await short_lived_items(engine) == [(alice.id, world.centre_18, posts[-1])]
    # More of the same adds nothing.
    await publish_and_withdraw(client, alice, HOME_ALICE)
    assert len(await short_lived_items(engine)) == 1

    # The centre's social workers see it among their follow-ups, with whom to call;
    # the other centre does not.
    listed = await client.get(f"{API}/moderation/followups", headers=world.worker_18.headers)
    assert listed.status_code == 200, listed.text
    item = next(i for i in listed.json()["items"] if i["reason"] == "short_lived_posts")
    assert item["person"]["user_id"] == alice.id and item["centre_id"] == world.centre_18
    other = await client.get(f"{API}/moderation/followups", headers=world.worker_20.headers)
    assert all(i["reason"] != "short_lived_posts" for i in other.json()["items"])


async def test_a_burst_where_no_centre_covers_goes_to_the_administrators_list(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    sam = await register(client, "Sam")
    burst = settings.followup_short_lived_posts
    posts = [await publish_and_withdraw(client, sam, HOME_OUTSIDE) for _ in range(burst + 1)]
    # One item, with no centre, about the post that completed the burst.
    assert await short_lived_items(engine) == [(sam.id, None, posts[burst - 1])]


async def test_posts_that_lived_long_enough_or_drafts_make_no_burst(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    sam = await register(client, "Sam")
    burst = settings.followup_short_lived_posts
    for _ in range(burst - 1):
        await publish_and_withdraw(client, sam, HOME_OUTSIDE)
    # Online longer than the rule's lifetime before being withdrawn: a real change of plan.
    older = await created(client, sam)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE posts SET published_at = now() - CAST(:age AS interval) WHERE id = :p"),
            {"age": timedelta(seconds=settings.followup_short_lived_s + 60), "p": older},
        )
    assert (
        await client.post(f"{API}/posts/{older}/withdraw", headers=sam.headers)
    ).status_code == 200
    # A draft never went out.
    draft = await created(client, sam, publish=False)
    assert (
        await client.post(f"{API}/posts/{draft}/withdraw", headers=sam.headers)
    ).status_code == 200
    assert await short_lived_items(engine) == []
