"""Location privacy, end to end: every endpoint is called as every kind of person on the
seeded neighbourhood (with matches in every state), and no response may show another
person's exact point or address, or a distance finer than a 1 km band. The same browse
gives the same bytes from anywhere in a public cell.

Matches change who may see what: once a match is confirmed (after review when
sensitive), its volunteer sees the request's exact place and the author's contact, and
the author's side sees the volunteer's contact — never the volunteer's home. What each
viewer may see is worked out from the matches in the database before each response is
judged, so the sweep checks the same responses before and after confirmation.

The scanner is proven on responses that *must* show a place (the author's own post),
so a scanner that sees nothing fails here too. The endpoint list comes from the
OpenAPI spec: a new endpoint without a call plan (support/privacy_call_plan.py) fails
``test_every_operation_has_a_privacy_call_plan``.

Over 400 lines: one property, checked on every endpoint; the scanner, the call plan
and the sweep live in tests/support (leak_scanner, entitlement, privacy_call_plan,
privacy_sweep).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.geo.coordinates import LonLat
from voisins.geo.grid import cell_centre, distance_m, snap
from voisins.settings import Settings

from .support.entitlement import PLACES, VOLUNTEERS, forbidden_for, identities
from .support.housing import ODILE_HOME_ADDRESS
from .support.housing_documents import day_fr
from .support.housing_world import STUDY_ADDRESS
from .support.leak_scanner import (
    GRID_M,
    NEAR_M,
    identity_leaks,
    is_band,
    leaks,
    public_centre,
    public_corners,
    reveals,
    walk,
)
from .support.people import Person
from .support.privacy_call_plan import (
    NOT_CALLED,
    READS,
    WRITES,
    housing_of,
    spec_operations,
)
from .support.privacy_sweep import Seen, forbidden_places, make_ctx, sweep
from .support.world import (
    ADDRESS_ALICE,
    GOUTTE_DOR,
    HOME_ALICE,
    HOME_ODILE,
    ODILE_PHONE,
    build_world,
    post_body,
    vet,
)


async def test_every_operation_has_a_privacy_call_plan(client: AsyncTestClient) -> None:
    ops = await spec_operations(client)
    planned = set(READS) | set(WRITES)
    assert not set(READS) & set(WRITES)
    assert not planned & set(NOT_CALLED)
    missing = set(ops) - planned - set(NOT_CALLED)
    assert not missing, f"operations without a privacy call plan: {sorted(missing)}"
    stale = (planned | set(NOT_CALLED)) - set(ops)
    assert not stale, f"plans for operations that no longer exist: {sorted(stale)}"
    gets = {op_id for op_id, op in ops.items() if op.method == "GET"}
    # Endless; their payloads are checked in tests/notify and tests/test_access_matrix.py.
    streams = {"inboxEvents", "conversationEvents"}
    assert gets - streams <= set(READS), f"every GET is swept: {sorted(gets - set(READS))}"
    assert {op_id for op_id in READS if ops[op_id].method != "GET"} == set()


async def test_no_response_or_event_shows_another_persons_place_or_a_fine_distance(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    assert settings.grid_cell_m == GRID_M
    ctx = await make_ctx(client, engine)
    world = ctx.world
    # The scanner hunts for every place the world seeded, and no other.
    assert {p.lonlat for p in PLACES.values()} == set(world.exact_points)
    assert {p.address for p in PLACES.values() if p.address} == set(world.addresses)
    assert all(round(c, 6) == c for p in world.exact_points for c in p)

    ops = await spec_operations(client)
    seen = await sweep(client, engine, ctx, ops)
    people = identities(world)

    problems = [
        f"{s.phase}: {s.viewer} {s.op_id} {s.url} -> {s.status}: {leak}"
        for s in seen
        for leak in leaks(s.body, forbidden_places(s))
        + identity_leaks(
            s.body,
            s.allowed.forbidden_people(s.viewer, people),
        )
    ]
    assert not problems, "\n".join(problems)
    # A volunteer's home never became anyone else's to see.
    for s in seen:
        for viewer, places in s.allowed.places.items():
            assert places & VOLUNTEERS <= {viewer}, (s.phase, viewer, places)
    # "anonymous" really was: no session cookie rode along.
    assert {s.status for s in seen if s.viewer == "anonymous" and s.op_id == "getMe"} == {401}

    # Each operation answered someone with success: the sweep reached real data.
    silent = {
        op_id
        for op_id in {*READS, *WRITES}
        if not any(s.op_id == op_id and 200 <= s.status < 300 for s in seen)
    }
    assert not silent, f"never answered with success: {sorted(silent)}"
    # Browsing really showed distances, as bands.
    bands = [
        item["distance"]
        for s in seen
        if s.op_id == "browsePosts" and s.status == 200
        for item in s.body["items"]
    ]
    assert bands and all(is_band(b) for b in bands)

    # Those entitled do see the exact place: the scanner finds what it hunts for.
    def answer(viewer: str, op_id: str, url_part: str = "", phase: str = "before") -> Seen:
        return next(
            s
            for s in seen
            if s.viewer == viewer
            and s.op_id == op_id
            and s.phase == phase
            and s.url.split("?")[0].endswith(url_part)
        )

    def body(viewer: str, op_id: str, url_part: str = "", phase: str = "before") -> Any:
        found = answer(viewer, op_id, url_part, phase)
        assert found.status == 200, (found.url, found.body)
        return found.body

    alice_post = f"/posts/{world.posts['alice']}"
    assert reveals(body("alice", "getPost", alice_post), PLACES["alice"])
    assert ADDRESS_ALICE in json.dumps(body("alice", "getPost", alice_post), ensure_ascii=False)
    assert reveals(body("alice", "listMyPosts"), PLACES["alice"])
    assert reveals(body("worker_18", "getPost", alice_post), PLACES["alice"])
    assert reveals(body("worker_18", "getPost", f"/posts/{world.posts['odile']}"), PLACES["odile"])
    assert reveals(
        body("worker_20", "getPost", f"/posts/{world.posts['basile']}"), PLACES["basile"]
    )
    assert reveals(body("vera", "getVolunteerProfile"), PLACES["vera"])
    assert reveals(
        body("stranger", "getPost", f"/posts/{world.posts['outside']}"), PLACES["outside"]
    )
    # ...and the same body read with someone else's entitlements is reported as a leak.
    alice_view = body("alice", "getPost", alice_post)
    found = leaks(alice_view, forbidden_for("basile"))
    assert any("alice's exact lon" in f for f in found)
    assert any("alice's exact lat" in f for f in found)
    assert any("alice's exact point (lon and lat together)" in f for f in found)
    assert any("alice's address" in f for f in found)
    assert all("alice" in f for f in found), found
    # The public view of the same post shows its cell, and the scanner lets it pass.
    public = body("basile", "getPost", alice_post)
    assert public["cell"]["lon"] == public_centre(HOME_ALICE).lon
    assert "location" not in public and "author_id" not in public

    # Matches. The writes did what the plans meant, and only for the right person.
    def outcome(op_id: str) -> dict[str, int]:
        return {s.viewer: s.status for s in seen if s.op_id == op_id}

    m = world.matches
    assert body("victor", "declineMatch", phase="writes") == {
        "id": m["alice_victor"],
        "status": "declined",
    }
    assert body("vera", "acceptMatch", phase="writes")["status"] == "confirmed"
    assert body("worker_18", "approveMatch", phase="writes")["status"] == "confirmed"
    assert body("worker_18", "rejectMatch", phase="writes")["status"] == "rejected"
    assert body("alice", "completeMatch", phase="writes")["status"] == "completed"
    assert body("basile", "cancelMatch", phase="writes")["status"] == "cancelled"
    assert outcome("giveFeedback")["alice"] == outcome("giveFeedback")["vera"] == 201
    # A social worker of another centre may not review (nor may the volunteer herself).
    assert outcome("approveMatch")["worker_20"] == outcome("rejectMatch")["worker_20"] == 403
    assert outcome("approveMatch")["vera"] == 403
    for op_id in ("acceptMatch", "declineMatch", "getProposition"):
        assert outcome(op_id)["anonymous"] == 401
        assert {
            s.status for s in seen if s.op_id == op_id and s.viewer in ("alice", "stranger")
        } == {404}, op_id

    def proposition(viewer: str, match: str, phase: str) -> Any:
        return body(viewer, "getProposition", f"/me/propositions/{m[match]}", phase)

    def followed(viewer: str, post: str, phase: str) -> dict[int, Any]:
        items = body(viewer, "listPostMatches", f"/posts/{world.posts[post]}/matches", phase)
        return {item["id"]: item for item in items["answers"]}

    def contact(name: str) -> dict[str, Any]:
        who = people[name]
        return {
            "user_id": who.user_id,
            "display_name": who.display_name,
            "email": who.email,
            "phone": who.phone,
        }

    def named(name: str) -> dict[str, Any]:
        """A confirmed counterpart who has not shared their phone or e-mail (yet)."""
        return {**contact(name), "email": None, "phone": None}

    def volunteer_for(viewer: str, name: str) -> dict[str, Any]:
        """A confirmed volunteer as the request's side sees them: contacts are a choice
        between the neighbours; the centre's social workers reach volunteers directly."""
        return contact(name) if viewer.startswith("worker_") else named(name)

    # Vera saw Alice's request as a band, a cell and a title; nobody's place or name...
    before = proposition("vera", "alice_vera", "before")
    assert before["status"] == "proposed" and is_band(before["distance"])
    assert before["requester"] is None and before["location"] is None
    assert not reveals(before, PLACES["alice"]) and not identity_leaks(before, people.values())
    vera_before = answer("vera", "getProposition", f"/me/propositions/{m['alice_vera']}")
    assert "alice" not in vera_before.allowed.places["vera"]
    assert "alice" not in vera_before.allowed.people["vera"]
    # ...and once the match is confirmed, Alice's exact place, address and name; her
    # phone and e-mail once she shares them from the conversation.
    confirmed = proposition("vera", "alice_vera", "after acceptMatch")
    assert confirmed["status"] == "confirmed"
    assert reveals(confirmed, PLACES["alice"])
    assert confirmed["location"] == {
        "lon": HOME_ALICE[0],
        "lat": HOME_ALICE[1],
        "address": ADDRESS_ALICE,
    }
    assert confirmed["requester"] == named("alice")
    shared = proposition("vera", "alice_vera", "after cancelMatch")
    assert shared["requester"] == contact("alice")
    # The scanner would have reported exactly that before confirmation.
    early = leaks(confirmed, vera_before.allowed.forbidden_places("vera"))
    assert early and all("alice" in f for f in early), early
    assert identity_leaks(confirmed, vera_before.allowed.forbidden_people("vera", people))
    completed = proposition("vera", "alice_vera", "after cancelMatch")
    assert completed["status"] == "completed" and reveals(completed, PLACES["alice"])
    # Vera then blocked Alice (blockPerson): the place and the contacts go again.
    blocked = proposition("vera", "alice_vera", "after")
    assert blocked["status"] == "completed" and not reveals(blocked, PLACES["alice"])
    assert blocked["requester"] is None
    # Victor, who declined, never saw where Alice lives, nor Vera's proposition.
    for phase in ("before", "after acceptMatch", "after"):
        victors = proposition("victor", "alice_victor", phase)
        assert victors["location"] is None and victors["requester"] is None
        assert not reveals(victors, PLACES["alice"])
    for op_id, url in (
        ("getProposition", f"/me/propositions/{m['alice_vera']}"),
        ("matchHistory", f"/matches/{m['alice_vera']}/history"),
    ):
        statuses = {
            s.status
            for s in seen
            if s.viewer == "victor" and s.op_id == op_id and s.url.split("?")[0].endswith(url)
        }
        assert statuses == {404}, (op_id, statuses)

    # Alice's side: the volunteers stay anonymous until confirmed; then Vera's name, and
    # her contact once shared, for Alice and for the covering centre's social worker —
    # never Vera's home.
    # Before anyone says yes nothing is listed (who was asked stays on the server).
    assert followed("alice", "alice", "before") == {}
    for viewer in ("alice", "worker_18"):
        after = followed(viewer, "alice", "after acceptMatch")
        assert after[m["alice_vera"]]["volunteer"] == volunteer_for(viewer, "vera")
        shared_answers = followed(viewer, "alice", "after cancelMatch")
        assert shared_answers[m["alice_vera"]]["volunteer"] == contact("vera")
        assert m["alice_victor"] not in after
        assert after[m["alice_vera"]]["status"] == "confirmed"
        assert not reveals(after, PLACES["vera"]) and is_band(after[m["alice_vera"]]["distance"])

    # A sensitive match: nothing before a social worker approves it, with a reason.
    pending = proposition("vera", "odile_vera_1", "before")
    assert pending["status"] == "pending_review" and pending["location"] is None
    assert pending["requester"] is None and not reveals(pending, PLACES["odile"])
    # The reviewing social worker needs to know whom they approve; the author does not
    # learn it before approval.
    assert followed("worker_18", "odile_1", "before")[m["odile_vera_1"]]["volunteer"] == contact(
        "vera"
    )
    approved = proposition("vera", "odile_vera_1", "after approveMatch")
    assert approved["status"] == "confirmed" and reveals(approved, PLACES["odile"])
    assert approved["requester"]["display_name"] == "Odile"
    assert approved["requester"]["phone"] is None
    # worker_18 shared Odile's phone from the conversation (acting for her).
    odile_shared = proposition("vera", "odile_vera_1", "after cancelMatch")
    assert odile_shared["requester"]["phone"] == ODILE_PHONE
    by_worker = followed("worker_18", "odile_1", "after approveMatch")[m["odile_vera_1"]]
    assert by_worker["volunteer"] == volunteer_for("worker_18", "vera")
    rejected = proposition("vera", "odile_vera_2", "after")
    assert rejected["status"] == "rejected" and rejected["location"] is None
    assert not reveals(rejected, PLACES["odile"])

    # A confirmed match that is cancelled stops showing the place and the contacts.
    victor_before = proposition("victor", "basile_victor", "before")
    assert victor_before["status"] == "confirmed" and reveals(victor_before, PLACES["basile"])
    assert victor_before["requester"] == named("basile")
    for viewer in ("basile", "worker_20"):
        mine = followed(viewer, "basile_request", "before")
        assert mine[m["basile_victor"]]["volunteer"] == volunteer_for(viewer, "victor")
        assert m["basile_vera"] not in mine  # withdrawn when filled: never listed
        assert not reveals(mine, PLACES["victor"])
    cancelled = proposition("victor", "basile_victor", "after cancelMatch")
    assert cancelled["status"] == "cancelled" and cancelled["location"] is None
    assert cancelled["requester"] is None and not reveals(cancelled, PLACES["basile"])
    assert {
        i["volunteer"] for i in followed("basile", "basile_request", "after cancelMatch").values()
    } == {None}
    withdrawn = proposition("vera", "basile_vera", "before")
    assert withdrawn["status"] == "withdrawn" and not reveals(withdrawn, PLACES["basile"])
    # The entitlements moved as the design says, and never to a volunteer's home.
    assert "basile" in answer("victor", "getMe").allowed.places["victor"]
    assert "basile" not in answer("victor", "getMe", phase="after").allowed.places["victor"]
    # The scanner recognises a contact where it hunts for one.
    assert identity_leaks(body("alice", "getMe"), [people["alice"]])
    assert identity_leaks({"volunteer_id": world.vera.id}, [people["vera"]])

    # Conversations. The sides read theirs; the centre a message report reached reads
    # that one through the report; nobody else, and nobody learns who reported.
    bv = f"/matches/{m['basile_victor']}"
    texts = [msg["text"] for msg in body("victor", "listMessages", f"{bv}/messages")]
    assert texts == ["Bonjour Victor, merci !", "Je passe jeudi."]
    assert body("basile", "getConversation", f"{bv}/conversation")["other_name"] == "Victor"
    report_url = f"/moderation/reports/{ctx.message_report}/conversation"
    reported = body("worker_20", "reportedConversation", report_url)
    assert reported["match_id"] == m["basile_victor"] and len(reported["messages"]) == 2
    sides = {
        m["alice_vera"]: {"alice", "vera"},
        m["alice_victor"]: {"alice", "victor"},
        m["odile_vera_1"]: {"worker_18", "vera"},
        m["odile_vera_2"]: {"worker_18", "vera"},
        m["basile_victor"]: {"basile", "victor"},
        m["basile_vera"]: {"basile", "vera"},
    }
    conversation_ops = {"getConversation", "listMessages", "sendMessage"}
    conversation_ops |= {"markConversationRead", "shareContacts"}
    for s in seen:
        if s.op_id in conversation_ops:
            match_id = int(re.search(r"/matches/(\d+)/", s.url).group(1))  # type: ignore[union-attr]
            if s.viewer not in sides[match_id]:
                assert s.status in (401, 404), (s.viewer, s.url, s.status)
        if s.op_id == "reportedConversation" and s.viewer != "worker_20":
            assert s.status in (401, 403, 404), (s.viewer, s.url, s.status)
        # The reporter's id is the centre's to know: in no one else's answers, and the
        # reported person reads nothing about a report at all.
        if s.viewer not in ("worker_18", "worker_20", "admin"):
            assert not [p for p, _ in walk(s.body) if p.endswith(".reporter_id")], s.url
        if s.viewer == "victor":
            # Nothing names the report about him nor the message it is about (his GDPR
            # export counts the reports about him, and that is all).
            named_keys = {"reporter_id", "report_id", "reported_message_id", "conversation_id"}
            for path, node in walk(s.body):
                if isinstance(node, dict):
                    assert not named_keys & set(node), (s.op_id, path, node)
    # Alice and Vera showed each other their phone and e-mail, until a block closed
    # their conversation: then nothing shows.
    alice_vera = f"/matches/{m['alice_vera']}/conversation"
    shared = body("alice", "getConversation", alice_vera, "after cancelMatch")
    assert shared["their_contacts"] == {"phone": world.phones["vera"], "email": world.vera.email}
    closed = body("alice", "getConversation", alice_vera, "after")
    assert closed["closed_because"] == "blocked"
    assert closed["their_contacts"] == {"phone": None, "email": None}

    # Intergenerational housing. A birth date is its person's and their centre's; the
    # pair's documents (the charter and agreement both sign) name both parties with it.
    housing = housing_of(ctx)
    may_know_birth = {"odile": {"worker_18"}, "jeanne": {"worker_18"}}
    for name in ("basile", "alice", "victor"):
        may_know_birth[name] = {name, "worker_18"}
    in_documents = {"odile": {"basile"}}
    problems = [
        f"{s.phase}: {s.viewer} {s.op_id} {s.url} -> {s.status}: {name}'s birth date"
        for s in seen
        for name, born in housing.birth_dates.items()
        if s.viewer not in may_know_birth[name]
        and not (s.op_id == "getHousingDocument" and s.viewer in in_documents.get(name, ()))
        and any(
            written in (s.body if isinstance(s.body, str) else json.dumps(s.body))
            for written in (born, day_fr(born))
        )
    ]
    assert not problems, "\n".join(problems)
    charter = body("worker_18", "getHousingDocument", phase="after generateHousingDocument")
    assert "Odile" in charter and "Basile" in charter and reveals(charter, PLACES["odile"])
    assert day_fr(housing.birth_dates["odile"]) in charter
    young_url = f"/housing/applications/{housing.young}"
    basiles = body("basile", "getHousingApplication", young_url)
    assert reveals(basiles, PLACES["study_basile"]) and basiles["address"] == STUDY_ADDRESS
    assert basiles["birth_date"] == housing.birth_dates["basile"]
    # The proposal is not told: his application reads open, without a pairing.
    assert basiles["status"] == "open" and basiles["pair_id"] is None
    assert reveals(body("worker_18", "getHousingApplication", young_url), PLACES["study_basile"])
    host_url = f"/housing/applications/{housing.host}"
    assert reveals(body("worker_18", "getHousingApplication", host_url), PLACES["odile"])
    # The young person sees the host's home from the meeting to the end, not before, not
    # after; nobody else but the centre ever reads the pair.
    pair_url = f"/housing/pairs/{housing.pair}"
    assert answer("basile", "getHousingPair", pair_url).status == 404
    during = body("basile", "getHousingPair", pair_url, "after generateHousingDocument")
    assert during["status"] == "trial" and during["host_address"] == ODILE_HOME_ADDRESS
    assert reveals(during, PLACES["odile"]) and not reveals(during, PLACES["study_basile"])
    assert during["host_feedback"] is None and all(st["note"] is None for st in during["steps"])
    ended = body("basile", "getHousingPair", pair_url, "after")
    assert ended["status"] == "ended" and not reveals(ended, PLACES["odile"])
    assert not reveals(body("worker_18", "getHousingPair", pair_url, "after"), PLACES["odile"])
    for s in seen:
        pair_read = s.op_id in ("getHousingPair", "getHousingDocument")
        if pair_read and s.viewer not in ("worker_18", "basile"):
            assert s.status in (401, 404), (s.viewer, s.url, s.status)
        # Candidates are the social worker's: an applicant is refused their own (403).
        if s.op_id == "listHousingCandidates" and s.viewer != "worker_18":
            assert s.status in (401, 403, 404), (s.viewer, s.url, s.status)
    housing_writes = {
        op_id: outcome(op_id)
        for op_id in WRITES
        if "Housing" in op_id and op_id != "createHousingApplication"
    }
    for op_id, statuses in housing_writes.items():
        succeeded = {v for v, status in statuses.items() if status < 300}
        expected = {"victor"} if op_id == "withdrawHousingApplication" else {"worker_18"}
        assert succeeded == expected, (op_id, statuses)
    created = outcome("createHousingApplication")
    assert {v for v, status in created.items() if status == 201} == {"vera", "stranger"}, created
    candidates = body("worker_18", "listHousingCandidates", f"{host_url}/candidates")
    assert candidates and all(is_band(c["fit"]["distance"]) for c in candidates)

    # The events the sweep caused (published, withdrawn, closed posts, password resets,
    # every step of a match) carry ids, never places: their jobs go through Redis and
    # into logs.
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT topic, payload::text AS p FROM outbox"))).all()
    assert {"post.published", "post.closed", "post.withdrawn"} <= {r.topic for r in rows}
    match_topics = {"proposed", "accepted", "review_needed", "approved", "rejected"}
    match_topics |= {"confirmed", "completed", "cancelled"}
    assert {f"match.{t}" for t in match_topics} <= {r.topic for r in rows}
    problems = [
        f"{r.topic}: {leak}" for r in rows for leak in leaks(json.loads(r.p), PLACES.values())
    ]
    assert not problems, "\n".join(problems)


