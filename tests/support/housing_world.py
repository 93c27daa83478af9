"""Intergenerational housing added to the seeded world (tests/support/world.py) for the
outsider tests: the privacy sweep, the access matrix and the fuzzer.

- ``host``: Odile (assisted, 78) hosts at home, recorded by worker_18; ``young``: Basile
  (22) applies himself, his place of study given with its address. Both are vetted and
  ``pair`` proposes them to each other (not introduced yet: neither is told).
- ``host_2``: Jeanne (assisted, 81) and ``young_2``: Alice (25, at her home), both
  interviewed, not paired: a social worker may propose them.
- ``spare_young``: Victor's application (open), which may be withdrawn.

Every exact place and address is appended to the world's lists, so that leak scanners
hunt for them; birth dates are kept for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar.testing import AsyncTestClient

from .housing import (
    API,
    ODILE_HOME_ADDRESS,
    STUDY_BASILE,
    host_body,
    ok,
    step,
    years_ago,
    young_body,
)
from .world import ADDRESS_ALICE, HOME_ALICE, World

# The address of Basile's place of study: private like any exact place.
STUDY_ADDRESS = "Grands Moulins, bâtiment A, bureau 412"
# Jeanne's home (Goutte d'Or), far enough from every seeded place not to be mistaken.
HOME_JEANNE = (2.357311, 48.889517)
# Where applicants who give no real place say they study (1er arrondissement).
ELSEWHERE = (2.337001, 48.860002)


@dataclass
class HousingWorld:
    host: int
    young: int
    pair: int
    host_2: int
    young_2: int
    spare_young: int
    jeanne_id: int
    # Who was born when (ISO dates), as the applications say.
    birth_dates: dict[str, str] = field(default_factory=dict)

    @property
    def applications(self) -> list[int]:
        return [self.host, self.young, self.host_2, self.young_2, self.spare_young]


async def _apply(client: AsyncTestClient, who: Any, body: dict[str, Any]) -> int:
    created = await ok(await client.post(f"{API}/housing/applications", json=body, headers=who))
    return int(created["id"])


async def with_housing(
    client: AsyncTestClient, world: World, *, propose: bool = True
) -> HousingWorld:
    """The applications above, vetted; ``pair`` proposed unless ``propose`` is False
    (then it is 0: the caller proposes it)."""
    centre = world.centre_18
    worker = world.worker_18.headers
    jeanne = await ok(
        await client.post(
            f"{API}/assisted-residents",
            json={
                "display_name": "Jeanne",
                "consent": {
                    "method": "in_person",
                    "obtained_at": datetime.now(UTC).isoformat(),
                    "centre_id": centre,
                },
            },
            headers=worker,
        )
    )
    births = {
        "odile": years_ago(78),
        "basile": years_ago(22),
        "jeanne": years_ago(81),
        "alice": years_ago(25),
        "victor": years_ago(27),
    }
    host = await _apply(
        client, worker, host_body(centre, world.odile_id, birth_date=births["odile"])
    )
    study = {"lon": STUDY_BASILE[0], "lat": STUDY_BASILE[1], "address": STUDY_ADDRESS}
    young = await _apply(
        client,
        world.basile.headers,
        young_body(centre, location=study, birth_date=births["basile"]),
    )
    host_2 = await _apply(
        client,
        worker,
        host_body(
            centre,
            jeanne["id"],
            birth_date=births["jeanne"],
            location={"lon": HOME_JEANNE[0], "lat": HOME_JEANNE[1]},
            formulas=["free_presence"],
            monthly_eur=0,
        ),
    )
    alice_home = {"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "address": ADDRESS_ALICE}
    young_2 = await _apply(
        client,
        world.alice.headers,
        young_body(centre, location=alice_home, birth_date=births["alice"], occupation="worker"),
    )
    spare = await _apply(
        client,
        world.victor.headers,
        young_body(
            centre,
            location={"lon": ELSEWHERE[0], "lat": ELSEWHERE[1]},
            birth_date=births["victor"],
        ),
    )
    for point in (STUDY_BASILE,):
        if point not in world.exact_points:
            world.exact_points.append(point)
    for address in (ODILE_HOME_ADDRESS, STUDY_ADDRESS):
        if address not in world.addresses:
            world.addresses.append(address)
    for app_id, kinds in (
        (host, ("interview", "home_visit")),
        (young, ("interview", "references")),
        (host_2, ("interview",)),
        (young_2, ("interview",)),
    ):
        for kind in kinds:
            await step(client, world.worker_18, f"/housing/applications/{app_id}", kind, 40)
    pair = 0
    if propose:
        proposed = await ok(
            await client.post(
                f"{API}/housing/pairs",
                json={"host_application_id": host, "young_application_id": young},
                headers=worker,
            )
        )
        pair = int(proposed["id"])
    return HousingWorld(
        host=host,
        young=young,
        pair=pair,
        host_2=host_2,
        young_2=young_2,
        spare_young=spare,
        jeanne_id=int(jeanne["id"]),
        birth_dates=births,
    )
