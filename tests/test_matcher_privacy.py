"""An attacker in the suite: nothing the matcher does may tell where someone lives
beyond their public cell.

Two worlds differ only by one person's exact point, moved inside its 500 m cell — a
volunteer's home, a request's place, an offer's place. In each world the same
ordinary accounts run the same script over HTTP: browse at many points and radii,
publish requests and offers with radii just inside and just outside the cell-centre
distances, list propositions and answers, pause and un-pause, withdraw and publish
again. Every response, status and body, must be byte-identical in both worlds (only
timestamps and the generated e-mail addresses are normalised: ids are compared as
they are). The probes that locate people to the metre — binary search on a radius,
the batch number, the order of propositions — all read through such responses.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.geo.coordinates import LonLat
from voisins.geo.grid import cell_centre, distance_m, snap
from voisins.settings import Settings

from .support.database import empty_database
from .support.matching import CHATELET, in_cell
from .support.people import Person, register
from .support.world import post_body, volunteer_body

# Where the target sits inside its cell in each world: near one corner, near the other.
WORLD_A = (0.07, 0.11)
WORLD_B = (0.93, 0.88)
CATEGORIES = ["courses", "visite_convivialite"]
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_EMAIL = re.compile(r"[a-z]+\d+@example\.org")


def _normalised(body: Any) -> str:
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return _EMAIL.sub("<email>", _TIMESTAMP.sub("<time>", raw))


class Script:
    """Runs calls and keeps what each one answered."""

    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client
        self.transcript: list[tuple[str, int, str]] = []

    async def call(self, label: str, method: str, url: str, who: Person | None, **kw: Any) -> Any:
        headers = who.headers if who else {}
        response = await self.client.request(method, f"/api/v1{url}", headers=headers, **kw)
        body = response.json() if response.content else None
        self.transcript.append((label, response.status_code, _normalised(body)))
        return body


async def _volunteer(
    client: AsyncTestClient, engine: AsyncEngine, name: str, at: tuple[float, float], **body: Any
) -> Person:
    person = await register(client, name)
    response = await client.put(
        "/api/v1/me/volunteer",
        json=volunteer_body(at, categories=CATEGORIES, **body),
        headers=person.headers,
    )
    assert response.status_code == 200, response.text
    # Vetted, so that sensitive requests are proposed to them too (a vetted attacker).
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers SET id_checked_at = now(), id_checked_by = user_id, "
                "record_extract_date = current_date - 30, record_checked_by = user_id "
                "WHERE user_id = :id"
            ),
            {"id": person.id},
        )
    return person


def _km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The cell-centre distance between two points' cells, in km."""
    return distance_m(cell_centre(snap(LonLat(*a), 500)), cell_centre(snap(LonLat(*b), 500))) / 1000


def _radii_around(km: float) -> list[float]:
    """Radii just inside and just outside a cell-centre distance, others up to half a
    cell's diagonal away (where the exact point may lie), and the next whole km."""
    steps = (-0.3, -0.15, -0.02, 0.02, 0.15, 0.3)
    return sorted({max(0.1, round(km + step, 2)) for step in steps} | {float(int(km) + 1)})


