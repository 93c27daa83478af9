"""Volunteer profiles, vetting, assisted residents and their consent, address lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings, load_settings

from .support.ban import BanStub, ban_answer
from .support.people import Person, register, staff
from .support.world import (
    HOME_ODILE,
    HOME_VERA,
    admin_and_centre,
    post_body,
    volunteer_body,
)


def _consent(centre_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "method": "phone",
        "obtained_at": datetime.now(UTC).isoformat(),
        "centre_id": centre_id,
        **overrides,
    }


async def centre_and_worker(client: AsyncTestClient, engine: AsyncEngine) -> tuple[int, Person]:
    """The Goutte d'Or centre and one of its social workers."""
    _, centre_id = await admin_and_centre(client, engine)
    return centre_id, await staff(client, engine, centre_ids=(centre_id,))


async def test_volunteer_profile_round_trip(client: AsyncTestClient) -> None:
    vera = await register(client, "Vera")
    body = volunteer_body(
        HOME_VERA,
        availability=[
            {"day": 1, "start": "09:00", "end": "12:00"},
            {"day": 1, "start": "11:00", "end": "14:00"},
            {"day": 6, "start": "20:00", "end": "24:00"},
        ],
        skill_tags=["Couture", "informatique"],
    )
    response = await client.put("/api/v1/me/volunteer", json=body, headers=vera.headers)
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["location"]["lon"] == HOME_VERA[0]
    assert profile["availability"] == [
        {"day": 1, "start": "09:00", "end": "14:00"},
        {"day": 6, "start": "20:00", "end": "24:00"},
    ]
    assert profile["skill_tags"] == ["couture", "informatique"]
    assert profile["vetting"]["vetted"] is False
    me = await client.get("/api/v1/me", headers=vera.headers)
    assert me.json()["is_volunteer"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"radius_km": 25}, "radius_km"),
        ({"categories": []}, "categories"),
        ({"categories": ["astrologie"]}, "categories[0]"),
        ({"availability": [{"day": 1, "start": "12:00", "end": "09:00"}]}, "availability[0].end"),
        ({"availability": [{"day": 0, "start": "09:00", "end": "10:00"}]}, "availability[0].day"),
        ({"location": {"lon": 2.35, "lat": 148}}, "location.lat"),
        ({"vetting": {"vetted": True}}, "vetting"),
        ({"id_checked_at": "2026-01-01T00:00:00Z"}, "id_checked_at"),
    ],
)
async def test_bad_volunteer_profile_is_refused(
    client: AsyncTestClient, change: dict[str, Any], field: str
) -> None:
    vera = await register(client, "Vera")
    response = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA, **change), headers=vera.headers
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["fields"]
    assert (await client.get("/api/v1/me/volunteer", headers=vera.headers)).status_code == 404


