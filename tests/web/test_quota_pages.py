"""Quotas seen from the pages: over the limit, a page in the layout says so in the
reader's language (never the API's JSON), with Retry-After, and nothing is saved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.csrf import csrf_of
from ..support.people import Person, register
from ..support.world import HOME_ALICE, HOME_VERA, post_body, volunteer_body

LIMIT = 2


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    small = msgspec.structs.replace(
        settings, quota_withdraw_per_hour=LIMIT, quota_pause_per_hour=LIMIT
    )
    async with AsyncTestClient(create_app(small)) as client:
        yield client


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def withdraw_by_page(client: AsyncTestClient, person: Person, post_id: int) -> Any:
    seen = await client.get(f"/annonces/{post_id}", headers=person.headers)
    assert seen.status_code == 200, seen.text
    return await client.post(
        f"/annonces/{post_id}/retirer",
        data={"_csrf_token": csrf_of(seen.text)},
        headers=person.headers,
        follow_redirects=False,
    )


async def test_withdrawing_too_often_from_the_pages_shows_a_page_and_keeps_the_post(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(limited, "Alice")
    posts = []
    for _ in range(LIMIT + 2):
        made = await limited.post(
            "/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers
        )
        assert made.status_code == 201, made.text
        posts.append(made.json()["id"])
    for post_id in posts[:LIMIT]:
        assert (await withdraw_by_page(limited, alice, post_id)).status_code == 303

    refused = await withdraw_by_page(limited, alice, posts[LIMIT])
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert "Trop d&#39;essais en peu de temps" in refused.text
    assert "Rien n&#39;a été enregistré." in refused.text
    assert "Vous pourrez réessayer dans" in refused.text
    status = await scalar(engine, "SELECT status FROM posts WHERE id = :p", p=posts[LIMIT])
    assert status == "published"

    # In the language the person chose for their account.
    chosen = await limited.patch("/api/v1/me", json={"locale": "en"}, headers=alice.headers)
    assert chosen.status_code == 200, chosen.text
    english = await withdraw_by_page(limited, alice, posts[LIMIT + 1])
    assert english.status_code == 429
    assert "Too many tries in a short time" in english.text
    assert "Nothing was saved." in english.text and "You can try again in" in english.text


async def test_pausing_too_often_from_the_profile_page_shows_a_page(
    limited: AsyncTestClient, engine: AsyncEngine
) -> None:
    vera = await register(limited, "Vera")
    made = await limited.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert made.status_code == 200, made.text
    limited.cookies.set("voisins_session", vera.token)

    async def save(paused: bool) -> Any:
        page = await limited.get("/benevole")
        assert page.status_code == 200, page.text
        form = {
            "_csrf_token": csrf_of(page.text),
            "lat": f"{HOME_VERA[1]:.6f}",
            "lon": f"{HOME_VERA[0]:.6f}",
            "address": "",
            "radius_km": "3",
            "categories": ["courses"],
            "slots": ["1-matin"],
            "languages": ["fr"],
            "max_active_matches": "3",
        }
        if paused:
            form["paused"] = "1"
        return await limited.post("/benevole", data=form, follow_redirects=False)

    assert (await save(paused=True)).status_code == 303
    assert (await save(paused=False)).status_code == 303
    refused = await save(paused=True)
    assert refused.status_code == 429
    assert "Trop d&#39;essais en peu de temps" in refused.text
    assert "retry-after" in refused.headers
    paused = await scalar(engine, "SELECT paused FROM volunteers WHERE user_id = :u", u=vera.id)
    assert paused is False
