"""The same housing action 50 times at once on a real server: one pairing proposed, one
agreement signed, one application per person and side; the others get 409, never a 500,
and nothing is written twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from .support.housing import applications, in_days, in_trial, young_body
from .support.servers import serving
from .support.world import build_world

TIMES = 50


async def _at_once(
    settings: Settings, url: str, body: dict[str, Any], headers: dict[str, str]
) -> Counter[int]:
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=60) as client,
    ):
        answers = await asyncio.gather(
            *(client.post(url, json=body, headers=headers) for _ in range(TIMES))
        )
    return Counter(a.status_code for a in answers)


async def _count(engine: AsyncEngine, statement: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(statement), params)).scalar_one())


async def test_one_pairing_when_it_is_proposed_fifty_times_at_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        world = await build_world(setup, engine)
        housing = await applications(setup, world)
    statuses = await _at_once(
        settings,
        "/api/v1/housing/pairs",
        {
            "host_application_id": housing.host_application,
            "young_application_id": housing.young_application,
        },
        world.worker_18.headers,
    )
    assert statuses == Counter({201: 1, 409: TIMES - 1}), statuses
    assert await _count(engine, "SELECT count(*) FROM housing_pairs") == 1
    assert await _count(engine, "SELECT count(*) FROM housing_steps WHERE kind = 'proposed'") == 1


async def test_one_agreement_when_it_is_recorded_fifty_times_at_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        world = await build_world(setup, engine)
        housing = await in_trial(setup, world)
    statuses = await _at_once(
        settings,
        f"/api/v1/housing/pairs/{housing.pair}/steps",
        {"kind": "agreement", "done_on": in_days(0)},
        world.worker_18.headers,
    )
    assert statuses == Counter({201: 1, 409: TIMES - 1}), statuses
    agreements = "SELECT count(*) FROM housing_steps WHERE kind = 'agreement'"
    assert await _count(engine, agreements) == 1


async def test_one_application_when_a_person_sends_it_fifty_times_at_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        world = await build_world(setup, engine)
    statuses = await _at_once(
        settings, "/api/v1/housing/applications", young_body(world.centre_18),
        world.alice.headers,
    )  # fmt: skip
    assert statuses == Counter({201: 1, 409: TIMES - 1}), statuses
    assert await _count(engine, "SELECT count(*) FROM housing_applications") == 1
