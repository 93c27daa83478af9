"""`voisins demo` loads a living neighbourhood once, and only once."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.demo import DEMO_PASSWORD, DEMO_TOTP, load_demo
from voisins.schedule import paris_today
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


async def test_the_demo_has_a_host_two_young_people_and_a_pair_in_its_trial(
    engine: AsyncEngine, settings: Settings, client: AsyncTestClient
) -> None:
    await load_demo(engine, settings)
    await load_demo(engine, settings)  # once, however often it is loaded
    today = paris_today(datetime.now(UTC))
    async with engine.connect() as conn:
        sides = (
            await conn.execute(
                text("SELECT side, count(*) FROM housing_applications GROUP BY side")
            )
        ).tuples()
        assert dict(sides.all()) == {"host": 1, "young": 2}
        pair = (await conn.execute(text("SELECT * FROM housing_pairs"))).one()
    assert pair.status == "trial"
    assert pair.introduced_on < pair.trial_started_on <= today < pair.trial_ends_on
    assert pair.next_visit_due > today

    # Hugo, the young person, reads his pair (introduced) with his host's address.
    login = await client.post(
        "/api/v1/auth/login", json={"email": "hugo@voisins.demo", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    client.cookies.clear()
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    pairs = await client.get("/api/v1/housing/pairs", headers=token)
    assert pairs.status_code == 200, pairs.text
    [seen] = pairs.json()
    assert seen["status"] == "trial" and seen["host"]["person"]["display_name"] == "Bernadette"
    assert seen["host_address"] == "15 rue Polonceau, 3e étage"
    # Inès waits for a host: the social worker finds her among Bernadette's candidates
    # only once the pair ends; for now her application is open and vetted.
    login = await client.post(
        "/api/v1/auth/login", json={"email": "ines@voisins.demo", "password": DEMO_PASSWORD}
    )
    client.cookies.clear()
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    [mine] = (await client.get("/api/v1/housing/applications", headers=token)).json()
    assert mine["status"] == "open" and mine["interview_done"] and mine["references_done"]
