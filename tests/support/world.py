"""A small seeded neighbourhood built through the real API: two centres in Paris (18e
and 20e), an admin, a social worker per centre, residents, volunteers, an assisted
resident and posts. Every exact place is remembered so tests can hunt for leaks.
``publish_request`` is the smallest world: one volunteer and one request near her;
``confirmed_visit`` adds a sensitive visit for Odile, approved by her centre;
``admin_and_centre`` is an administrator and one centre. ``vet`` records a volunteer's
vetting (``vetting_body``); ``vetting_refused`` checks someone may not.

Over 400 lines: one neighbourhood, most of it the places and people it is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.clock import PARIS

from .matching import match_of
from .people import Person, register, staff

GOUTTE_DOR = {
    "type": "Polygon",
    "coordinates": [
        [
            [2.3480, 48.8800],
            [2.3600, 48.8800],
            [2.3600, 48.8920],
            [2.3480, 48.8920],
            [2.3480, 48.8800],
        ]
    ],
}
BELLEVILLE = {
    "type": "Polygon",
    "coordinates": [
        [
            [2.3750, 48.8650],
            [2.3950, 48.8650],
            [2.3950, 48.8780],
            [2.3750, 48.8780],
            [2.3750, 48.8650],
        ]
    ],
}
# Exact places, with the sixth decimal set so any leak is recognisable.
HOME_ALICE = (2.353117, 48.884213)  # Goutte d'Or
HOME_BASILE = (2.384561, 48.871937)  # Belleville
HOME_VERA = (2.355713, 48.886641)  # volunteer, Goutte d'Or
HOME_VICTOR = (2.381297, 48.869473)  # volunteer, Belleville
HOME_ODILE = (2.351933, 48.882457)  # assisted resident, Goutte d'Or
HOME_OUTSIDE = (2.300413, 48.840129)  # 15e, no centre
ADDRESS_ALICE = "12 rue Léon, 3e étage gauche"
ODILE_PHONE = "01 42 00 00 00"


def soon(days: float = 2, hours: float = 2) -> dict[str, str]:
    """A "once" schedule ``days`` from today at 10:00 in Paris: inside every test
    volunteer's availability (08:00-20:00) whatever the hour the suite runs at."""
    day = (datetime.now(UTC) + timedelta(days=days)).astimezone(PARIS).date()
    start = datetime.combine(day, time(10, 0), tzinfo=PARIS)
    return {
        "type": "once",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
    }


def post_body(lonlat: tuple[float, float], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "request",
        "category": "courses",
        "title": "Courses du samedi",
        "description": "Besoin d'aide pour porter les courses.",
        "location": {"lon": lonlat[0], "lat": lonlat[1]},
        "schedule": soon(),
    }
    body.update(overrides)
    return body


def volunteer_body(lonlat: tuple[float, float], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": {"lon": lonlat[0], "lat": lonlat[1]},
        "radius_km": 3,
        "categories": ["courses", "visite_convivialite", "aide_numerique"],
        "availability": [{"day": d, "start": "08:00", "end": "20:00"} for d in range(1, 8)],
        "languages": ["fr", "ar"],
    }
    body.update(overrides)
    return body


async def publish_request(client: AsyncTestClient) -> tuple[Person, Person, int]:
    """Without the seeded world: Vera volunteers at her home, Alice publishes a request
    near her (Vera, Alice, the post's id)."""
    vera = await register(client, "Vera")
    await client.put("/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers)
    alice = await register(client, "Alice")
    response = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    assert response.status_code == 201, response.text
    return vera, alice, response.json()["id"]


async def admin_and_centre(client: AsyncTestClient, engine: AsyncEngine) -> tuple[Person, int]:
    """Without the seeded world: an administrator and the Goutte d'Or centre they made."""
    admin = await staff(client, engine, role="admin")
    centre = await client.post(
        "/api/v1/centres",
        json={"name": "Centre social Goutte d'Or", "territory": GOUTTE_DOR},
        headers=admin.headers,
    )
    assert centre.status_code == 201, centre.text
    return admin, int(centre.json()["id"])


@dataclass
class World:
    admin: Person
    worker_18: Person
    worker_20: Person
    alice: Person
    basile: Person
    vera: Person
    victor: Person
    stranger: Person
    centre_18: int
    centre_20: int
    odile_id: int
    posts: dict[str, int] = field(default_factory=dict)
    exact_points: list[tuple[float, float]] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    # Filled by ``with_matches`` only.
    matches: dict[str, int] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)