async def test_a_match_history_does_not_name_the_other_side_before_confirmation(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    people = identities(world)

    async def request(who: Person, method: str, url: str, body: Any = None) -> Any:
        client.cookies.clear()
        response = await client.request(method, f"/api/v1{url}", json=body, headers=who.headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def proposition_of(volunteer: Person, post_id: int) -> int:
        listed = await request(volunteer, "GET", "/me/propositions?active=false")
        return next(i["id"] for i in listed["items"] if i["post"]["id"] == post_id)

    # Victor declines Alice's request: they never exchanged anything.
    declined = await proposition_of(world.victor, world.posts["alice"])
    await request(world.victor, "POST", f"/matches/{declined}/decline")
    # Alice follows only the answers someone said yes to: this history would tell
    # whom the matcher asked, and when.
    client.cookies.clear()
    hidden = await client.get(f"/api/v1/matches/{declined}/history", headers=world.alice.headers)
    assert hidden.status_code == 404
    history = await request(world.victor, "GET", f"/matches/{declined}/history")
    assert [h["to_status"] for h in history] == ["proposed", "declined"]

    # Alice cancels a sensitive match still waiting for a social worker's review.
    await vet(client, world, world.vera)
    sensitive = await request(
        world.alice,
        "POST",
        "/posts",
        post_body(HOME_ALICE, title="Visite à ma voisine", beneficiary=["isolated_elderly"]),
    )
    assert sensitive["sensitive"] is True
    pending = await proposition_of(world.vera, sensitive["id"])
    assert (await request(world.vera, "POST", f"/matches/{pending}/accept"))[
        "status"
    ] == "pending_review"
    await request(world.alice, "POST", f"/matches/{pending}/cancel", {"reason": "Annulé"})
    history = await request(world.vera, "GET", f"/matches/{pending}/history")
    assert history[-1]["to_status"] == "cancelled"
    assert not identity_leaks(history, [people["alice"]])


async def test_browsing_answers_the_same_bytes_from_anywhere_in_a_cell(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    cell = snap(LonLat(*HOME_ALICE), settings.grid_cell_m)
    centre = cell_centre(cell)
    step = 25 / (111_320 * math.cos(math.radians(centre.lat)))  # 25 m of longitude
    west, east = LonLat(centre.lon - step, centre.lat), LonLat(centre.lon + step, centre.lat)
    assert snap(west, settings.grid_cell_m) == snap(east, settings.grid_cell_m) == cell
    assert 45 < distance_m(west, east) < 55

    async def browse(point: LonLat, radius: float, headers: dict[str, str]) -> bytes:
        client.cookies.clear()
        response = await client.get(
            "/api/v1/posts",
            params={"lon": point.lon, "lat": point.lat, "radius_km": radius},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return response.content

    for radius in (0.5, 1, 3, 5, 20):
        first = await browse(west, radius, {})
        assert await browse(west, radius, {}) == first, "the same query twice"
        assert await browse(east, radius, {}) == first, "50 m away in the same cell"
        assert await browse(LonLat(*HOME_ALICE), radius, {}) == first, "Alice's doorstep"
        # Who asks changes nothing either (Vera authored nothing: no is_mine differs).
        assert await browse(east, radius, world.vera.headers) == first

    items = json.loads(await browse(west, 5, {}))["items"]
    assert {i["id"] for i in items} == {
        world.posts["alice"],
        world.posts["basile"],
        world.posts["odile"],
    }
    assert [i["distance"]["min_km"] for i in items] == sorted(
        i["distance"]["min_km"] for i in items
    )

    client.cookies.clear()
    near_me = [
        (
            await client.get(
                "/api/v1/posts", params={"near": "me", "radius_km": 5}, headers=world.vera.headers
            )
        ).content
        for _ in range(2)
    ]
    assert near_me[0] == near_me[1]


async def test_two_posts_in_one_cell_look_alike_to_strangers(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    # Odile's cell straddles the west edge of the Goutte d'Or territory (lon 2.348).
    cell = snap(LonLat(*HOME_ODILE), settings.grid_cell_m)
    centre = cell_centre(cell)
    west_edge = 2.3480
    assert west_edge == GOUTTE_DOR["coordinates"][0][0][0]
    neighbour = LonLat(round(west_edge - 0.0008, 6), centre.lat)  # ~60 m west of the edge
    assert snap(neighbour, settings.grid_cell_m) == cell
    assert HOME_ODILE[0] > west_edge > neighbour.lon
    created = await client.post(
        "/api/v1/posts",
        json=post_body((neighbour.lon, neighbour.lat)),
        headers=world.basile.headers,
    )
    assert created.status_code == 201, created.text

    client.cookies.clear()
    views = []
    for post_id in (world.posts["odile"], created.json()["id"]):
        response = await client.get(f"/api/v1/posts/{post_id}")
        assert response.status_code == 200
        # Covering centres are computed from the exact point: near a territory edge they
        # would tell which side of it someone lives, so strangers never get them.
        assert "centre_ids" not in response.json()
        assert "without_centre" not in response.json()
        views.append(response.json()["cell"])
    assert views[0] == views[1]


def test_scanner_catches_each_kind_of_leak() -> None:
    alice = PLACES["alice"]
    lon, lat = alice.lonlat
    cell = public_centre(alice.lonlat)
    assert leaks({"cell": {"lon": cell.lon, "lat": cell.lat}}, [alice]) == []
    assert leaks({"distance": None, "radius_km": 3.0}, [alice]) == []
    band = {"min_km": 1, "max_km": 2, "label_fr": "1 à 2 km", "label_en": "1 to 2 km"}
    assert leaks({"distance": band}, [alice]) == []
    # A public cell drawn as a GeoJSON square: one corner of Odile's cell is 94 m from
    # her home, and is no clue to it; a point 10 m inside from that corner is.
    odile = PLACES["odile"]
    square = [[x, y] for x, y in public_corners(odile.lonlat)]
    corner = min(square, key=lambda c: distance_m(LonLat(*c), LonLat(*odile.lonlat)))
    assert distance_m(LonLat(*corner), LonLat(*odile.lonlat)) < NEAR_M
    assert leaks({"type": "Polygon", "coordinates": [square]}, [odile]) == []
    assert leaks({"coordinates": [corner[0] - 0.0001, corner[1] - 0.0001]}, [odile])

    assert leaks({"x": lon}, [alice])  # a lone coordinate to 6 decimals
    assert leaks({"at": [lat, lon]}, [alice])  # both, any order
    assert leaks({"lon": round(lon, 4), "lat": round(lat, 4)}, [alice])  # rounded: ~10 m off
    assert leaks({"note": f"POINT({lon:.6f} {lat:.6f})"}, [alice])
    assert leaks({"note": ADDRESS_ALICE.upper()}, [alice])
    assert leaks({"items": [{"distance_m": 1234.5}]}, [])
    assert leaks({"distance": 0.8}, [])
    assert leaks({"distance": {**band, "min_km": 1.5}}, [])
    assert leaks({"distance": {**band, "max_km": 3}}, [])
    assert leaks({"km": 2}, [])
