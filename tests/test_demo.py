"""`voisins demo` loads a living neighbourhood once, and only once."""

from __future__ import annotations

import pyotp
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.demo import DEMO_PASSWORD, DEMO_TOTP, load_demo
from voisins.settings import Settings


async def test_demo_loads_people_posts_and_propositions_idempotently(
    engine: AsyncEngine, settings: Settings
) -> None:
    first = await load_demo(engine, settings)
    assert first.created is True
    second = await load_demo(engine, settings)
    assert second.created is False
    async with engine.connect() as conn:
        counts = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM centres), (SELECT count(*) FROM volunteers), "
                    "(SELECT count(*) FROM posts WHERE status = 'published'), "
                    "(SELECT count(*) FROM matches), (SELECT count(*) FROM consents), "
                    "(SELECT count(*) FROM users WHERE email IS NOT NULL "
                    " AND email_confirmed_at IS NULL)"
                )
            )
        ).one()
    centres, volunteers, published, matches, consents, unconfirmed = counts
    assert unconfirmed == 0  # the demo's e-mails are on, as people would have them
    assert (centres, volunteers, consents) == (2, 14, 1)
    assert published >= 20
    assert matches > 0, "demo volunteers should have propositions to look at"


async def test_every_demo_account_logs_in_with_its_published_password_and_code(
    engine: AsyncEngine, settings: Settings, client: AsyncTestClient
) -> None:
    await load_demo(engine, settings)
    accounts = [
        ("fatou@voisins.demo", None),
        ("gisele@voisins.demo", None),
        ("travailleur1@voisins.demo", DEMO_TOTP["sw1"]),
        ("admin@voisins.demo", DEMO_TOTP["admin"]),
    ]
    for email, secret in accounts:
        body = {"email": email, "password": DEMO_PASSWORD}
        if secret:
            body["totp_code"] = pyotp.TOTP(secret).now()
        response = await client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 200, (email, response.text)
        assert response.json()["second_factor_required"] is False
