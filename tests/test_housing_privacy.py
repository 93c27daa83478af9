"""An attacker's oracle on housing candidates: the list a social worker reads (ranked,
with bands and scores) may depend on the young person's place of study through its
public 500 m cell only. Moving the exact place across its cell — far enough that ranking
by exact distance would swap two hosts and change their whole-km score — must change
no byte of any candidates answer; moving it to a cell 2 km away does change them (so
the comparison can fail)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.geo.coordinates import LonLat
from voisins.geo.grid import distance_m, snap
from voisins.geo.sql import point_4326

from .support.housing import (
    API,
    ODILE_HOME_ADDRESS,
    STUDY_BASILE,
    end,
    host_body,
    ok,
    step,
    years_ago,
    young_body,
)
from .support.housing_documents import pdf_text
from .support.housing_world import with_housing
from .support.matching import in_cell
from .support.people import Person
from .support.world import World, build_world

# Basile's place of study near the west edge of its cell, then near the east edge.
WEST_EDGE = in_cell(STUDY_BASILE, at=(0.04, 0.5))
EAST_EDGE = in_cell(STUDY_BASILE, at=(0.96, 0.5))
# Hosts at the centres of cells 4 to the west and 4 to the east (2 km between cell
# centres either way), one 3 km north and one next door.
HOSTS = {
    "vera": in_cell(STUDY_BASILE, dx=-4),
    "victor": in_cell(STUDY_BASILE, dx=4),
    "stranger": in_cell(STUDY_BASILE, dy=6),
    "alice": in_cell(STUDY_BASILE, dy=-1),
}
# Somewhere else entirely: the cell of the western host.
FAR = in_cell(STUDY_BASILE, dx=-4, at=(0.3, 0.6))


async def _apply(client: AsyncTestClient, who: Person, body: dict[str, Any]) -> int:
    created = await ok(
        await client.post(f"{API}/housing/applications", json=body, headers=who.headers)
    )
    return int(created["id"])


async def _candidates(client: AsyncTestClient, world: World, app_ids: list[int]) -> list[bytes]:
    answers = []
    for app_id in app_ids:
        client.cookies.clear()
        response = await client.get(
            f"{API}/housing/applications/{app_id}/candidates", headers=world.worker_18.headers
        )
        assert response.status_code == 200, response.text
        answers.append(response.content)
    return answers


async def _move(engine: AsyncEngine, app_id: int, to: tuple[float, float]) -> None:
    """The exact place as the API would have stored it for ``to``: the point, and its
    public cell (unchanged within a cell)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"UPDATE housing_applications SET point = {point_4326('lon', 'lat')}, "
                "cell_key = :cell WHERE id = :id"
            ),
            {"lon": to[0], "lat": to[1], "cell": snap(LonLat(*to), 500).key, "id": app_id},
        )


