"""Object-level access: for every endpoint that names an object, another person's token
gets 403/404 with the error shape and none of the object's data, and the object is
unchanged; the owner (or the role the design names) succeeds, which proves the route
works. Staff who have not proven their second factor get 403 beyond their own account.
Clients cannot set what the server decides (mass assignment): role, sensitivity,
vetting, status, centre, author or someone else's place.

Over 400 lines: one property, checked on every endpoint that names an object.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.settings import Settings

from .notify.sse import next_event, sse_events
from .support.entitlement import PLACES, VIEWERS, headers_of
from .support.housing import ODILE_HOME_ADDRESS, in_days
from .support.housing_world import STUDY_ADDRESS, with_housing
from .support.leak_scanner import location_leaks, reveals
from .support.people import PASSWORD
from .support.privacy_call_plan import NOWHERE, READS, WRITES, Call, Ctx, spec_operations
from .support.privacy_sweep import make_ctx, send
from .support.roles import with_conversations
from .support.servers import serving
from .support.sign_in import half_logged_in
from .support.world import (
    ADDRESS_ALICE,
    HOME_ALICE,
    HOME_ODILE,
    HOME_VERA,
    ODILE_PHONE,
    World,
    build_world,
    post_body,
    volunteer_body,
    with_matches,
)

API = "/api/v1"
ERROR_KEYS = {"error", "detail", "fields"}


async def call(
    client: AsyncTestClient, world: World, viewer: str, method: str, url: str, body: Any = None
) -> Any:
    client.cookies.clear()  # an anonymous call must not ride on the last login's cookie
    return await client.request(method, API + url, json=body, headers=headers_of(world, viewer))


def assert_error(response: Any, statuses: set[int], *secrets: str) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["error"], str) and isinstance(body["detail"], str)
    assert isinstance(body["fields"], dict)
    for secret in secrets:
        assert secret not in response.text, f"{secret!r} in {response.text}"
    assert not location_leaks(body, PLACES.values())
    return body


def assert_refused(response: Any, viewer: str, *secrets: str) -> None:
    """403/404 for another person; anonymous callers may also get 401."""
    statuses = {401, 403, 404} if viewer == "anonymous" else {403, 404}
    assert_error(response, statuses, *secrets)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


# ---------------------------------------------------------------------------------------
# Posts
# ---------------------------------------------------------------------------------------


async def test_other_people_cannot_read_drafts_or_change_posts(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    posts = world.posts

    async def owner_view(post: str, owner: str) -> dict[str, Any]:
        return await ok(await call(client, world, owner, "GET", f"/posts/{posts[post]}"))

    # (post, who owns or acts for it, action, body) in an order where each one still
    # applies: the draft is read before it is published, edits come before closing.
    cases: list[tuple[str, str, str, str, dict[str, Any] | None]] = [
        ("alice_draft", "alice", "GET", "", None),
        ("alice", "alice", "PATCH", "", {"title": "Titre piraté"}),
        ("odile", "worker_18", "PATCH", "", {"title": "Titre piraté"}),
        ("alice_draft", "alice", "POST", "/publish", None),
        ("alice", "alice", "POST", "/withdraw", None),
        ("basile", "basile", "POST", "/close", {"reason": "Fermé par un autre"}),
        ("odile", "worker_18", "POST", "/close", {"reason": "Fermé par un autre"}),
    ]
    # Seeing the exact place of a draft is also the covering centre's social workers' right.
    also_allowed = {("alice_draft", "GET"): {"worker_18"}}
    for post, owner, method, action, body in cases:
        url = f"/posts/{posts[post]}{action}"
        before = await owner_view(post, owner)
        secrets = (before["title"], before["cell"]["key"], f"{before['location']['lon']:.6f}")
        allowed = also_allowed.get((post, method), set())
        for viewer in VIEWERS:
            if viewer == owner:
                continue
            response = await call(client, world, viewer, method, url, body)
            if viewer in allowed:
                assert response.status_code == 200, response.text
                continue
            assert_refused(response, viewer, *secrets)
        assert await owner_view(post, owner) == before, f"{method} {url} changed the post"

        mine = {"title": "Mon titre"} if method == "PATCH" else body
        done = await ok(await call(client, world, owner, method, url, mine))
        assert done["id"] == posts[post] and "location" in done
        expected = {"/publish": "published", "/withdraw": "withdrawn", "/close": "closed"}
        if action:
            assert done["status"] == expected[action]
        if method == "PATCH":
            assert done["title"] == "Mon titre"

    # A published post is public, but only as its public view.
    for viewer in VIEWERS:
        if viewer == "basile":
            continue
        public = await ok(await call(client, world, viewer, "GET", f"/posts/{posts['basile']}"))
        if viewer == "worker_20":  # the covering centre of Basile's post
            assert reveals(public, PLACES["basile"])
            continue
        hidden = {"location", "author_id", "created_by", "beneficiary", "search_radius_km"}
        assert not hidden & set(public), public
        assert not location_leaks(public, PLACES.values())


# ---------------------------------------------------------------------------------------
# People: assisted residents, vetting, volunteer profiles
# ---------------------------------------------------------------------------------------


async def test_assisted_residents_vetting_and_volunteer_homes_are_not_other_peoples(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    odile_url = f"/assisted-residents/{world.odile_id}"
    secrets = ("Odile", "01 42 00 00 00")

    def consent(centre_id: int) -> dict[str, Any]:
        return {
            "method": "phone",
            "obtained_at": datetime.now(UTC).isoformat(),
            "centre_id": centre_id,
        }

    before = await ok(await call(client, world, "worker_18", "GET", odile_url))
    assert before["display_name"] == "Odile" and len(before["consents"]) == 1
    for viewer in VIEWERS:
        if viewer == "worker_18":
            continue
        assert_refused(await call(client, world, viewer, "GET", odile_url), viewer, *secrets)
        # worker_20 tries with its own centre too: the resident is still not theirs.
        for centre_id in {world.centre_18, world.centre_20}:
            response = await call(
                client, world, viewer, "POST", f"{odile_url}/consents", consent(centre_id)
            )
            assert_refused(response, viewer, *secrets)
        listed = await call(client, world, viewer, "GET", "/assisted-residents")
        assert "Odile" not in listed.text
        if listed.status_code == 200:
            assert viewer == "worker_20" and listed.json()["items"] == []
        else:
            assert_refused(listed, viewer)
    assert await ok(await call(client, world, "worker_18", "GET", odile_url)) == before
    recorded = await ok(
        await call(
            client, world, "worker_18", "POST", f"{odile_url}/consents", consent(world.centre_18)
        )
    )
    assert len(recorded["consents"]) == 2

    # Vetting: written by social workers only; never by the volunteer themselves.
    vetting_url = f"/volunteers/{world.vera.id}/vetting"
    extract = (date.today() - timedelta(days=30)).isoformat()
    vetting = {"id_checked_at": datetime.now(UTC).isoformat(), "record_extract_date": extract}
    vera_before = await ok(await call(client, world, "vera", "GET", "/me/volunteer"))
    assert vera_before["vetting"]["id_checked_at"] is None
    # The social workers of Vera's territory (the Goutte d'Or) vet her; Belleville's
    # worker neither reads nor writes her record; an administrator reads it only.
    for viewer in ("anonymous", "alice", "basile", "vera", "stranger", "admin", "worker_20"):
        assert_refused(await call(client, world, viewer, "PUT", vetting_url, vetting), viewer)
    assert_refused(await call(client, world, "worker_20", "GET", vetting_url), "worker_20")
    assert (await ok(await call(client, world, "admin", "GET", vetting_url)))["vetted"] is False
    assert await ok(await call(client, world, "vera", "GET", "/me/volunteer")) == vera_before
    vetted = await ok(await call(client, world, "worker_18", "PUT", vetting_url, vetting))
    assert vetted["vetted"] is True and vetted["record_extract_date"] == extract
    vera_after = await ok(await call(client, world, "vera", "GET", "/me/volunteer"))
    assert vera_after["vetting"]["vetted"] is True

    # My volunteer profile holds my exact home: only I read it.
    assert reveals(vera_after, PLACES["vera"])
    for viewer in VIEWERS:
        if viewer == "vera":
            continue
        response = await call(client, world, viewer, "GET", "/me/volunteer")
        if viewer == "victor":  # another volunteer reads his own profile, not hers
            own = await ok(response)
            assert own["user_id"] == world.victor.id and reveals(own, PLACES["victor"])
            assert not reveals(own, PLACES["vera"])
            continue
        assert_refused(response, viewer)
        assert not reveals(response.json(), PLACES["vera"])


# ---------------------------------------------------------------------------------------
# Centres and staff accounts
# ---------------------------------------------------------------------------------------


async def test_centres_and_staff_accounts_are_administered_by_administrators(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    c18, c20 = world.centre_18, world.centre_20
    not_admins = [v for v in VIEWERS if v != "admin"]

    async def centre(centre_id: int) -> dict[str, Any]:
        return await ok(await call(client, world, "anonymous", "GET", f"/centres/{centre_id}"))

    async def my_centres(viewer: str) -> list[int]:
        return (await ok(await call(client, world, viewer, "GET", "/me")))["centre_ids"]

    before = await centre(c18)
    assert await my_centres("worker_20") == [c20]
    staff_email = "nouvelle.ts@example.org"
    new_staff = {
        "email": staff_email,
        "display_name": "Nouvelle TS",
        "password": PASSWORD,
        "role": "social_worker",
        "centre_id": c18,
    }
    for viewer in not_admins:
        for method, url, body in (
            ("PATCH", f"/centres/{c18}", {"name": "Centre piraté"}),
            ("PATCH", f"/centres/{c18}", {"moderation_level": "none"}),
            ("POST", f"/centres/{c18}/members", {"user_id": world.worker_20.id}),
            ("POST", f"/centres/{c18}/partners", {"partner_id": c20}),
            ("POST", "/admin/users", new_staff),
        ):
            response = await call(client, world, viewer, method, url, body)
            assert_refused(response, viewer, staff_email)
    assert await centre(c18) == before
    assert await my_centres("worker_20") == [c20]

    # The administrator does each of these.
    renamed = await ok(
        await call(client, world, "admin", "PATCH", f"/centres/{c18}", {"name": "CS Goutte d'Or"})
    )
    assert renamed["name"] == "CS Goutte d'Or"
    created = await ok(await call(client, world, "admin", "POST", "/admin/users", new_staff), 201)
    # The refused attempts created nothing: the e-mail address was still free.
    assert created["email"] == staff_email and created["centre_ids"] == [c18]
    partnered = await ok(
        await call(client, world, "admin", "POST", f"/centres/{c18}/partners", {"partner_id": c20})
    )
    assert partnered["partner_ids"] == [c20]
    for viewer in not_admins:
        response = await call(client, world, viewer, "DELETE", f"/centres/{c18}/partners/{c20}")
        assert_refused(response, viewer)
    assert (await centre(c18))["partner_ids"] == [c20]
    unpartnered = await ok(
        await call(client, world, "admin", "DELETE", f"/centres/{c18}/partners/{c20}")
    )
    assert unpartnered["partner_ids"] == []

    # A centre's own admin may change its moderation level, and nothing else.
    member = await ok(
        await call(
            client,
            world,
            "admin",
            "POST",
            f"/centres/{c18}/members",
            {"user_id": world.worker_18.id, "member_role": "centre_admin"},
        )
    )
    assert member == {
        "centre_id": c18,
        "user_id": world.worker_18.id,
        "member_role": "centre_admin",
    }
    level = {"moderation_level": "all_posts"}
    changed = await ok(await call(client, world, "worker_18", "PATCH", f"/centres/{c18}", level))
    assert changed["moderation_level"] == "all_posts"
    for url, body in ((f"/centres/{c18}", {"name": "Autre nom"}), (f"/centres/{c20}", level)):
        assert_refused(await call(client, world, "worker_18", "PATCH", url, body), "worker_18")
    assert (await centre(c20))["moderation_level"] == "sensitive_only"


# ---------------------------------------------------------------------------------------
# Staff without their second factor
# ---------------------------------------------------------------------------------------

# /auth/* and GET /me work with a session that has not proven TOTP (or with none).
AUTH_AND_ME = {
    "register",
    "login",
    "logout",
    "totpSetup",
    "totpEnable",
    "passwordResetRequest",
    "passwordResetConfirm",
    "emailConfirm",
    "getMe",
}
# Public reads: such a session is answered exactly as an anonymous caller.
PUBLIC = {
    "healthLive",
    "healthReady",
    "listCentres",
    "getCentre",
    "browsePosts",
    "getPost",
    # Authenticated by the signed token of the mail's link, not by a session.
    "unsubscribe",
    "unsubscribePage",
}


# A page's form token and script nonce are fresh for every response, whoever asks.
_PER_RESPONSE = re.compile(rb'(name="_csrf_token" value="|nonce=")[^"]*"')


def _same_bytes(content: bytes) -> bytes:
    return _PER_RESPONSE.sub(rb'\1"', content)


async def test_staff_without_second_factor_get_403_beyond_their_own_account(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    ctx: Ctx = await make_ctx(client, engine)
    world = ctx.world
    ops = await spec_operations(client)
    for op_id in AUTH_AND_ME:
        path = ops[op_id].path
        assert path.startswith(f"{API}/auth/") or (op_id == "getMe" and path == f"{API}/me")
    assert set(ops) >= PUBLIC
    # Every other operation must refuse: a new endpoint is refused by default.
    guarded = sorted(set(ops) - AUTH_AND_ME - PUBLIC)
    assert "updateMe" in guarded and "createPost" in guarded

    sessions = {
        "worker_18": await half_logged_in(client, engine, centre_ids=(world.centre_18,)),
        "admin": await half_logged_in(client, engine, role="admin"),
    }
    for as_role, half in sessions.items():
        for op_id in [*sorted(PUBLIC), *guarded]:
            # Operations without a sweep plan (the endless event stream, suspension) are
            # called with every path parameter set to 1: the refusal comes first.
            plan = READS.get(op_id) or WRITES.get(op_id)
            if plan is None:
                params = re.findall(r"\{(\w+)", ops[op_id].path)
                planned_calls = [Call(dict.fromkeys(params, 1))]
            else:
                planned_calls = plan(ctx, as_role)
            assert planned_calls, f"{op_id}: no call planned, nothing checked"
            for planned in planned_calls:
                response = await send(client, ops[op_id], planned, half.headers)
                if op_id in PUBLIC:
                    # Drafts of worker_18's centre included: they get 404 like anyone.
                    anonymous = await send(client, ops[op_id], planned, {})
                    assert response.status_code == anonymous.status_code, op_id
                    if not op_id.startswith("health"):
                        assert _same_bytes(response.content) == _same_bytes(anonymous.content), (
                            op_id
                        )
                    continue
                body = assert_error(response, {403})
                assert "second factor" in body["detail"], (op_id, body)

        client.cookies.clear()
        me = await ok(await client.get(f"{API}/me", headers=half.headers))
        assert me["id"] == half.id and me["second_factor_enabled"] is False
        setup = await ok(await client.post(f"{API}/auth/totp/setup", headers=half.headers))
        assert setup["otpauth_uri"].startswith("otpauth://")
        await ok(await client.post(f"{API}/auth/logout", headers=half.headers))


# ---------------------------------------------------------------------------------------
# Matches
# ---------------------------------------------------------------------------------------


async def test_propositions_and_matches_belong_to_their_two_sides(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await with_matches(client, engine, await build_world(client, engine))
    m, posts = world.matches, world.posts
    secrets = (
        world.alice.email,
        world.vera.email,
        world.victor.email,
        world.basile.email,
        *world.phones.values(),
        ADDRESS_ALICE,
        ODILE_PHONE,
    )
    volunteer_of = {
        "alice_vera": "vera",
        "alice_victor": "victor",
        "odile_vera_1": "vera",
        "odile_vera_2": "vera",
        "basile_victor": "victor",
    }

    async def snapshot(match: str) -> tuple[Any, Any]:
        """The match as its volunteer reads it, and its history: both must stay put
        through every refused attempt."""
        volunteer = volunteer_of[match]
        return (
            await ok(await call(client, world, volunteer, "GET", f"/me/propositions/{m[match]}")),
            await ok(await call(client, world, volunteer, "GET", f"/matches/{m[match]}/history")),
        )

    async def refused_for_all_but(
        allowed: set[str], method: str, url: str, body: Any = None, match: str | None = None
    ) -> None:
        before = await snapshot(match) if match else None
        for viewer in VIEWERS:
            if viewer in allowed:
                continue
            response = await call(client, world, viewer, method, url, body)
            assert_refused(response, viewer, *secrets)
        if match:
            assert await snapshot(match) == before, f"{method} {url} changed the match"

    # Propositions are their volunteer's alone.
    for match, volunteer in volunteer_of.items():
        url = f"/me/propositions/{m[match]}"
        await refused_for_all_but({volunteer}, "GET", url)
    for viewer in VIEWERS:
        response = await call(client, world, viewer, "GET", "/me/propositions?active=false")
        if viewer == "anonymous":
            assert_error(response, {401})
            continue
        mine = {item["id"] for item in (await ok(response))["items"]}
        theirs = {m[k] for k, v in volunteer_of.items() if v == viewer}
        if viewer == "vera":
            theirs.add(m["basile_vera"])  # withdrawn when Victor filled the place
        assert mine == theirs, viewer

    # Only the proposed volunteer declines or accepts; nobody else moves the match.
    for action in ("decline", "accept"):
        for match in ("alice_victor", "alice_vera"):
            url = f"/matches/{m[match]}/{action}"
            await refused_for_all_but({volunteer_of[match]}, "POST", url, match=match)
    declined = await ok(
        await call(client, world, "victor", "POST", f"/matches/{m['alice_victor']}/decline")
    )
    assert declined == {"id": m["alice_victor"], "status": "declined"}
    accepted = await ok(
        await call(client, world, "vera", "POST", f"/matches/{m['alice_vera']}/accept")
    )
    assert accepted == {"id": m["alice_vera"], "status": "confirmed"}

    # Following a request: its author and the social workers who act for them or cover
    # its place; no other resident, no other centre, not the administrator.
    followers = {
        "alice": {"alice", "worker_18"},
        "odile_1": {"worker_18"},
        "basile_request": {"basile", "worker_20"},
    }
    for post, allowed in followers.items():
        url = f"/posts/{posts[post]}/matches"
        await refused_for_all_but(allowed, "GET", url)
        for viewer in allowed:
            items = (await ok(await call(client, world, viewer, "GET", url)))["answers"]
            assert items and all(i["id"] in m.values() for i in items)
    # A match's history: its volunteer and the request's followers.
    for match, post in (("alice_vera", "alice"), ("basile_victor", "basile_request")):
        allowed = followers[post] | {volunteer_of[match]}
        url = f"/matches/{m[match]}/history"
        await refused_for_all_but(allowed, "GET", url)
        for viewer in allowed:
            history = await ok(await call(client, world, viewer, "GET", url))
            assert [h["to_status"] for h in history][:2] == ["proposed", "accepted"]

    # Review: only the covering centre's social workers (worker_18 also acts for Odile).
    # The volunteer does not approve herself; another centre's worker gets 403.
    for action, match in (("approve", "odile_vera_1"), ("reject", "odile_vera_2")):
        url = f"/matches/{m[match]}/{action}"
        reason = {"reason": "Vu au centre"}
        await refused_for_all_but({"worker_18"}, "POST", url, reason, match=match)
        other_centre = await call(client, world, "worker_20", "POST", url, reason)
        assert_error(other_centre, {403}, *secrets)
        assert (await snapshot(match))[0]["status"] == "pending_review"
    approved = await ok(
        await call(
            client,
            world,
            "worker_18",
            "POST",
            f"/matches/{m['odile_vera_1']}/approve",
            {"reason": "Bénévole vérifiée"},
        )
    )
    assert approved["status"] == "confirmed"
    rejected = await ok(
        await call(
            client,
            world,
            "worker_18",
            "POST",
            f"/matches/{m['odile_vera_2']}/reject",
            {"reason": "Une visite à la fois"},
        )
    )
    assert rejected["status"] == "rejected"

    # Completing, thanking and cancelling are the two sides' (cancelling also the
    # covering centre's social workers').
    both_sides = {"alice", "vera"}
    complete_url = f"/matches/{m['alice_vera']}/complete"
    await refused_for_all_but(both_sides, "POST", complete_url, match="alice_vera")
    cancel_url = f"/matches/{m['basile_victor']}/cancel"
    await refused_for_all_but(
        {"basile", "victor", "worker_20"},
        "POST",
        cancel_url,
        {"reason": "Pas moi"},
        match="basile_victor",
    )
    assert (await ok(await call(client, world, "alice", "POST", complete_url)))[
        "status"
    ] == "completed"
    feedback_url = f"/matches/{m['alice_vera']}/feedback"
    thanks = {"kind": "thanks", "comment": "Merci"}
    await refused_for_all_but(both_sides, "POST", feedback_url, thanks, match="alice_vera")
    for viewer in both_sides:
        given = await ok(await call(client, world, viewer, "POST", feedback_url, thanks), 201)
        assert given["match_id"] == m["alice_vera"] and given["kind"] == "thanks"
    cancelled = await ok(
        await call(client, world, "victor", "POST", cancel_url, {"reason": "Empêchement"})
    )
    assert cancelled["status"] == "cancelled"


async def test_a_proposition_of_a_closed_or_withdrawn_request_cannot_be_accepted(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    posts = world.posts
    published = await ok(
        await call(client, world, "alice", "POST", f"/posts/{posts['alice_draft']}/publish")
    )
    assert published["status"] == "published"
    await ok(
        await call(
            client, world, "alice", "POST", f"/posts/{posts['alice']}/close", {"reason": "Fini"}
        )
    )
    await ok(await call(client, world, "alice", "POST", f"/posts/{posts['alice_draft']}/withdraw"))
    listed = await ok(await call(client, world, "vera", "GET", "/me/propositions?active=false"))
    mine = {item["post"]["id"]: item["id"] for item in listed["items"]}
    assert set(mine) == {posts["alice"], posts["alice_draft"]}
    for post in ("alice", "alice_draft"):
        response = await call(client, world, "vera", "POST", f"/matches/{mine[posts[post]]}/accept")
        assert_error(response, {409}, ADDRESS_ALICE, world.alice.email)
        seen = await ok(
            await call(client, world, "vera", "GET", f"/me/propositions/{mine[posts[post]]}")
        )
        assert seen["location"] is None and seen["requester"] is None
        assert not reveals(seen, PLACES["alice"])


# ---------------------------------------------------------------------------------------
# Mass assignment
# ---------------------------------------------------------------------------------------


async def test_clients_cannot_set_what_the_server_decides(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)

    async def count_posts() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM posts"))).scalar_one())

    posts_before = await count_posts()
    cell = {"key": "2154:500:1305:13730", "lon": 2.355672, "lat": 48.88553}
    for name, value in {
        "sensitive": False,
        "status": "matched",
        "author_id": world.basile.id,
        "created_by": world.worker_18.id,
        "centre_ids": [world.centre_20],
        "cell": cell,
        "point": {"lon": HOME_ODILE[0], "lat": HOME_ODILE[1]},
        "published_at": datetime.now(UTC).isoformat(),
        "id": 1,
    }.items():
        response = await call(
            client, world, "alice", "POST", "/posts", {**post_body(HOME_ALICE), name: value}
        )
        body = assert_error(response, {422})
        assert name in body["detail"], body
    nested = post_body(HOME_ALICE, location={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "cell": 1})
    body = assert_error(await call(client, world, "alice", "POST", "/posts", nested), {422})
    assert "location.cell" in body["fields"]
    assert await count_posts() == posts_before

    # Sensitivity is computed by the server.
    async def create(**overrides: Any) -> dict[str, Any]:
        return await ok(
            await call(
                client, world, "alice", "POST", "/posts", post_body(HOME_ALICE, **overrides)
            ),
            201,
        )

    assert (await create())["sensitive"] is False
    assert (await create(beneficiary=["isolated_elderly"]))["sensitive"] is True
    housing = await create(category="hebergement_intergenerationnel", title="Une chambre")
    assert housing["sensitive"] is True
    public = await ok(await call(client, world, "anonymous", "GET", f"/posts/{housing['id']}"))
    assert public["sensitive"] is True

    # An edit cannot move a post, reassign it or change its status or sensitivity.
    url = f"/posts/{world.posts['alice']}"
    post_before = await ok(await call(client, world, "alice", "GET", url))
    for change in (
        {"status": "closed"},
        {"sensitive": True},
        {"location": {"lon": HOME_VERA[0], "lat": HOME_VERA[1]}},
        {"author_id": world.basile.id},
        {"centre_ids": [world.centre_20]},
        {"cell": cell},
    ):
        body = assert_error(await call(client, world, "alice", "PATCH", url, change), {422})
        assert next(iter(change)) in body["detail"], body
    assert await ok(await call(client, world, "alice", "GET", url)) == post_before

    # Nobody chooses their role, centres, vulnerability flags or second factor.
    me_before = await ok(await call(client, world, "alice", "GET", "/me"))
    for name, value in {
        "role": "admin",
        "centre_ids": [world.centre_18],
        "assisted": True,
        "vulnerability": [],
        "second_factor_enabled": True,
    }.items():
        body = assert_error(
            await call(client, world, "alice", "PATCH", "/me", {name: value}), {422}
        )
        assert name in body["detail"], body
    assert await ok(await call(client, world, "alice", "GET", "/me")) == me_before
    assert me_before["role"] == "resident" and me_before["centre_ids"] == []

    # Volunteers do not vet themselves, nor write someone else's home.
    profile_before = await ok(await call(client, world, "vera", "GET", "/me/volunteer"))
    for name, value in {
        "id_checked_at": datetime.now(UTC).isoformat(),
        "record_extract_date": date.today().isoformat(),
        "vetting": {"vetted": True},
        "vetted": True,
        "user_id": world.alice.id,
        "cell_key": cell["key"],
    }.items():
        response = await call(
            client,
            world,
            "vera",
            "PUT",
            "/me/volunteer",
            {**volunteer_body(HOME_VERA), name: value},
        )
        body = assert_error(response, {422})
        assert name in body["detail"], body
    assert await ok(await call(client, world, "vera", "GET", "/me/volunteer")) == profile_before
    vetting = {"id_checked_at": datetime.now(UTC).isoformat()}
    for resident in ("vera", "alice"):
        response = await call(
            client, world, resident, "PUT", f"/volunteers/{world.vera.id}/vetting", vetting
        )
        assert_error(response, {403})
    assert await ok(await call(client, world, "vera", "GET", "/me/volunteer")) == profile_before

    # Posting for someone else needs a consent recorded through one of your centres.
    posts_before = await count_posts()
    for viewer, someone in (
        ("worker_18", world.alice.id),  # a resident with an account, not assisted
        ("worker_18", world.basile.id),
        ("worker_20", world.odile_id),  # assisted, but through centre_18
        ("admin", world.odile_id),
        ("alice", world.odile_id),
    ):
        response = await call(
            client, world, viewer, "POST", "/posts", post_body(HOME_ODILE, on_behalf_of=someone)
        )
        body = assert_error(response, {403})
        assert "on_behalf_of" in body["fields"], (viewer, body)
    assert await count_posts() == posts_before
    for_odile = await call(
        client,
        world,
        "worker_18",
        "POST",
        "/posts",
        post_body(HOME_ODILE, on_behalf_of=world.odile_id),
    )
    assert (await ok(for_odile, 201))["author_id"] == world.odile_id

    # An Idempotency-Key replays only its own user's answer.
    same = post_body(NOWHERE)
    key = {"Idempotency-Key": "same-key-for-two-people"}
    answers = []
    for viewer in ("alice", "basile", "alice"):
        client.cookies.clear()
        response = await client.post(
            f"{API}/posts", json=same, headers={**headers_of(world, viewer), **key}
        )
        answers.append(await ok(response, 201))
    assert answers[0]["author_id"] == answers[2]["author_id"] == world.alice.id
    assert answers[1]["author_id"] == world.basile.id
    assert answers[0]["id"] == answers[2]["id"] != answers[1]["id"]


# ---------------------------------------------------------------------------------------
# Status jumps
# ---------------------------------------------------------------------------------------


async def test_status_jumps_are_refused_by_the_api_and_by_the_database(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    alice, draft, basile = (world.posts[k] for k in ("alice", "alice_draft", "basile"))
    closed = await ok(
        await call(client, world, "alice", "POST", f"/posts/{alice}/close", {"reason": "Fini"})
    )
    assert closed["status"] == "closed" and closed["closed_reason"] == "Fini"
    for viewer, method, url, body in (
        ("alice", "POST", f"/posts/{alice}/publish", None),
        ("alice", "POST", f"/posts/{alice}/withdraw", None),
        ("alice", "POST", f"/posts/{alice}/close", {"reason": "Encore"}),
        ("alice", "PATCH", f"/posts/{alice}", {"title": "Rouvert"}),
        ("alice", "POST", f"/posts/{draft}/close", {"reason": "Brouillon"}),
        ("basile", "POST", f"/posts/{basile}/publish", None),
    ):
        assert_error(await call(client, world, viewer, method, url, body), {409})
    assert (await ok(await call(client, world, "alice", "GET", f"/posts/{alice}"))) == closed
    draft_view = await ok(await call(client, world, "alice", "GET", f"/posts/{draft}"))
    assert draft_view["status"] == "draft"

    # The database refuses the same jumps whatever the application does.
    jump = text("UPDATE posts SET status = :to WHERE id = :id")
    for post_id, to, was in ((basile, "draft", "published"), (alice, "published", "closed")):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match=f"cannot go from {was} to {to}"):
            async with engine.begin() as conn:
                await conn.execute(jump, {"to": to, "id": post_id})
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, status FROM posts WHERE id IN (:a, :b)"), {"a": alice, "b": basile}
        )
        assert dict(rows.tuples().all()) == {alice: "closed", basile: "published"}
        await conn.rollback()
        # ...and lets a legal move through (rolled back).
        tx = await conn.begin()
        assert (await conn.execute(jump, {"to": "expired", "id": basile})).rowcount == 1
        await tx.rollback()


# ---------------------------------------------------------------------------------------
# Conversations
# ---------------------------------------------------------------------------------------

# A match id nobody has: a conversation that does not exist must answer exactly as one
# that is not the caller's.
NO_SUCH_MATCH = 987_654


async def test_conversations_belong_to_their_two_sides_and_no_one_else(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await with_matches(client, engine, await build_world(client, engine))
    report_id = await with_conversations(client, world)
    m = world.matches
    # The two sides of each conversation (worker_18 writes for Odile, who is assisted).
    sides = {"alice_vera": {"alice", "vera"}, "odile_vera_1": {"worker_18", "vera"}}
    phones = tuple(world.phones.values())

    async def read_as(viewer: str, match: str) -> tuple[Any, Any]:
        """The conversation and its messages as a side reads them."""
        base = f"/matches/{m[match]}"
        return (
            await ok(await call(client, world, viewer, "GET", f"{base}/conversation")),
            await ok(await call(client, world, viewer, "GET", f"{base}/messages")),
        )

    async def snapshot() -> dict[tuple[str, str], Any]:
        return {(v, c): await read_as(v, c) for c, allowed in sides.items() for v in allowed}

    before = await snapshot()
    texts = [msg["text"] for _, messages in before.values() for msg in messages]
    assert len(set(texts)) == 4
    secrets = (*texts, *phones, world.alice.email, world.vera.email, ODILE_PHONE)
    # The covering centre follows Alice's request and acts for Odile, yet reads neither
    # conversation but the one Odile's is; the administrator reads none.
    operations: list[tuple[str, str, Any]] = [
        ("GET", "/conversation", None),
        ("GET", "/messages", None),
        ("GET", "/messages?after=0&limit=200", None),
        ("POST", "/messages", {"text": "Je ne suis pas de cette conversation"}),
        ("POST", "/conversation/read", {"up_to": 10**6}),
        ("PUT", "/contacts", {"phone": True, "email": True}),
        ("GET", "/conversation/events", None),
    ]
    for conversation, allowed in sides.items():
        for method, action, body in operations:
            absent = await call(
                client, world, "alice", method, f"/matches/{NO_SUCH_MATCH}{action}", body
            )
            assert_error(absent, {404})
            for viewer in VIEWERS:
                if viewer in allowed:
                    continue
                url = f"/matches/{m[conversation]}{action}"
                response = await call(client, world, viewer, method, url, body)
                if viewer == "anonymous":
                    assert_error(response, {401}, *secrets)
                    continue
                assert_error(response, {404}, *secrets)
                # The same answer as for a conversation that does not exist.
                assert response.json() == absent.json(), (viewer, method, url)
    assert await snapshot() == before, "a refused call changed a conversation"
    # My own list holds my conversations only.
    for viewer in VIEWERS:
        listed = await call(client, world, viewer, "GET", "/me/conversations")
        if viewer == "anonymous":
            assert_error(listed, {401})
            continue
        mine = {item["match_id"] for item in await ok(listed)}
        expected = {m[c] for c, allowed in sides.items() if viewer in allowed}
        # worker_18 acts for Odile: her conversation is in their list (sides above).
        if viewer == "victor":
            expected = {m["basile_victor"]}
        if viewer == "basile":
            expected = {m["basile_victor"]}
        assert mine == expected, viewer
        assert not any(text in listed.text for text in texts)

    # The volunteer of a proposition not confirmed learns why there is no conversation
    # yet (409); the request's side does not even learn it was proposed (404).
    pending = f"/matches/{m['alice_victor']}/conversation"
    assert_error(await call(client, world, "victor", "GET", pending), {409})
    for viewer in ("alice", "basile", "vera", "stranger", "worker_18", "worker_20", "admin"):
        assert_error(await call(client, world, viewer, "GET", pending), {404})

    # Each side writes, reads and shares; the social worker writes for Odile, signed.
    for conversation, allowed in sides.items():
        for viewer in sorted(allowed):
            url = f"/matches/{m[conversation]}"
            sent = await ok(
                await call(client, world, viewer, "POST", f"{url}/messages", {"text": "Merci"}),
                201,
            )
            assert sent["mine"] is True
            assert sent["on_behalf"] is (viewer == "worker_18")
            read = await ok(
                await call(
                    client, world, viewer, "POST", f"{url}/conversation/read", {"up_to": sent["id"]}
                )
            )
            assert read == {"unread": 0}
            # Bounds that are not message ids are refused, naming the parameter.
            for query in ("after=-1", "before=-1", "after=null", "before=", "after=1&before=2"):
                response = await call(client, world, viewer, "GET", f"{url}/messages?{query}")
                body = assert_error(response, {400, 422})
                assert (
                    set(body["fields"]) & {"after", "before"}
                    or query.split("=")[0] in body["detail"]
                ), (query, body)
    shared = await ok(
        await call(
            client,
            world,
            "vera",
            "PUT",
            f"/matches/{m['alice_vera']}/contacts",
            {"phone": True, "email": False},
        )
    )
    assert shared["my_shares"] == {"phone": True, "email": False}
    alice_side, _ = await read_as("alice", "alice_vera")
    assert alice_side["their_contacts"] == {"phone": world.phones["vera"], "email": None}
    odile_side, _ = await read_as("worker_18", "odile_vera_1")
    assert odile_side["acting_for"] == "Odile" and odile_side["my_side"] == "requester"

    # The conversation's live events: the two sides only.
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        for conversation, allowed in sides.items():
            url = f"{API}/matches/{m[conversation]}/conversation/events?after=0"
            for viewer in VIEWERS:
                async with http.stream("GET", url, headers=headers_of(world, viewer)) as stream:
                    if viewer not in allowed:
                        assert stream.status_code == (401 if viewer == "anonymous" else 404)
                        continue
                    assert stream.status_code == 200
                    events = sse_events(stream)
                    first = await next_event(events, lambda e: e.get("event") == "message", 5)
                    assert first is not None and json.loads(first["data"])["text"] in texts

    # A report on a message brings that conversation to the covering centre's social
    # workers, through that report only: not to another centre, not to the
    # administrator, not to the people themselves (as to a report that does not exist).
    url = f"/moderation/reports/{report_id}/conversation"
    brought = await ok(await call(client, world, "worker_18", "GET", url))
    assert brought["match_id"] == m["alice_vera"]
    assert {msg["text"] for msg in brought["messages"]} >= set(texts[:2])
    assert "reporter_id" not in brought
    for viewer in VIEWERS:
        if viewer == "worker_18":
            continue
        response = await call(client, world, viewer, "GET", url)
        absent = await call(
            client, world, viewer, "GET", f"/moderation/reports/{10**6}/conversation"
        )
        assert response.status_code == absent.status_code, viewer
        assert response.json() == absent.json(), viewer
        assert_error(response, {401} if viewer == "anonymous" else {403, 404}, *texts)
        if viewer in ("worker_20", "admin"):
            assert response.status_code == 404, viewer
    # The reported side never learns who reported, nor that a report was made.
    for viewer in ("vera", "alice"):
        for match in ("alice_vera",):
            for body in await read_as(viewer, match):
                assert not re.search(r"report", json.dumps(body)), (viewer, body)


# ---------------------------------------------------------------------------------------
# Intergenerational housing
# ---------------------------------------------------------------------------------------

# Ids nobody has: an application or a pair that is not the caller's must answer exactly
# as one that does not exist.
NO_SUCH_APPLICATION = 987_654
NO_SUCH_PAIR = 987_655
# Every housing operation this matrix calls; a new one in the spec fails the test until
# it is added here (and to the calls below).
HOUSING_OPERATIONS = {
    "createHousingApplication",
    "listHousingApplications",
    "getHousingApplication",
    "recordHousingApplicationStep",
    "withdrawHousingApplication",
    "listHousingCandidates",
    "proposeHousingPair",
    "listHousingPairs",
    "getHousingPair",
    "recordHousingPairStep",
    "endHousingPair",
}
# Landing from the documents' helper: covered as soon as the spec has them.
HOUSING_DOCUMENT_OPERATIONS = {"generateHousingDocument", "getHousingDocument"}
STATUSES = ("open", "paired", "withdrawn", "closed")
HOUSING_TABLES = ("housing_applications", "housing_pairs", "housing_steps", "housing_documents")


async def housing_snapshot(engine: AsyncEngine) -> dict[str, list[Any]]:
    """Every housing row, as stored: refused calls must leave them all as they were."""
    async with engine.connect() as conn:
        return {
            table: [
                tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table in HOUSING_TABLES
        }


async def test_housing_belongs_to_its_people_and_their_centre_and_no_one_else(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await with_housing(client, world, propose=False)
    spec = {op for op in await spec_operations(client) if "Housing" in op}
    documents = bool(spec & HOUSING_DOCUMENT_OPERATIONS)
    assert spec == HOUSING_OPERATIONS | (HOUSING_DOCUMENT_OPERATIONS if documents else set()), (
        f"housing operations without an access check: {sorted(spec - HOUSING_OPERATIONS)}"
    )
    today = in_days(0)
    secrets = (ODILE_HOME_ADDRESS, STUDY_ADDRESS, ADDRESS_ALICE, *housing.birth_dates.values())
    host, young = housing.host, housing.young
    covered: set[str] = set()

    def app_ops(app_id: int) -> list[tuple[str, str, str, Any]]:
        base = f"/housing/applications/{app_id}"
        step = {"kind": "interview", "done_on": today, "outcome": "unfavourable"}
        return [
            ("getHousingApplication", "GET", base, None),
            ("recordHousingApplicationStep", "POST", f"{base}/steps", step),
            ("withdrawHousingApplication", "POST", f"{base}/withdraw", None),
            ("listHousingCandidates", "GET", f"{base}/candidates", None),
        ]

    def pair_ops(pair_id: int, document_id: int | None) -> list[tuple[str, str, str, Any]]:
        base = f"/housing/pairs/{pair_id}"
        ops: list[tuple[str, str, str, Any]] = [
            ("getHousingPair", "GET", base, None),
            ("recordHousingPairStep", "POST", f"{base}/steps", {"kind": "trial", "done_on": today}),
            ("endHousingPair", "POST", f"{base}/end", {"reason": "other", "ended_on": today}),
        ]
        if documents:
            ops.append(
                ("generateHousingDocument", "POST", f"{base}/documents", {"kind": "charter"})
            )
            if document_id is not None:
                ops.append(("getHousingDocument", "GET", f"{base}/documents/{document_id}", None))
        return ops

    async def refused(
        viewer: str, op_id: str, method: str, url: str, absent_url: str, body: Any
    ) -> None:
        """401 for an anonymous caller; otherwise the very bytes of a made-up id."""
        covered.add(op_id)
        response = await call(client, world, viewer, method, url, body)
        if viewer == "anonymous":
            assert_error(response, {401}, *secrets)
            return
        absent = await call(client, world, viewer, method, absent_url, body)
        assert_error(absent, {404})
        assert_error(response, {404}, *secrets)
        assert response.content == absent.content, (viewer, op_id, url)

    async def check_objects(
        allowed: dict[str, dict[str, int]], ops: list[tuple[str, str, str, Any]], real: int
    ) -> None:
        """``allowed``: per operation, the viewers who may call it and the status they
        get (the reads are made; a write they may make is not, it would change the row)."""
        for op_id, method, url, body in ops:
            absent_url = url.replace(
                f"/{real}", f"/{NO_SUCH_PAIR if 'pairs' in url else NO_SUCH_APPLICATION}", 1
            )
            for viewer in VIEWERS:
                status = allowed.get(op_id, {}).get(viewer)
                if status is None:
                    await refused(viewer, op_id, method, url, absent_url, body)
                    continue
                covered.add(op_id)
                if status in (200, 201) and method != "GET":
                    continue  # allowed to change it: done below, once
                response = await call(client, world, viewer, method, url, body)
                assert response.status_code == status, (viewer, op_id, response.text)
                if status >= 400:
                    assert_error(response, {status}, *secrets)

    async def listed(viewer: str, url: str) -> set[int]:
        response = await call(client, world, viewer, "GET", url)
        if viewer == "anonymous":
            assert_error(response, {401})
            return set()
        if viewer == "admin":  # the centres' and their people's, not the service's
            assert_error(response, {403}, *secrets)
            return set()
        return {item["id"] for item in await ok(response)}

    centre_only = {
        "getHousingApplication": {"worker_18": 200},
        "recordHousingApplicationStep": {"worker_18": 201},
        "withdrawHousingApplication": {"worker_18": 200},
        "listHousingCandidates": {"worker_18": 200},
    }
    # Basile reads his own application and may withdraw it; the steps and the
    # candidates are the centre's.
    basiles = {
        "getHousingApplication": {"worker_18": 200, "basile": 200},
        "recordHousingApplicationStep": {"worker_18": 201, "basile": 403},
        "withdrawHousingApplication": {"worker_18": 200, "basile": 200},
        "listHousingCandidates": {"worker_18": 200, "basile": 403},
    }

    # 1. The two applications, before any pairing.
    before = await housing_snapshot(engine)
    await check_objects(centre_only, app_ops(host), host)
    await check_objects(basiles, app_ops(young), young)
    for viewer in VIEWERS:
        covered.add("listHousingApplications")
        mine = await listed(viewer, "/housing/applications")
        expected = {
            "worker_18": set(housing.applications),
            "basile": {young},
            "alice": {housing.young_2},
            "victor": {housing.spare_young},
        }.get(viewer, set())
        assert mine == expected, viewer
    # Nobody but the centre's social workers proposes; another centre's worker gets the
    # same answer as for applications that do not exist.
    proposal = {"host_application_id": host, "young_application_id": young}
    made_up = {
        "host_application_id": NO_SUCH_APPLICATION,
        "young_application_id": NO_SUCH_APPLICATION + 1,
    }
    for viewer in VIEWERS:
        if viewer == "worker_18":
            continue
        covered.add("proposeHousingPair")
        response = await call(client, world, viewer, "POST", "/housing/pairs", proposal)
        absent = await call(client, world, viewer, "POST", "/housing/pairs", made_up)
        if viewer == "anonymous":
            assert_error(response, {401})
            continue
        assert response.status_code == absent.status_code in (403, 422), (viewer, response.text)
        assert response.content == absent.content, viewer
        assert_error(response, {403, 422}, *secrets)
    # Nobody applies for Odile but the social workers acting for her.
    for viewer in VIEWERS:
        if viewer == "worker_18":
            continue
        covered.add("createHousingApplication")
        body = {
            "side": "host",
            "centre_id": world.centre_20 if viewer == "worker_20" else world.centre_18,
            "person_id": world.odile_id,
            "birth_date": housing.birth_dates["odile"],
            "available_from": today,
            "location": {"lon": HOME_ODILE[0], "lat": HOME_ODILE[1]},
            "formulas": ["solidarity"],
            "room": {"size_m2": 10, "floor": 0, "lift": False, "private_bathroom": False},
        }
        response = await call(client, world, viewer, "POST", "/housing/applications", body)
        expected_status = {"anonymous": {401}, "admin": {403}}.get(viewer, {422})
        assert_error(response, expected_status, *secrets)
    assert await housing_snapshot(engine) == before, "a refused call changed housing"

    # 2. Proposed: neither person is told. Basile's own application reads the same.
    basile_app = await ok(
        await call(client, world, "basile", "GET", f"/housing/applications/{young}")
    )
    lists = ("/housing/applications", *(f"/housing/applications?status={s}" for s in STATUSES))
    basile_lists = [await ok(await call(client, world, "basile", "GET", url)) for url in lists]
    pair = await ok(await call(client, world, "worker_18", "POST", "/housing/pairs", proposal), 201)
    pair_id = pair["id"]
    assert pair["status"] == "proposed" and pair["host_address"] == ODILE_HOME_ADDRESS
    assert (
        await ok(await call(client, world, "basile", "GET", f"/housing/applications/{young}"))
        == basile_app
    ), "Basile's application tells him of a pairing before the meeting"
    # Nor do his lists, whichever status they filter on.
    assert [await ok(await call(client, world, "basile", "GET", url)) for url in lists] == (
        basile_lists
    )
    before = await housing_snapshot(engine)
    await check_objects(centre_only, app_ops(host), host)
    await check_objects(basiles, app_ops(young), young)
    proposed_allowed = {
        "getHousingPair": {"worker_18": 200},
        "recordHousingPairStep": {"worker_18": 201},
        "endHousingPair": {"worker_18": 200},
        "generateHousingDocument": {"worker_18": 201},
    }
    await check_objects(proposed_allowed, pair_ops(pair_id, None), pair_id)
    for viewer in VIEWERS:
        covered.add("listHousingPairs")
        mine = await listed(viewer, "/housing/pairs")
        assert mine == ({pair_id} if viewer == "worker_18" else set()), viewer
    assert await housing_snapshot(engine) == before, "a refused call changed housing"

    # 3. The meeting introduces them: Basile now reads the pair (Odile's address with
    # it) and its documents, and changes nothing; everyone else still gets 404.
    meeting = {"kind": "meeting", "done_on": today, "outcome": "favourable"}
    await ok(
        await call(client, world, "worker_18", "POST", f"/housing/pairs/{pair_id}/steps", meeting),
        201,
    )
    document_id = None
    if documents:
        charter = await ok(
            await call(
                client,
                world,
                "worker_18",
                "POST",
                f"/housing/pairs/{pair_id}/documents",
                {"kind": "charter"},
            ),
            201,
        )
        document_id = charter["id"]
    seen = await ok(await call(client, world, "basile", "GET", f"/housing/pairs/{pair_id}"))
    assert seen["status"] == "introduced" and seen["host_address"] == ODILE_HOME_ADDRESS
    assert seen["host"]["person"]["display_name"] == "Odile"
    assert seen["host"]["application_id"] is None  # Odile's application is not his
    assert STUDY_ADDRESS not in json.dumps(seen, ensure_ascii=False)
    assert housing.birth_dates["odile"] not in json.dumps(seen)
    before = await housing_snapshot(engine)
    introduced_allowed = {
        "getHousingPair": {"worker_18": 200, "basile": 200},
        "recordHousingPairStep": {"worker_18": 201, "basile": 403},
        "endHousingPair": {"worker_18": 200, "basile": 403},
        "generateHousingDocument": {"worker_18": 201, "basile": 403},
        "getHousingDocument": {"worker_18": 200, "basile": 200},
    }
    await check_objects(introduced_allowed, pair_ops(pair_id, document_id), pair_id)
    await check_objects(centre_only, app_ops(host), host)
    for viewer in VIEWERS:
        mine = await listed(viewer, "/housing/pairs")
        assert mine == ({pair_id} if viewer in ("worker_18", "basile") else set()), viewer
    assert await housing_snapshot(engine) == before, "a refused call changed housing"

    # 4. What the allowed do works: the trial, the end, a withdrawal, an application.
    trial = await ok(
        await call(
            client,
            world,
            "worker_18",
            "POST",
            f"/housing/pairs/{pair_id}/steps",
            {"kind": "trial", "done_on": today},
        ),
        201,
    )
    assert trial["status"] == "trial"
    ended = await ok(
        await call(
            client,
            world,
            "worker_18",
            "POST",
            f"/housing/pairs/{pair_id}/end",
            {"reason": "term_reached", "ended_on": today},
        )
    )
    assert ended["status"] == "ended" and ended["host_address"] is None
    withdrawn = await ok(
        await call(
            client, world, "victor", "POST", f"/housing/applications/{housing.spare_young}/withdraw"
        )
    )
    assert withdrawn["status"] == "withdrawn"
    candidates = await ok(
        await call(
            client, world, "worker_18", "GET", f"/housing/applications/{housing.host_2}/candidates"
        )
    )
    assert [c["application"]["id"] for c in candidates] == [housing.young_2]
    assert covered == spec, f"not checked: {sorted(spec - covered)}"
