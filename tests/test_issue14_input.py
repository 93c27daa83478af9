"""Crafted input (issue 14): each class of it gets a 4xx naming what was wrong, before
anything is written; and no API answer may be stored by a browser or a proxy.

Every request goes through the real app (voisins.api.edge, the schemas), and every test
counts the rows its refusals could have written, before and after.

Over 400 lines: one concern, refused input, one class of it per test."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.api.deps import DEVICE_COOKIE, SESSION_COOKIE
from voisins.posts.schemas import OnceIn
from voisins.schedule import PARIS
from voisins.web import wizard

from .support.csrf import csrf_of
from .support.people import PASSWORD, Person, login, staff
from .support.world import GOUTTE_DOR, HOME_ALICE, post_body, soon

BEYOND_BIGINT = 2**63
_numbers = itertools.count(1)


async def resident(client: AsyncTestClient) -> Person:
    """A signed-in resident (whether the address is confirmed plays no part here)."""
    email = f"crafted{next(_numbers)}@example.org"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Camille"},
    )
    assert response.status_code == 201, response.text
    return await login(client, email, response.json()["id"], "resident")


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}, body
    assert field in body["fields"], body


async def test_ids_beyond_bigint_in_a_path_are_not_found_naming_the_parameter(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await resident(client)
    posts = await count(engine, "posts")
    refused(await client.get(f"/api/v1/posts/{BEYOND_BIGINT}"), 404, "post_id")
    refused(
        await client.patch(
            f"/api/v1/posts/{BEYOND_BIGINT}", json={"title": "Autre titre"}, headers=alice.headers
        ),
        404,
        "post_id",
    )
    refused(
        await client.delete(f"/api/v1/me/blocks/{BEYOND_BIGINT}", headers=alice.headers),
        404,
        "block_id",
    )
    page = await client.get(f"/annonces/{BEYOND_BIGINT}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert await count(engine, "posts") == posts


async def test_ids_beyond_bigint_in_a_body_are_refused_naming_the_field(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await resident(client)
    before = (await count(engine, "posts"), await count(engine, "blocks"))
    refused(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ALICE, on_behalf_of=BEYOND_BIGINT),
            headers=alice.headers,
        ),
        422,
        "on_behalf_of",
    )
    refused(
        await client.post(
            "/api/v1/me/blocks", json={"post_id": BEYOND_BIGINT}, headers=alice.headers
        ),
        422,
        "post_id",
    )
    refused(
        await client.post(
            "/api/v1/me/blocks", json={"post_id": -BEYOND_BIGINT - 1}, headers=alice.headers
        ),
        422,
        "post_id",
    )
    assert (await count(engine, "posts"), await count(engine, "blocks")) == before


async def test_nul_characters_are_refused_in_every_text_input(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await resident(client)
    worker = await staff(client, engine)
    users, posts = await count(engine, "users"), await count(engine, "posts")
    refused(
        await client.post(
            "/api/v1/auth/register",
            json={"email": "nul@example.org", "password": PASSWORD, "display_name": "Ca\x00mille"},
        ),
        422,
        "display_name",
    )
    refused(
        await client.post(
            "/api/v1/auth/login", json={"email": "a\x00@example.org", "password": PASSWORD}
        ),
        422,
        "email",
    )
    refused(
        await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE, title="Cour\x00ses"), headers=alice.headers
        ),
        422,
        "title",
    )
    refused(await client.get("/api/v1/volunteers?q=ab%00cd", headers=worker.headers), 422, "q")
    # A form on the pages.
    signup = await client.get("/inscription")
    page = await client.post(
        "/inscription",
        data={
            "email": "form@example.org",
            "password": PASSWORD,
            "display_name": "Ca\x00mille",
            "_csrf_token": csrf_of(signup.text),
        },
    )
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert (await count(engine, "users"), await count(engine, "posts")) == (users, posts)


async def test_a_body_nested_too_deep_is_refused_before_decoding(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    users = await count(engine, "users")
    for depth in (40, 100_000):
        response = await client.post(
            "/api/v1/auth/register",
            content=b"[" * depth + b"]" * depth,
            headers={"Content-Type": "application/json"},
        )
        refused(response, 400, "body")
    # Unbalanced, the decoder would still recurse a level per bracket (RecursionError).
    for unclosed in (b"[" * 2000, b'{"a":' * 2000, b"[" * 2000 + b"[]"):
        response = await client.post(
            "/api/v1/auth/register",
            content=unclosed,
            headers={"Content-Type": "application/json"},
        )
        refused(response, 400, "body")
    nested = {"email": "deep@example.org", "password": PASSWORD, "display_name": "Camille"}
    for _ in range(40):
        nested = {"x": nested}
    refused(await client.post("/api/v1/auth/register", json=nested), 400, "body")
    assert await count(engine, "users") == users


async def test_a_body_that_is_not_utf8_is_refused_naming_the_body(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    users = await count(engine, "users")
    body = (
        b'{"email": "utf@example.org", "password": "' + PASSWORD.encode() + b'", '
        b'"display_name": "Cam\xffille"}'
    )
    response = await client.post(
        "/api/v1/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    refused(response, 400, "body")
    signup = await client.get("/inscription")
    form = (
        b"email=utf%40example.org&display_name=Cam\xffille&password=x&_csrf_token="
        + csrf_of(signup.text).encode()
    )
    page = await client.post(
        "/inscription",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="display_name"\r\n\r\nCam\xffille\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n'
        + csrf_of(signup.text).encode()
        + b"\r\n--XX--\r\n"
    )
    page = await client.post(
        "/inscription",
        content=multipart,
        headers={"Content-Type": "multipart/form-data; boundary=XX"},
    )
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert await count(engine, "users") == users


@pytest.mark.parametrize(
    ("preferences", "field"),
    [
        ({"channels": []}, "channels"),
        ({"channels": {"not.a.kind": ["email"]}}, "channels"),
        ({"quiet_start": "08:00\n"}, "quiet_start"),
        ({"daily_cap": "12"}, "daily_cap"),
        ({"digest": "true"}, "digest"),
    ],
)
async def test_notification_preferences_of_a_wrong_shape_are_refused(
    client: AsyncTestClient, engine: AsyncEngine, preferences: dict[str, Any], field: str
) -> None:
    alice = await resident(client)
    response = await client.put(
        "/api/v1/me/notification-preferences", json=preferences, headers=alice.headers
    )
    refused(response, 422, field)
    assert await count(engine, "notification_preferences") == 0


async def test_a_weekly_schedule_may_end_at_midnight_not_start_there(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await resident(client)
    evening = {"type": "weekly", "days": [5, 6], "start": "20:00", "end": "24:00"}
    created = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, schedule=evening), headers=alice.headers
    )
    assert created.status_code == 201, created.text
    schedule = created.json()["schedule"]
    assert (schedule["start"], schedule["end"]) == ("20:00", "23:59")
    posts = await count(engine, "posts")
    at_midnight = {"type": "weekly", "days": [5], "start": "24:00", "end": "24:00"}
    refused(
        await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE, schedule=at_midnight), headers=alice.headers
        ),
        422,
        "schedule.start",
    )
    assert await count(engine, "posts") == posts


def test_the_post_wizard_reads_a_one_off_until_24_00_as_the_next_midnight() -> None:
    values = {
        "kind": "request", "category": "courses", "title": "Courses du soir",
        "lon": str(HOME_ALICE[0]), "lat": str(HOME_ALICE[1]), "address": "12 rue Léon",
        "schedule_type": "once", "date": "2030-03-08", "start": "20:00", "end": "24:00",
    }  # fmt: skip
    schedule = wizard.post_input(values).schedule
    assert isinstance(schedule, OnceIn)
    assert schedule.ends_at == datetime(2030, 3, 9, tzinfo=PARIS)
    assert schedule.ends_at - schedule.starts_at == timedelta(hours=4)


async def test_a_trailing_newline_does_not_pass_a_pattern(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await resident(client)
    users = await count(engine, "users")
    refused(
        await client.post(
            "/api/v1/auth/register",
            json={"email": alice.email + "\n", "password": PASSWORD, "display_name": "Camille"},
        ),
        422,
        "email",
    )
    refused(
        await client.patch("/api/v1/me", json={"phone": "06 12 34 56 78\n"}, headers=alice.headers),
        422,
        "phone",
    )
    refused(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ALICE, skill_tags=["jardinage\n"], languages=["fr\n"]),
            headers=alice.headers,
        ),
        422,
        "skill_tags[0]",
    )
    assert await count(engine, "users") == users
    assert await count(engine, "posts") == 0
    me = await client.get("/api/v1/me", headers=alice.headers)
    assert me.json()["phone"] is None


async def test_a_territory_with_altitudes_is_refused_naming_the_position(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin = await staff(client, engine, role="admin")
    raised = {
        "type": GOUTTE_DOR["type"],
        "coordinates": [[[*p, 35.0] for p in ring] for ring in GOUTTE_DOR["coordinates"]],
    }
    response = await client.post(
        "/api/v1/centres", json={"name": "Centre 3D", "territory": raised}, headers=admin.headers
    )
    refused(response, 422, "territory.coordinates[0][0]")
    assert await count(engine, "centres") == 0


@pytest.mark.parametrize(
    ("starts_at", "reason"),
    [(0, "Expected `datetime`"), ("1970-01-01T00:00:00Z", "between 2000-01-01")],
)
async def test_a_schedule_from_1970_is_refused_naming_the_moment(
    client: AsyncTestClient, engine: AsyncEngine, starts_at: Any, reason: str
) -> None:
    alice = await resident(client)
    schedule = {"type": "once", "starts_at": starts_at, "ends_at": soon()["ends_at"]}
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, schedule=schedule), headers=alice.headers
    )
    refused(response, 422, "schedule.starts_at")
    assert reason in response.json()["fields"]["schedule.starts_at"]
    assert await count(engine, "posts") == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"volunteers_needed": "2"}, "volunteers_needed"),
        ({"search_radius_km": "3"}, "search_radius_km"),
        ({"language_required": "true"}, "language_required"),
        ({"schedule": {"type": "weekly", "days": ["1"], "start": "09:00", "end": "10:00"}},
         "schedule.days[0]"),
    ],
)  # fmt: skip
async def test_strings_are_not_read_as_numbers_or_booleans(
    client: AsyncTestClient, engine: AsyncEngine, change: dict[str, Any], field: str
) -> None:
    alice = await resident(client)
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, **change), headers=alice.headers
    )
    refused(response, 422, field)
    assert await count(engine, "posts") == 0


async def test_a_number_without_a_fraction_is_an_integer(client: AsyncTestClient) -> None:
    """As JSON Schema has it (the OpenAPI document's integers): 2.0 is 2, 2.5 is not."""
    alice = await resident(client)
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, volunteers_needed=2.0), headers=alice.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["volunteers_needed"] == 2
    response = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, volunteers_needed=2.5), headers=alice.headers
    )
    refused(response, 422, "volunteers_needed")


