"""Intergenerational housing in the seeded world (tests/support/world.py), through the
real API: Odile (assisted, 78) hosts at home in the Goutte d'Or, her application recorded
by the centre's social worker; Basile (22, a student) applies himself. Dates are counted
from today, so the tests pass on any day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.housing.overdue import raise_overdue_steps
from voisins.housing.rules import add_months
from voisins.schedule import paris_today

from .people import Person, register
from .world import HOME_ODILE, World, build_world

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


async def end(
    client: AsyncTestClient, who: Person, url: str, reason: str, days_ago: int = 0, **more: Any
) -> Any:
    """The end of the pair at ``url``, ``days_ago`` days ago, for ``reason``."""
    body = {"reason": reason, "ended_on": in_days(-days_ago)} | more
    return await ok(await client.post(f"{API}{url}/end", json=body, headers=who.headers), 200)


@dataclass
class Housing:
    host_application: int
    young_application: int
    pair: int | None = None


async def vet(
    client: AsyncTestClient, world: World, host_id: int, young_id: int, *, days_ago: int
) -> None:
    """The host's interview and home visit, the young person's interview and references,
    favourable, ``days_ago`` days ago."""
    for app_id, kinds in ((host_id, ("interview", "home_visit")),
                          (young_id, ("interview", "references"))):  # fmt: skip
        for kind in kinds:
            await step(client, world.worker_18, f"/housing/applications/{app_id}", kind, days_ago)


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
    await vet(client, world, host["id"], young["id"], days_ago=40)
    return Housing(host_application=host["id"], young_application=young["id"])


async def pair_up(client: AsyncTestClient, world: World, host_id: int, young_id: int) -> int:
    """worker_18 proposes the two applications to each other: the pair's id."""
    body = {"host_application_id": host_id, "young_application_id": young_id}
    pair = await ok(
        await client.post(f"{API}/housing/pairs", json=body, headers=world.worker_18.headers)
    )
    return int(pair["id"])


async def propose(client: AsyncTestClient, world: World, housing: Housing) -> int:
    housing.pair = await pair_up(client, world, housing.host_application, housing.young_application)
    return housing.pair


async def proposed(client: AsyncTestClient, engine: AsyncEngine) -> tuple[World, Housing, int]:
    """The seeded world with Odile's and Basile's applications (``applications``)
    proposed to each other: the world, the applications and the pair's id."""
    world = await build_world(client, engine)
    housing = await applications(client, world)
    return world, housing, await propose(client, world, housing)


async def in_trial(client: AsyncTestClient, world: World, *, moved_in_days_ago: int = 5) -> Housing:
    """A pair introduced and in its trial period since ``moved_in_days_ago`` days."""
    housing = await applications(client, world)
    pair_id = await propose(client, world, housing)
    url = f"/housing/pairs/{pair_id}"
    await step(client, world.worker_18, url, "meeting", moved_in_days_ago + 3)
    await step(client, world.worker_18, url, "trial", moved_in_days_ago)
    return housing


@dataclass
class SelfApplied:
    pair: int
    host: Person
    young: Person
    host_application: int
    young_application: int


async def self_applied_pair(
    client: AsyncTestClient, world: World, *, moved_in_days_ago: int = 5
) -> SelfApplied:
    """Two more people of the Goutte d'Or, Henriette (host) and Yanis (young), apply
    themselves; their pair moved in ``moved_in_days_ago`` days ago and is in its trial."""
    host_person = await register(client, "Henriette")
    young_person = await register(client, "Yanis")
    host = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=host_body(world.centre_18, about="Un grand appartement"),
            headers=host_person.headers,
        )
    )
    young = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=young_body(world.centre_18),
            headers=young_person.headers,
        )
    )
    await vet(client, world, host["id"], young["id"], days_ago=moved_in_days_ago + 25)
    pair_id = await pair_up(client, world, host["id"], young["id"])
    url = f"/housing/pairs/{pair_id}"
    await step(client, world.worker_18, url, "meeting", moved_in_days_ago + 3)
    await step(client, world.worker_18, url, "trial", moved_in_days_ago)
    return SelfApplied(
        pair=pair_id,
        host=host_person,
        young=young_person,
        host_application=host["id"],
        young_application=young["id"],
    )


async def sweep(engine: AsyncEngine) -> int:
    """The worker's cron that puts overdue visits and trials on the follow-up list."""
    async with engine.begin() as conn:
        return await raise_overdue_steps(conn, today=paris_today(datetime.now(UTC)))
