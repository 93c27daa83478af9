"""Centres sociaux: territories validated with shapely, admin-only changes, partnerships."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from .support.people import register, staff
from .support.world import BELLEVILLE, GOUTTE_DOR


def _polygon(*ring: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


@pytest.mark.parametrize(
    ("territory", "field"),
    [
        (
            _polygon((2.35, 48.88), (2.36, 48.89), (2.36, 48.88), (2.35, 48.89), (2.35, 48.88)),
            "territory",
        ),
        (
            _polygon((2.35, 48.88), (2.36, 48.88), (2.36, 48.89), (2.35, 48.89)),
            "territory.coordinates[0]",
        ),
        (_polygon((2.35, 48.88), (2.36, 48.88), (2.35, 48.88)), "territory.coordinates[0]"),
        (_polygon((-5, 42), (8, 42), (8, 51), (-5, 51), (-5, 42)), "territory"),
        (
            _polygon((13.3, 52.5), (13.4, 52.5), (13.4, 52.6), (13.3, 52.6), (13.3, 52.5)),
            "territory",
        ),
        ({"type": "Point", "coordinates": [2.35, 48.88]}, "territory.type"),
        (
            _polygon(("a", 48.88), (2.36, 48.88), (2.36, 48.89), ("a", 48.88)),
            "territory.coordinates[0][0]",
        ),
    ],
)
async def test_invalid_territories_are_refused_naming_the_part(
    client: AsyncTestClient, engine: AsyncEngine, territory: dict[str, Any], field: str
) -> None:
    admin = await staff(client, engine, role="admin")
    response = await client.post(
        "/api/v1/centres",
        json={"name": "Centre test", "territory": territory},
        headers=admin.headers,
    )
    assert response.status_code == 422, response.text
    assert any(key.startswith(field) for key in response.json()["fields"]), response.json()
    assert (await client.get("/api/v1/centres")).json()["items"] == []


async def test_only_admins_create_centres(client: AsyncTestClient, engine: AsyncEngine) -> None:
    resident = await register(client)
    worker = await staff(client, engine)
    body = {"name": "Centre social Goutte d'Or", "territory": GOUTTE_DOR}
    assert (
        await client.post("/api/v1/centres", json=body, headers=resident.headers)
    ).status_code == 403
    assert (
        await client.post("/api/v1/centres", json=body, headers=worker.headers)
    ).status_code == 403
    admin = await staff(client, engine, role="admin")
    created = await client.post("/api/v1/centres", json=body, headers=admin.headers)
    assert created.status_code == 201
    assert created.json()["moderation_level"] == "sensitive_only"
    assert created.json()["territory"]["type"] == "MultiPolygon"
    duplicate = await client.post("/api/v1/centres", json=body, headers=admin.headers)
    assert duplicate.status_code == 409
    assert "name" in duplicate.json()["fields"]


async def test_centre_admin_changes_only_the_moderation_level(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin = await staff(client, engine, role="admin")
    centre = (
        await client.post(
            "/api/v1/centres",
            json={"name": "Centre A", "territory": GOUTTE_DOR},
            headers=admin.headers,
        )
    ).json()
    worker = await staff(client, engine)
    member = await client.post(
        f"/api/v1/centres/{centre['id']}/members",
        json={"user_id": worker.id, "member_role": "centre_admin"},
        headers=admin.headers,
    )
    assert member.status_code == 200
    # Membership is read when the session resolves, so the same token now acts for it.
    level = await client.patch(
        f"/api/v1/centres/{centre['id']}",
        json={"moderation_level": "all_posts"},
        headers=worker.headers,
    )
    assert level.status_code == 200, level.text
    assert level.json()["moderation_level"] == "all_posts"
    rename = await client.patch(
        f"/api/v1/centres/{centre['id']}", json={"name": "Autre nom"}, headers=worker.headers
    )
    assert rename.status_code == 403


async def test_partnerships_are_symmetric(client: AsyncTestClient, engine: AsyncEngine) -> None:
    admin = await staff(client, engine, role="admin")
    a = (
        await client.post(
            "/api/v1/centres",
            json={"name": "Centre A", "territory": GOUTTE_DOR},
            headers=admin.headers,
        )
    ).json()
    b = (
        await client.post(
            "/api/v1/centres",
            json={"name": "Centre B", "territory": BELLEVILLE},
            headers=admin.headers,
        )
    ).json()
    response = await client.post(
        f"/api/v1/centres/{b['id']}/partners", json={"partner_id": a["id"]}, headers=admin.headers
    )
    assert response.json()["partner_ids"] == [a["id"]]
    assert (await client.get(f"/api/v1/centres/{a['id']}")).json()["partner_ids"] == [b["id"]]
    worker_b = await staff(client, engine, centre_ids=(b["id"],))
    me = await client.get("/api/v1/me", headers=worker_b.headers)
    assert me.json()["centre_ids"] == [b["id"]]
    itself = await client.post(
        f"/api/v1/centres/{a['id']}/partners", json={"partner_id": a["id"]}, headers=admin.headers
    )
    assert itself.status_code == 409
    removed = await client.delete(
        f"/api/v1/centres/{a['id']}/partners/{b['id']}", headers=admin.headers
    )
    assert removed.json()["partner_ids"] == []