async def test_candidates_depend_on_the_place_of_study_through_its_public_cell_only(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    cell = snap(LonLat(*STUDY_BASILE), 500)
    assert snap(LonLat(*WEST_EDGE), 500) == snap(LonLat(*EAST_EDGE), 500) == cell
    assert distance_m(LonLat(*WEST_EDGE), LonLat(*EAST_EDGE)) > 450
    # Ranked by exact distance, the western and eastern hosts would swap places, and
    # their whole kilometres (which the score counts) would differ.
    west, east = LonLat(*HOSTS["vera"]), LonLat(*HOSTS["victor"])
    assert distance_m(LonLat(*WEST_EDGE), west) < 1800 < 2200 < distance_m(LonLat(*WEST_EDGE), east)
    assert distance_m(LonLat(*EAST_EDGE), east) < 1800 < 2200 < distance_m(LonLat(*EAST_EDGE), west)

    world = await build_world(client, engine)
    centre = world.centre_18
    hosts = []
    for name, home in HOSTS.items():
        body = host_body(
            centre,
            birth_date=years_ago(70),
            location={"lon": home[0], "lat": home[1]},
        )
        hosts.append(await _apply(client, getattr(world, name), body))
    young = await _apply(
        client,
        world.basile,
        young_body(centre, location={"lon": WEST_EDGE[0], "lat": WEST_EDGE[1]}),
    )
    for app_id in [*hosts, young]:
        await step(client, world.worker_18, f"/housing/applications/{app_id}", "interview", 10)
    asked = [young, *hosts]

    at_west = await _candidates(client, world, asked)
    ranked = await ok(
        await client.get(
            f"{API}/housing/applications/{young}/candidates", headers=world.worker_18.headers
        ),
        200,
    )
    # Every host fits; the western and eastern ones tie (same bands, same scores) and
    # are ordered by application id, not by place.
    by_id = {c["application"]["id"]: c["fit"] for c in ranked}
    assert set(by_id) == set(hosts)
    assert by_id[hosts[0]]["score"] == by_id[hosts[1]]["score"]
    assert by_id[hosts[0]]["distance"] == by_id[hosts[1]]["distance"]
    assert by_id[hosts[0]]["distance"]["min_km"] == 2
    assert by_id[hosts[3]]["distance"]["min_km"] == 0

    await _move(engine, young, EAST_EDGE)
    assert await _candidates(client, world, asked) == at_west, "the exact place showed"
    await _move(engine, young, STUDY_BASILE)
    assert await _candidates(client, world, asked) == at_west, "the exact place showed"
    # A host's exact home, moved across its cell, shows no more.
    for fractions in ((0.03, 0.03), (0.97, 0.97)):
        await _move(engine, hosts[0], in_cell(HOSTS["vera"], at=fractions))
        assert await _candidates(client, world, asked) == at_west, "a host's home showed"
    await _move(engine, hosts[0], HOSTS["vera"])

    # Another cell, 2 km west: the answers change (the comparison above can fail).
    await _move(engine, young, FAR)
    moved = await _candidates(client, world, asked)
    assert moved != at_west
    near = await ok(
        await client.get(
            f"{API}/housing/applications/{young}/candidates", headers=world.worker_18.headers
        ),
        200,
    )
    assert near[0]["application"]["id"] == hosts[0]
    assert near[0]["fit"]["distance"]["min_km"] == 0


async def test_once_a_pair_ends_its_young_person_no_longer_reads_the_hosts_address(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await with_housing(client, world)
    pair = f"/housing/pairs/{housing.pair}"
    await step(client, world.worker_18, pair, "meeting", 2)
    charter = await ok(
        await client.post(
            f"{API}{pair}/documents", json={"kind": "charter"}, headers=world.worker_18.headers
        )
    )
    document = f"{API}{pair}/documents/{charter['id']}"
    during = await client.get(document, headers=world.basile.headers)
    assert during.status_code == 200 and ODILE_HOME_ADDRESS in pdf_text(during.content)
    await end(client, world.worker_18, pair, "young_request")
    ended = await ok(await client.get(f"{API}{pair}", headers=world.basile.headers), 200)
    assert ended["status"] == "ended" and ended["host_address"] is None
    after = await client.get(document, headers=world.basile.headers)
    unknown = await client.get(
        f"{API}{pair}/documents/{charter['id'] + 1000}", headers=world.basile.headers
    )
    assert after.status_code == 404 and after.content == unknown.content
    assert ended["documents"] == []
    # The centre keeps them.
    kept = await client.get(document, headers=world.worker_18.headers)
    assert kept.status_code == 200 and ODILE_HOME_ADDRESS in pdf_text(kept.content)


async def test_withdrawing_tells_a_person_nothing_of_a_proposal_they_were_not_told_of(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """Basile withdraws while the centre has proposed him to Odile (he was not told):
    his answer is the one he would have had without the proposal."""
    world = await build_world(client, engine)
    housing = await with_housing(client, world)
    url = f"{API}/housing/applications/{housing.young}"
    before = await ok(await client.get(url, headers=world.basile.headers), 200)
    withdrawn = await ok(await client.post(f"{url}/withdraw", headers=world.basile.headers), 200)
    assert withdrawn == {**before, "status": "withdrawn"}
    pairs = await ok(await client.get(f"{API}/housing/pairs", headers=world.basile.headers), 200)
    assert pairs == []
    # The centre sees the proposal ended with his withdrawal, and Odile's open again.
    pair = await ok(
        await client.get(f"{API}/housing/pairs/{housing.pair}", headers=world.worker_18.headers),
        200,
    )
    assert pair["status"] == "ended" and pair["end_reason"] == "young_request"
    odile = await ok(
        await client.get(
            f"{API}/housing/applications/{housing.host}", headers=world.worker_18.headers
        ),
        200,
    )
    assert odile["status"] == "open"