async def test_the_api_reads_json_bodies_only(client: AsyncTestClient, engine: AsyncEngine) -> None:
    alice = await resident(client)
    sessions = await count(engine, "sessions")
    users = await count(engine, "users")
    credentials = json.dumps({"email": alice.email, "password": PASSWORD})
    # A form on another site, sent as text/plain, used to log the browser in (login CSRF).
    for media_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        response = await client.post(
            "/api/v1/auth/login", content=credentials, headers={"Content-Type": media_type}
        )
        refused(response, 415, "body")
        assert "set-cookie" not in response.headers
    refused(
        await client.post(
            "/api/v1/auth/register",
            data={"email": "form@example.org", "password": PASSWORD, "display_name": "Camille"},
        ),
        415,
        "body",
    )
    refused(await client.post("/api/v1/auth/login", content=credentials, headers={}), 415, "body")
    assert await count(engine, "sessions") == sessions
    assert await count(engine, "users") == users
    # JSON under a structured-syntax suffix is JSON.
    patched = await client.patch(
        "/api/v1/me",
        content=json.dumps({"display_name": "Camille M."}),
        headers={**alice.headers, "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text


async def test_personal_answers_are_never_stored(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await resident(client)
    worker = await staff(client, engine)
    for path, person in [
        ("/api/v1/me", alice),
        ("/api/v1/me/posts", alice),
        ("/api/v1/me/notifications", alice),
        ("/api/v1/assisted-residents", worker),
    ]:
        response = await client.get(path, headers=person.headers)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["pragma"] == "no-cache", path
    # Refusals and logins too: a token or an error about someone is no more cacheable.
    logged_in = await client.post(
        "/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD}
    )
    assert logged_in.headers["cache-control"] == "no-store"
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, alice.token)
    account = await client.get("/mon-compte")
    assert account.status_code == 200
    assert account.headers["cache-control"] == "no-store"


async def test_a_body_over_the_limit_is_answered_413_with_the_request_id(
    client: AsyncTestClient, settings: Any
) -> None:
    huge = b'{"email": "' + b"a" * settings.max_body_bytes + b'"}'
    response = await client.post(
        "/api/v1/auth/login", content=huge, headers={"Content-Type": "application/json"}
    )
    refused_413 = response.json()
    assert response.status_code == 413, response.text
    assert refused_413["error"] == "payload_too_large"
    assert "x-request-id" in response.headers


async def test_ids_in_a_page_address_that_name_no_row_are_ignored(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    # "²" is a digit to str.isdigit() and not a number to int(); 2^63 is no bigint.
    worker = await staff(client, engine)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, worker.token)
    for asked in ("²", "١٢", str(2**63), "0", "-3"):
        for path in (
            f"/centre/statistiques?centre={asked}",
            f"/centre/carte?centre={asked}",
            f"/centre/verification?benevole={asked}",
        ):
            page = await client.get(path, follow_redirects=False)
            assert page.status_code < 500, (path, page.status_code)


async def test_a_string_that_never_ends_is_scanned_once(client: AsyncTestClient) -> None:
    # Escaped quotes and no closing one: the depth check's scan of strings was quadratic
    # (18 s for 80 KB, ~45 min for the 1 MB a body may have) and froze the process. Linear,
    # this takes milliseconds; the bound below leaves a wide margin for a loaded machine.
    body = b'{"a":"' + b'\\"' * 150_000
    started = time.monotonic()
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert time.monotonic() - started < 20
    refused(response, 400, "body")


async def test_a_device_cookie_of_the_client_cannot_break_a_login(
    client: AsyncTestClient,
) -> None:
    alice = await resident(client)
    client.cookies.clear()
    for cookie in ("a.\u00b2.b", "a." + "9" * 5000 + ".b"):
        # Raw bytes: httpx's cookie jar would refuse the "²" itself.
        answer = await client.post(
            "/api/v1/auth/login",
            json={"email": alice.email, "password": PASSWORD},
            headers=[(b"cookie", f"{DEVICE_COOKIE}={cookie}".encode())],
        )
        assert answer.status_code == 200, (cookie[:20], answer.status_code)