async def created(response: Any) -> int:
    """The id of what ``response`` created (200 or 201)."""
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


async def build_world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    admin = await staff(client, engine, role="admin")
    centre_18 = (
        await _ok(
            await client.post(
                "/api/v1/centres",
                json={"name": "Centre social Goutte d'Or", "territory": GOUTTE_DOR},
                headers=admin.headers,
            )
        )
    )["id"]
    centre_20 = (
        await _ok(
            await client.post(
                "/api/v1/centres",
                json={"name": "Centre social Belleville", "territory": BELLEVILLE},
                headers=admin.headers,
            )
        )
    )["id"]
    worker_18 = await staff(client, engine, centre_ids=(centre_18,))
    worker_20 = await staff(client, engine, centre_ids=(centre_20,))
    alice, basile, vera, victor, stranger = [
        await register(client, name) for name in ("Alice", "Basile", "Vera", "Victor", "Sam")
    ]
    await _ok(
        await client.put(
            "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
        ),
        200,
    )
    await _ok(
        await client.put(
            "/api/v1/me/volunteer", json=volunteer_body(HOME_VICTOR), headers=victor.headers
        ),
        200,
    )
    odile = await _ok(
        await client.post(
            "/api/v1/assisted-residents",
            json={
                "display_name": "Odile",
                "phone": ODILE_PHONE,
                "vulnerability": ["isolated_elderly"],
                "consent": {
                    "method": "in_person",
                    "obtained_at": datetime.now(UTC).isoformat(),
                    "centre_id": centre_18,
                },
            },
            headers=worker_18.headers,
        )
    )
    world = World(
        admin=admin,
        worker_18=worker_18,
        worker_20=worker_20,
        alice=alice,
        basile=basile,
        vera=vera,
        victor=victor,
        stranger=stranger,
        centre_18=centre_18,
        centre_20=centre_20,
        odile_id=odile["id"],
        exact_points=[HOME_ALICE, HOME_BASILE, HOME_VERA, HOME_VICTOR, HOME_ODILE, HOME_OUTSIDE],
        addresses=[ADDRESS_ALICE],
    )
    world.posts["alice"] = (
        await _ok(
            await client.post(
                "/api/v1/posts",
                json=post_body(
                    HOME_ALICE,
                    location={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "address": ADDRESS_ALICE},
                ),
                headers=alice.headers,
            )
        )
    )["id"]
    world.posts["basile"] = (
        await _ok(
            await client.post(
                "/api/v1/posts",
                json=post_body(
                    HOME_BASILE,
                    kind="offer",
                    category="bricolage_jardinage",
                    title="Je prête ma perceuse",
                ),
                headers=basile.headers,
            )
        )
    )["id"]
    world.posts["alice_draft"] = (
        await _ok(
            await client.post(
                "/api/v1/posts", json=post_body(HOME_ALICE, publish=False), headers=alice.headers
            )
        )
    )["id"]
    world.posts["odile"] = (
        await _ok(
            await client.post(
                "/api/v1/posts",
                json=post_body(
                    HOME_ODILE,
                    category="visite_convivialite",
                    title="Une visite le mardi",
                    on_behalf_of=odile["id"],
                    schedule={"type": "weekly", "days": [2], "start": "14:00", "end": "16:00"},
                ),
                headers=worker_18.headers,
            )
        )
    )["id"]
    world.posts["outside"] = (
        await _ok(
            await client.post(
                "/api/v1/posts", json=post_body(HOME_OUTSIDE), headers=stranger.headers
            )
        )
    )["id"]
    return world


def vetting_body(extract_days_ago: int) -> dict[str, str]:
    """A vetting record: the ID checked now, a criminal-record extract of that age."""
    return {
        "id_checked_at": datetime.now(UTC).isoformat(),
        "record_extract_date": (date.today() - timedelta(days=extract_days_ago)).isoformat(),
    }


async def vetting_refused(client: AsyncTestClient, url: str, who: Person) -> None:
    """``who`` neither reads nor writes the vetting record at ``url``: 403, an error."""
    assert (await client.get(url, headers=who.headers)).status_code == 403
    written = await client.put(url, json=vetting_body(10), headers=who.headers)
    assert written.status_code == 403 and set(written.json()) == {"error", "detail", "fields"}