async def _world(
    client: AsyncTestClient, engine: AsyncEngine, target: str, fraction: tuple[float, float]
) -> list[tuple[str, int, str]]:
    """Build one world around a target placed at ``fraction`` of its cell, then let the
    attackers probe it; returns what they saw."""
    script = Script(client)
    spot = in_cell(CHATELET, 0, 0, fraction)
    # Bystanders, the same in both worlds: one in the target's cell, others around.
    await _volunteer(client, engine, "Bea", in_cell(CHATELET, 0, 0), radius_km=2)
    await _volunteer(client, engine, "Bob", in_cell(CHATELET, 2, -1), radius_km=3)
    neighbour = await register(client, "Nina")
    await client.post(
        "/api/v1/posts", json=post_body(in_cell(CHATELET, -1, 1)), headers=neighbour.headers
    )

    # The target. An offer looks for the requests already there when it is published:
    # it comes after the attackers' requests (their sensor net); the others come first.
    async def publish_target() -> None:
        if target == "volunteer_home":
            await _volunteer(client, engine, "Victime", spot, radius_km=2)
        elif target == "request":
            victim = await register(client, "Victime")
            for category in CATEGORIES:  # visite_convivialite is sensitive
                response = await client.post(
                    "/api/v1/posts",
                    json=post_body(spot, category=category, search_radius_km=2),
                    headers=victim.headers,
                )
                assert response.status_code == 201, response.text
        else:
            victim = await _volunteer(client, engine, "Victime", in_cell(CHATELET, 3, 3))
            response = await client.post(
                "/api/v1/posts",
                json=post_body(spot, kind="offer", search_radius_km=2),
                headers=victim.headers,
            )
            assert response.status_code == 201, response.text

    if target != "offer":
        await publish_target()

    # The attackers: volunteers and residents around the target's cell.
    spies = [
        await _volunteer(client, engine, f"Spy{i}", in_cell(CHATELET, dx, dy), radius_km=r)
        for i, (dx, dy, r) in enumerate([(1, 1, 0.6), (-2, 0, 1.01), (0, 3, 1.5), (0, 0, 0.1)])
    ]
    askers = [await register(client, f"Asker{i}") for i in range(2)]

    # 1. Browse at many points and radii.
    for dx, dy in [(0, 0), (1, 0), (-1, -1), (2, 2)]:
        for fx, fy in [(0.1, 0.1), (0.5, 0.5), (0.9, 0.2)]:
            origin = in_cell(CHATELET, dx, dy, (fx, fy))
            for radius in (0.3, 0.5, 0.75, 1, 1.2, 2):
                await script.call(
                    "browse",
                    "GET",
                    f"/posts?lon={origin[0]}&lat={origin[1]}&radius_km={radius}&per_page=50",
                    None,
                )

    # 2. Requests and offers with radii at the edges of the target's cell distance.
    my_requests: list[tuple[Person, int]] = []
    my_offers: list[tuple[Person, int]] = []
    for asker, (dx, dy) in zip(askers, [(1, -1), (-2, 1)], strict=True):
        place = in_cell(CHATELET, dx, dy, (0.2, 0.35))
        for radius in _radii_around(_km_between(place, spot)):
            # Three places (a batch larger than the candidates: the count of people
            # asked is the oracle) and one place (smaller: the ranking is).
            for category, needed in zip(CATEGORIES, (3, 1), strict=True):
                body = post_body(
                    place, category=category, search_radius_km=radius, volunteers_needed=needed
                )
                made = await script.call("request", "POST", "/posts", asker, json=body)
                my_requests.append((asker, made["id"]))
    for spy, (dx, dy) in zip(spies[:2], [(1, 0), (0, -2)], strict=True):
        place = in_cell(CHATELET, dx, dy, (0.8, 0.2))
        for radius in _radii_around(_km_between(place, spot)):
            body = post_body(place, kind="offer", search_radius_km=radius)
            made = await script.call("offer", "POST", "/posts", spy, json=body)
            my_offers.append((spy, made["id"]))
    if target == "offer":
        await publish_target()

    # 3. What came back: propositions (with their distance and why), answers.
    async def look() -> None:
        for spy in spies:
            await script.call("propositions", "GET", "/me/propositions?per_page=100", spy)
        for asker, post_id in my_requests:
            await script.call("answers", "GET", f"/posts/{post_id}/matches", asker)
        for spy, offer_id in my_offers:
            await script.call("offer", "GET", f"/posts/{offer_id}", spy)

    await look()

    # 4. Pause and un-pause (withdraws propositions), then look again.
    for spy in spies:
        profile = await script.call("profile", "GET", "/me/volunteer", spy)
        body = volunteer_body(
            (profile["location"]["lon"], profile["location"]["lat"]),
            categories=CATEGORIES,
            radius_km=profile["radius_km"],
        )
        for paused in (True, False):
            await script.call("pause", "PUT", "/me/volunteer", spy, json=body | {"paused": paused})
    await look()

    # 5. Withdraw and publish again, a little wider.
    republished = []
    for asker, post_id in my_requests[:4]:
        await script.call("withdraw", "POST", f"/posts/{post_id}/withdraw", asker)
        post = await script.call("post", "GET", f"/posts/{post_id}", asker)
        body = post_body(
            (post["location"]["lon"], post["location"]["lat"]),
            category=post["category"],
            search_radius_km=min(20, post["search_radius_km"] + 0.5),
        )
        made = await script.call("republish", "POST", "/posts", asker, json=body)
        republished.append((asker, made["id"]))
    my_requests += republished
    await look()
    return script.transcript


def _asked_in(transcript: list[tuple[str, int, str]]) -> int:
    return sum(
        json.loads(body)["asked"]
        for label, status, body in transcript
        if label == "answers" and status == 200
    )


@pytest.mark.parametrize("batch", [2, 10])
@pytest.mark.parametrize("target", ["volunteer_home", "request", "offer"])
async def test_moving_a_point_inside_its_cell_changes_nothing_anyone_can_observe(
    settings: Settings,
    engine: AsyncEngine,
    database: str,
    redis_url: str,
    target: str,
    batch: int,
) -> None:
    # Propositions per place: with 2, there are more candidates than places, so the
    # ranking (who is in the batch, which requests an offer gets) is observable; with
    # 10, every candidate is asked, so the count of people asked is.
    batches = msgspec.structs.replace(settings, match_batch_per_needed=batch)
    worlds = []
    for fraction in (WORLD_A, WORLD_B):
        async with AsyncTestClient(create_app(batches)) as client:
            worlds.append(await _world(client, engine, target, fraction))
        await empty_database(database)
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        await redis.aclose()
    first, second = worlds
    # The script reached real data: requests were proposed to people, propositions came.
    assert _asked_in(first) > 0
    assert any(label == "propositions" and '"items": []' not in body for label, _, body in first)
    assert len(first) == len(second)
    for seen_a, seen_b in zip(first, second, strict=True):
        assert seen_a == seen_b, f"observable difference:\n{seen_a}\n{seen_b}"


def test_the_two_worlds_really_differ_by_the_exact_point() -> None:
    """The fixture of the test above does what it says: the target's exact point moves
    by more than 300 m while its public cell stays the same."""
    a, b = (in_cell(CHATELET, 0, 0, f) for f in (WORLD_A, WORLD_B))
    assert snap(LonLat(*a), 500) == snap(LonLat(*b), 500)
    assert distance_m(LonLat(*a), LonLat(*b)) > 300
