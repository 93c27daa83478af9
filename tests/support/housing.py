"""Intergenerational housing in the seeded world (tests/support/world.py), through the
real API: Odile (assisted, 78) hosts at home in the Goutte d'Or, her application recorded
by the centre's social worker; Basile (22, a student) applies himself. Dates are counted
from today, so the tests pass on any day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from voisins.housing.rules import add_months
from voisins.schedule import paris_today

from .people import Person
from .world import HOME_ODILE, World

API = "/api/v1"
# The young person's place of study (exact, private): Université Paris Cité, Grands Moulins.
STUDY_BASILE = (2.381743, 48.829127)
ODILE_HOME_ADDRESS = "8 rue Polonceau, 2e étage"


def years_ago(years: int, days: int = 0) -> str:
    today = paris_today(datetime.now(UTC))
    return (add_months(today, -12 * years) - timedelta(days=days)).isoformat()


def in_days(days: int) -> str:
    return (paris_today(datetime.now(UTC)) + timedelta(days=days)).isoformat()


def host_body(centre_id: int, person_id: int | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "side": "host",
        "centre_id": centre_id,
        "birth_date": years_ago(78),
        "available_from": in_days(7),
        "location": {"lon": HOME_ODILE[0], "lat": HOME_ODILE[1], "address": ODILE_HOME_ADDRESS},
        "formulas": ["solidarity"],
        "monthly_eur": 150,
        "services": ["evening_presence", "shopping", "digital_help"],
        "languages": ["fr"],
        "habits": {"has_pets": True, "accepts_smoker": False, "rhythm": "early"},
        "room": {"size_m2": 12, "floor": 2, "lift": False, "private_bathroom": False},
        "about": "Une chambre calme sur cour.",
    }
    if person_id is not None:
        body["person_id"] = person_id
    return body | overrides


def young_body(centre_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "side": "young",
        "centre_id": centre_id,
        "birth_date": years_ago(22),
        "available_from": in_days(14),
        "available_until": in_days(300),
        "location": {"lon": STUDY_BASILE[0], "lat": STUDY_BASILE[1]},
        "formulas": ["free_presence", "solidarity"],
        "monthly_eur": 250,
        "services": ["evening_presence", "digital_help"],
        "languages": ["fr", "en"],
        "habits": {"accepts_pets": True, "rhythm": "flexible"},
        "occupation": "student",
        "occupation_detail": "Master de sociologie",
    } | overrides


async def ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def step(
    client: AsyncTestClient, who: Person, url: str, kind: str, days_ago: int = 0, **more: Any
) -> Any:
    body = {"kind": kind, "done_on": in_days(-days_ago), "outcome": "favourable"} | more
    return await ok(await client.post(f"{API}{url}/steps", json=body, headers=who.headers))


@dataclass
class Housing:
    host_application: int
    young_application: int
    pair: int | None = None


async def applications(client: AsyncTestClient, world: World) -> Housing:
    """Both applications, interviewed, the home visited and the references taken."""
    host = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=host_body(world.centre_18, world.odile_id),
            headers=world.worker_18.headers,
        )
    )
    young = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=young_body(world.centre_18),
            headers=world.basile.headers,
        )
    )
    world.exact_points.append(STUDY_BASILE)
    world.addresses.append(ODILE_HOME_ADDRESS)
    for app_id, kinds in (
        (host["id"], ("interview", "home_visit")),
        (young["id"], ("interview", "references")),
    ):
        for kind in kinds:
            await step(client, world.worker_18, f"/housing/applications/{app_id}", kind, 40)
    return Housing(host_application=host["id"], young_application=young["id"])


async def propose(client: AsyncTestClient, world: World, housing: Housing) -> int:
    pair = await ok(
        await client.post(
            f"{API}/housing/pairs",
            json={
                "host_application_id": housing.host_application,
                "young_application_id": housing.young_application,
            },
            headers=world.worker_18.headers,
        )
    )
    housing.pair = pair["id"]
    return int(pair["id"])


async def in_trial(client: AsyncTestClient, world: World, *, moved_in_days_ago: int = 5) -> Housing:
    """A pair introduced and in its trial period since ``moved_in_days_ago`` days."""
    housing = await applications(client, world)
    pair_id = await propose(client, world, housing)
    url = f"/housing/pairs/{pair_id}"
    await step(client, world.worker_18, url, "meeting", moved_in_days_ago + 3)
    await step(client, world.worker_18, url, "trial", moved_in_days_ago)
    return housing