async def vet(client: AsyncTestClient, world: World, volunteer: Person) -> None:
    """A social worker of the Goutte d'Or records an ID check and a recent
    criminal-record extract: the volunteer may now be proposed sensitive requests."""
    await _ok(
        await client.put(
            f"/api/v1/volunteers/{volunteer.id}/vetting",
            json=vetting_body(30),
            headers=world.worker_18.headers,
        ),
        200,
    )


async def _accept(client: AsyncTestClient, world: World, volunteer: Person, match: str) -> str:
    body = await _ok(
        await client.post(
            f"/api/v1/matches/{world.matches[match]}/accept", headers=volunteer.headers
        ),
        200,
    )
    return str(body["status"])


async def with_matches(client: AsyncTestClient, engine: AsyncEngine, world: World) -> World:
    """An optional step after ``build_world``: phones for the people whose contacts
    matches exchange, Vera vetted, and matches in known states.

    - ``alice_vera``, ``alice_victor``: Alice's request proposed to both (proposed);
    - ``odile_vera_1``, ``odile_vera_2``: two sensitive visits for Odile (posted by
      worker_18), accepted by the vetted Vera: ``pending_review``;
    - ``basile_victor``: Basile's shopping request accepted by Victor: ``confirmed``
      (so ``basile_vera``, its other proposition, is ``withdrawn``).

    Every new post lies at a place the world already seeded. Propositions are made when
    a post is published, and a volunteer who accepts is not proposed anything else for
    an hour: every post is published before anyone accepts.
    """
    phones = {"alice": "06 11 11 11 11", "basile": "06 22 22 22 22"}
    phones |= {"vera": "06 33 33 33 33", "victor": "06 44 44 44 44"}
    for name, phone in phones.items():
        who: Person = getattr(world, name)
        await _ok(await client.patch("/api/v1/me", json={"phone": phone}, headers=who.headers), 200)
    world.phones.update(phones)
    await vet(client, world, world.vera)

    visit = {
        "category": "visite_convivialite",
        "on_behalf_of": world.odile_id,
        "schedule": {"type": "weekly", "days": [4], "start": "15:00", "end": "17:00"},
    }
    for n in (1, 2):
        world.posts[f"odile_{n}"] = (
            await _ok(
                await client.post(
                    "/api/v1/posts",
                    json=post_body(HOME_ODILE, title=f"Visite {n} le jeudi", **visit),
                    headers=world.worker_18.headers,
                )
            )
        )["id"]
    world.posts["basile_request"] = (
        await _ok(
            await client.post(
                "/api/v1/posts",
                json=post_body(HOME_BASILE, title="Courses lourdes"),
                headers=world.basile.headers,
            )
        )
    )["id"]
    for key, post, volunteer in (
        ("alice_vera", "alice", world.vera),
        ("alice_victor", "alice", world.victor),
        ("odile_vera_1", "odile_1", world.vera),
        ("odile_vera_2", "odile_2", world.vera),
        ("basile_victor", "basile_request", world.victor),
        ("basile_vera", "basile_request", world.vera),
    ):
        world.matches[key] = await match_of(engine, world.posts[post], volunteer.id)

    assert await _accept(client, world, world.vera, "odile_vera_1") == "pending_review"
    assert await _accept(client, world, world.vera, "odile_vera_2") == "pending_review"
    assert await _accept(client, world, world.victor, "basile_victor") == "confirmed"
    return world


async def confirmed_visit(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> tuple[int, int]:
    """Vera, vetted, says yes to a visit worker_18 posts for Odile; worker_18 approves
    it: confirmed. Returns the post and the match."""
    await vet(client, world, world.vera)
    posted = await client.post(
        "/api/v1/posts",
        json=post_body(
            HOME_ODILE,
            category="visite_convivialite",
            title="Une visite le vendredi",
            on_behalf_of=world.odile_id,
            schedule={"type": "weekly", "days": [5], "start": "10:00", "end": "12:00"},
        ),
        headers=world.worker_18.headers,
    )
    assert posted.status_code == 201, posted.text
    post_id = posted.json()["id"]
    match_id = await match_of(engine, post_id, world.vera.id)
    accepted = await client.post(f"/api/v1/matches/{match_id}/accept", headers=world.vera.headers)
    assert accepted.json()["status"] == "pending_review", accepted.text
    approved = await client.post(
        f"/api/v1/matches/{match_id}/approve",
        json={"reason": "Bénévole connue du centre"},
        headers=world.worker_18.headers,
    )
    assert approved.json()["status"] == "confirmed", approved.text
    return post_id, match_id
