"""The nearby listing reads only the posts a page needs (posts/reads.py, _BROWSE),
yet shows exactly what sorting every post within the radius would: same posts, same
order (nearest cell first, then newest), across pages, with many posts sharing a cell
and a page boundary falling inside a ring of cells at the same distance."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.geo.coordinates import LonLat
from voisins.geo.grid import snap
from voisins.settings import Settings

from .support.people import register
from .support.world import post_body

# Strasbourg: no other test publishes here.
CENTRE = (7.7521, 48.5734)
# Cells around it: the centre's, two at ~500 m (a ring), one at ~1 km, one beyond 2 km.
OFFSETS = [(0.0, 0.0), (0.0068, 0.0), (-0.0068, 0.0), (0.0, 0.009), (0.0, 0.03)]

# Everything within the radius, sorted: what the listing must equal.
_REFERENCE = text(
    """
    SELECT p.id FROM posts p
    WHERE p.status = 'published' AND p.expires_at > now() AND p.cell_srid = :srid
      AND ST_DWithin(p.cell_xy, ST_SetSRID(ST_MakePoint(:x, :y), 0), :radius)
    ORDER BY ST_Distance(p.cell_xy, ST_SetSRID(ST_MakePoint(:x, :y), 0)),
             p.published_at DESC, p.id DESC
    """
)


async def test_pages_of_the_nearby_listing_equal_a_full_sort(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    author = await register(client, "Odile")
    for n in range(24):
        dx, dy = OFFSETS[n % len(OFFSETS)]
        made = await client.post(
            "/api/v1/posts",
            json=post_body((CENTRE[0] + dx, CENTRE[1] + dy), title=f"Demande {n}"),
            headers=author.headers,
        )
        assert made.status_code == 201, made.text
    origin = snap(LonLat(*CENTRE), settings.grid_cell_m)
    async with engine.connect() as conn:
        expected = list(
            (
                await conn.execute(
                    _REFERENCE,
                    {"srid": origin.srid, "x": origin.centre_xy[0], "y": origin.centre_xy[1],
                     "radius": 2000.0},
                )
            ).scalars()
        )  # fmt: skip
    assert 10 < len(expected) < 24  # the far cell is out, several cells tie
    for per_page in (1, 3, 4, 7, 50):
        shown: list[int] = []
        page = 1
        while True:
            listed = await client.get(
                "/api/v1/posts",
                params={"lon": CENTRE[0], "lat": CENTRE[1], "radius_km": 2,
                        "page": page, "per_page": per_page},
            )  # fmt: skip
            assert listed.status_code == 200, listed.text
            body = listed.json()
            shown += [item["id"] for item in body["items"]]
            if not body["has_more"]:
                break
            page += 1
        assert shown == expected, per_page