async def test_only_social_workers_record_vetting(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    _, worker = await centre_and_worker(client, engine)
    vera = await register(client, "Vera")
    await client.put("/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers)
    extract = date.today() - timedelta(days=60)
    vetting = {
        "id_checked_at": datetime.now(UTC).isoformat(),
        "record_extract_date": extract.isoformat(),
    }
    refused = await client.put(
        f"/api/v1/volunteers/{vera.id}/vetting", json=vetting, headers=vera.headers
    )
    assert refused.status_code == 403
    done = await client.put(
        f"/api/v1/volunteers/{vera.id}/vetting", json=vetting, headers=worker.headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["vetted"] is True
    assert done.json()["record_expires_on"] == (extract + timedelta(days=3 * 365)).isoformat()
    async with engine.connect() as conn:
        checked_by = (
            await conn.execute(
                text("SELECT id_checked_by, record_checked_by FROM volunteers WHERE user_id = :i"),
                {"i": vera.id},
            )
        ).one()
    assert tuple(checked_by) == (worker.id, worker.id)
    future = await client.put(
        f"/api/v1/volunteers/{vera.id}/vetting",
        json={"record_extract_date": (date.today() + timedelta(days=3)).isoformat()},
        headers=worker.headers,
    )
    assert future.status_code == 422


async def test_an_old_criminal_record_extract_is_not_vetting(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    _, worker = await centre_and_worker(client, engine)
    vera = await register(client, "Vera")
    await client.put("/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers)
    response = await client.put(
        f"/api/v1/volunteers/{vera.id}/vetting",
        json={"id_checked_at": datetime.now(UTC).isoformat(), "record_extract_date": "2022-01-10"},
        headers=worker.headers,
    )
    assert response.json()["vetted"] is False
    assert response.json()["record_expires_on"] == "2025-01-09"


async def test_social_worker_registers_an_assisted_resident_with_consent_and_posts_for_them(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    centre_id, worker = await centre_and_worker(client, engine)
    created = await client.post(
        "/api/v1/assisted-residents",
        json={
            "display_name": "Mme Lefèvre",
            "vulnerability": ["isolated_elderly"],
            "consent": _consent(centre_id, method="in_person", note="à la permanence"),
        },
        headers=worker.headers,
    )
    assert created.status_code == 201, created.text
    resident = created.json()
    assert resident["email"] is None and resident["phone"] is None
    [consent] = resident["consents"]
    assert consent["obtained_by"] == worker.id
    assert consent["method"] == "in_person"
    post = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ODILE, on_behalf_of=resident["id"]),
        headers=worker.headers,
    )
    assert post.status_code == 201, post.text
    assert post.json()["author_id"] == resident["id"]
    assert post.json()["created_by"] == worker.id
    # The resident's vulnerability makes even a shopping request sensitive.
    assert post.json()["sensitive"] is True
    listed = await client.get("/api/v1/assisted-residents", headers=worker.headers)
    assert [r["id"] for r in listed.json()["items"]] == [resident["id"]]


async def test_consent_is_required_and_checked(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin, centre_id = await admin_and_centre(client, engine)
    other = await client.post(
        "/api/v1/centres",
        json={
            "name": "Centre social ailleurs",
            "territory": {
                "type": "Polygon",
                "coordinates": [
                    [[4.83, 45.75], [4.85, 45.75], [4.85, 45.77], [4.83, 45.77], [4.83, 45.75]]
                ],
            },
        },
        headers=admin.headers,
    )
    worker = await staff(client, engine, centre_ids=(centre_id,))
    outsider = await staff(client, engine, centre_ids=(other.json()["id"],))
    missing = await client.post(
        "/api/v1/assisted-residents",
        json={"display_name": "Sans consentement"},
        headers=worker.headers,
    )
    assert missing.status_code == 422
    assert "consent" in missing.json()["fields"]
    bad_method = await client.post(
        "/api/v1/assisted-residents",
        json={"display_name": "X", "consent": _consent(centre_id, method="telepathy")},
        headers=worker.headers,
    )
    assert "consent.method" in bad_method.json()["fields"]
    future = await client.post(
        "/api/v1/assisted-residents",
        json={
            "display_name": "X",
            "consent": _consent(
                centre_id, obtained_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()
            ),
        },
        headers=worker.headers,
    )
    assert "consent.obtained_at" in future.json()["fields"]
    not_mine = await client.post(
        "/api/v1/assisted-residents",
        json={"display_name": "X", "consent": _consent(other.json()["id"])},
        headers=worker.headers,
    )
    assert not_mine.status_code == 403
    resident = await client.post(
        "/api/v1/assisted-residents",
        json={"display_name": "Odile", "consent": _consent(centre_id)},
        headers=worker.headers,
    )
    resident_id = resident.json()["id"]
    assert (
        await client.get(f"/api/v1/assisted-residents/{resident_id}", headers=outsider.headers)
    ).status_code == 404
    on_behalf = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ODILE, on_behalf_of=resident_id),
        headers=outsider.headers,
    )
    assert on_behalf.status_code == 403
    resident_user = await register(client, "Resident")
    assert (
        await client.post(
            "/api/v1/assisted-residents",
            json={"display_name": "X", "consent": _consent(centre_id)},
            headers=resident_user.headers,
        )
    ).status_code == 403
    renewed = await client.post(
        f"/api/v1/assisted-residents/{resident_id}/consents",
        json=_consent(centre_id, method="written"),
        headers=worker.headers,
    )
    assert [c["method"] for c in renewed.json()["consents"]] == ["phone", "written"]


async def test_withdrawn_consent_stops_acting_for_the_resident(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    centre_id, worker = await centre_and_worker(client, engine)
    resident = await client.post(
        "/api/v1/assisted-residents",
        json={"display_name": "Odile", "consent": _consent(centre_id)},
        headers=worker.headers,
    )
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE consents SET withdrawn_at = now()"))
    response = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ODILE, on_behalf_of=resident.json()["id"]),
        headers=worker.headers,
    )
    assert response.status_code == 403


async def test_staff_must_name_whom_they_post_for(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    _, worker = await centre_and_worker(client, engine)
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ODILE), headers=worker.headers
    )
    assert response.status_code == 403
    assert "on_behalf_of" in response.json()["fields"]


async def test_posting_with_an_address_uses_the_address_search(
    settings: Settings,
    ban: BanStub,
) -> None:
    with_geocoder = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        log_level="WARNING",
        geocoder_url=ban.url,
    )
    async with AsyncTestClient(create_app(with_geocoder)) as client:
        alice = await register(client, "Alice")
        response = await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ODILE, location={"address": "18 rue Léon, Paris"}),
            headers=alice.headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["location"] == {
            "lon": 2.353609,
            "lat": 48.889147,
            "address": "18 Rue Léon 75018 Paris",
        }
        assert ban.queries[-1]["q"] == ["18 rue Léon, Paris"]
        ban.body = ban_answer(found=False)
        missing = await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ODILE, location={"address": "nulle part"}),
            headers=alice.headers,
        )
        assert missing.status_code == 422
        assert "location.address" in missing.json()["fields"]
        ban.status = 500
        down = await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ODILE, location={"address": "18 rue Léon"}),
            headers=alice.headers,
        )
        assert down.status_code == 503
        assert down.json()["error"] == "geocoder_unavailable"
