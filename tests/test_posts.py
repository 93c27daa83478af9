"""Posts: creation, bad input, idempotency, transitions, browsing by bands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from .support.people import register
from .support.post_states import due_post
from .support.world import HOME_ALICE, HOME_OUTSIDE, build_world, post_body, soon


async def _count_posts(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM posts"))).scalar_one())


async def test_resident_posts_a_request_and_sees_its_exact_place(client: AsyncTestClient) -> None:
    alice = await register(client)
    response = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published"
    assert post["location"] == {"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "address": None}
    assert post["cell"]["key"].startswith("2154:500:")
    assert post["without_centre"] is True
    assert post["sensitive"] is False
    expires = datetime.fromisoformat(post["expires_at"])
    assert timedelta(days=13, hours=23) < expires - datetime.now(UTC) <= timedelta(days=14)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"lon": "abc", "lat": 48.88}}, "location.lon"),
        ({"location": {"lon": 2.35, "lat": 95}}, "location.lat"),
        ({"location": {"lon": 48.884, "lat": 2.353}}, "location"),  # swapped
        ({"location": {"lon": -0.1276, "lat": 51.5072}}, "location"),  # London
        ({"location": {"lon": 2.35}}, "location.lat"),
        ({"location": {}}, "location"),
        ({"location": {"address": "12 rue Léon"}}, "location.address"),  # geocoder off
        ({"title": "x" * 121}, "title"),
        ({"description": "x" * 4001}, "description"),
        ({"category": "astrologie"}, "category"),
        ({"kind": "demand"}, "kind"),
        ({"search_radius_km": 25}, "search_radius_km"),
        ({"volunteers_needed": 0}, "volunteers_needed"),
        ({"schedule": soon(days=-3)}, "schedule.ends_at"),
        (
            {
                "schedule": {
                    "type": "once",
                    "starts_at": "2030-01-02T10:00:00+01:00",
                    "ends_at": "2030-01-02T09:00:00+01:00",
                }
            },
            "schedule.ends_at",
        ),
        (
            {
                "schedule": {
                    "type": "once",
                    "starts_at": "2030-01-02T10:00:00",
                    "ends_at": "2030-01-02T12:00:00",
                }
            },
            "schedule.starts_at",
        ),
        (
            {"schedule": {"type": "weekly", "days": [8], "start": "10:00", "end": "11:00"}},
            "schedule.days[0]",
        ),
        (
            {"schedule": {"type": "weekly", "days": [1], "start": "25:00", "end": "26:00"}},
            "schedule.start",
        ),
        (
            {"schedule": {"type": "weekly", "days": [1, 1], "start": "10:00", "end": "11:00"}},
            "schedule.days",
        ),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"languages": ["français"]}, "languages[0]"),
        ({"skill_tags": ["<b>"]}, "skill_tags[0]"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    client: AsyncTestClient, engine: AsyncEngine, change: dict[str, Any], field: str
) -> None:
    alice = await register(client)
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, **change), headers=alice.headers
    )
    assert response.status_code in (400, 422), response.text
    body = response.json()
    assert field in body["fields"], body
    assert await _count_posts(engine) == 0


async def test_nan_and_infinite_coordinates_are_refused(client: AsyncTestClient) -> None:
    alice = await register(client)
    for raw in (b"NaN", b"1e999", b"-1e999"):
        body = (
            b'{"kind":"request","category":"courses","title":"Courses",'
            b'"schedule":{"type":"weekly","days":[1],"start":"10:00","end":"11:00"},'
            b'"location":{"lon":' + raw + b',"lat":48.88}}'
        )
        response = await client.post(
            "/api/v1/posts",
            content=body,
            headers={**alice.headers, "content-type": "application/json"},
        )
        assert response.status_code in (400, 422), (raw, response.text)


async def test_oversized_body_is_413(client: AsyncTestClient) -> None:
    alice = await register(client)
    response = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ALICE, description="x" * 2_000_000),
        headers=alice.headers,
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_html_is_stored_as_text(client: AsyncTestClient) -> None:
    alice = await register(client)
    title = "<script>alert('x')</script> courses"
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, title=title), headers=alice.headers
    )
    assert response.json()["title"] == title
    assert response.headers["content-type"].startswith("application/json")


async def test_same_idempotency_key_twice_creates_one_post_with_the_same_response(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(client)
    headers = {**alice.headers, "Idempotency-Key": "post-2026-11-22-0001"}
    body = post_body(HOME_ALICE)
    first = await client.post("/api/v1/posts", json=body, headers=headers)
    second = await client.post("/api/v1/posts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert await _count_posts(engine) == 1
    other = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, title="Autre chose"), headers=headers
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["fields"]


async def test_concurrent_requests_with_one_idempotency_key_create_one_post(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(client)
    headers = {**alice.headers, "Idempotency-Key": "concurrent-key-42"}
    body = post_body(HOME_ALICE)
    responses = await asyncio.gather(
        *[client.post("/api/v1/posts", json=body, headers=headers) for _ in range(5)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await _count_posts(engine) == 1


async def test_malformed_idempotency_key_is_refused(client: AsyncTestClient) -> None:
    alice = await register(client)
    response = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ALICE),
        headers={**alice.headers, "Idempotency-Key": "bad key!"},
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["fields"]


async def test_sensitivity_is_computed_by_the_server(client: AsyncTestClient) -> None:
    alice = await register(client)
    housing = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ALICE, category="hebergement_intergenerationnel"),
        headers=alice.headers,
    )
    assert housing.json()["sensitive"] is True
    flagged = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, beneficiary=["minor"]), headers=alice.headers
    )
    assert flagged.json()["sensitive"] is True
    forged = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ALICE, category="hebergement_intergenerationnel", sensitive=False),
        headers=alice.headers,
    )
    assert forged.status_code == 422


async def test_status_transitions(client: AsyncTestClient) -> None:
    alice = await register(client)
    draft = (
        await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE, publish=False), headers=alice.headers
        )
    ).json()
    assert draft["status"] == "draft"
    url = f"/api/v1/posts/{draft['id']}"
    assert (
        await client.post(f"{url}/close", json={"reason": "plus besoin"}, headers=alice.headers)
    ).status_code == 409
    published = await client.post(f"{url}/publish", headers=alice.headers)
    assert published.json()["status"] == "published"
    closed = await client.post(
        f"{url}/close", json={"reason": "Trouvé une aide"}, headers=alice.headers
    )
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_reason"] == "Trouvé une aide"
    again = await client.post(f"{url}/publish", headers=alice.headers)
    assert again.status_code == 409
    edit = await client.patch(url, json={"title": "Nouveau titre"}, headers=alice.headers)
    assert edit.status_code == 409


async def test_database_refuses_an_invalid_transition(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(client)
    post = (
        await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    ).json()
    with pytest.raises(DBAPIError, match="cannot go from published to draft"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE posts SET status = 'draft' WHERE id = :id"), {"id": post["id"]}
            )
    with pytest.raises(DBAPIError, match="posts_check"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE posts SET status = 'closed' WHERE id = :id"), {"id": post["id"]}
            )


async def test_author_edits_a_post(client: AsyncTestClient) -> None:
    alice = await register(client)
    post = (
        await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    ).json()
    response = await client.patch(
        f"/api/v1/posts/{post['id']}",
        json={
            "title": "Courses du dimanche",
            "schedule": {"type": "weekly", "days": [7], "start": "09:00", "end": "11:00"},
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Courses du dimanche"
    assert response.json()["schedule"] == {
        "type": "weekly",
        "days": [7],
        "start": "09:00",
        "end": "11:00",
    }


async def test_expiry_job_expires_due_posts(client: AsyncTestClient, engine: AsyncEngine) -> None:
    from voisins.posts.status import expire_due

    alice, post_id = await due_post(client, engine)
    async with engine.begin() as conn:
        assert await expire_due(conn) == 1
    got = await client.get(f"/api/v1/posts/{post_id}", headers=alice.headers)
    assert got.json()["status"] == "expired"


async def test_browse_shows_bands_from_cell_centres_nearest_first(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    response = await client.get(
        "/api/v1/posts", params={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "radius_km": 20}
    )
    assert response.status_code == 200
    items = response.json()["items"]
    ids = [p["id"] for p in items]
    assert world.posts["alice_draft"] not in ids
    assert ids[0] in (world.posts["alice"], world.posts["odile"])
    assert items[0]["distance"]["label_fr"] == "moins de 1 km"
    bands = [p["distance"]["min_km"] for p in items]
    assert bands == sorted(bands)
    far = next(p for p in items if p["id"] == world.posts["outside"])
    assert far["distance"]["min_km"] >= 5
    assert "location" not in far


async def test_browse_filters_by_radius_category_and_kind(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    near = {"lon": HOME_ALICE[0], "lat": HOME_ALICE[1]}
    small = (await client.get("/api/v1/posts", params={**near, "radius_km": 1})).json()["items"]
    assert world.posts["outside"] not in [p["id"] for p in small]
    offers = (
        await client.get("/api/v1/posts", params={**near, "radius_km": 20, "kind": "offer"})
    ).json()["items"]
    assert [p["id"] for p in offers] == [world.posts["basile"]]
    visits = (
        await client.get(
            "/api/v1/posts", params={**near, "radius_km": 20, "category": "visite_convivialite"}
        )
    ).json()["items"]
    assert [p["id"] for p in visits] == [world.posts["odile"]]
    bad = await client.get("/api/v1/posts", params={**near, "radius_km": 50})
    assert bad.status_code in (400, 422)
    outside_france = await client.get("/api/v1/posts", params={"lon": 13.4, "lat": 52.5})
    assert outside_france.status_code == 422


async def test_browse_near_me_uses_the_volunteer_home_cell(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    response = await client.get(
        "/api/v1/posts", params={"near": "me", "radius_km": 2}, headers=world.vera.headers
    )
    assert response.status_code == 200
    assert world.posts["alice"] in [p["id"] for p in response.json()["items"]]
    nobody = await client.get("/api/v1/posts", params={"near": "me"}, headers=world.alice.headers)
    assert nobody.status_code == 422


async def test_pagination_caps_at_100(client: AsyncTestClient) -> None:
    alice = await register(client)
    too_many = await client.get("/api/v1/me/posts", params={"per_page": 101}, headers=alice.headers)
    assert too_many.status_code in (400, 422)
    for index in range(3):
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_OUTSIDE, title=f"Post {index}"),
            headers=alice.headers,
        )
    page1 = (
        await client.get("/api/v1/me/posts", params={"per_page": 2}, headers=alice.headers)
    ).json()
    page2 = (
        await client.get(
            "/api/v1/me/posts", params={"per_page": 2, "page": 2}, headers=alice.headers
        )
    ).json()
    assert page1["has_more"] is True and len(page1["items"]) == 2
    assert page2["has_more"] is False and len(page2["items"]) == 1


async def test_covering_centres_are_found_from_the_territory(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    inside = await client.get(f"/api/v1/posts/{world.posts['alice']}", headers=world.alice.headers)
    assert inside.json()["centre_ids"] == [world.centre_18]
    assert inside.json()["without_centre"] is False
    outside = await client.get(
        f"/api/v1/posts/{world.posts['outside']}", headers=world.stranger.headers
    )
    assert outside.json()["centre_ids"] == []
    assert outside.json()["without_centre"] is True
