"""The privacy call plan: every operation of the API (read from the OpenAPI spec) and how
to call it as each viewer of the seeded world. ``READS`` run for every viewer, then each
of ``WRITES`` in turn (their order walks matches, conversations and housing through
their states); ``CHECKPOINTS`` re-read after some writes; ``NOT_CALLED`` says why the
rest are left out. What they call on is seeded by
tests/support/privacy_sweep.py's ``make_ctx``.

Over 400 lines because it is two tables, one entry per operation: a new endpoint adds
its entry here (tests/test_privacy.py fails until it does)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyotp
from litestar.testing import AsyncTestClient

from voisins.notify.signing import unsubscribe_token
from voisins.settings import load_settings

from .entitlement import PLACES, person
from .housing import (
    host_body,
    in_days,
    years_ago,
    young_body,
)
from .housing_world import (
    ELSEWHERE,
    HousingWorld,
)
from .people import PASSWORD
from .world import (
    ADDRESS_ALICE,
    HOME_ALICE,
    HOME_BASILE,
    HOME_ODILE,
    HOME_OUTSIDE,
    HOME_VERA,
    HOME_VICTOR,
    World,
    post_body,
    volunteer_body,
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str


async def spec_operations(client: AsyncTestClient) -> dict[str, Operation]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    ops: dict[str, Operation] = {}
    for path, item in response.json()["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops[op["operationId"]] = Operation(method.upper(), path)
    return ops


@dataclass
class Call:
    path: dict[str, int] = field(default_factory=dict)
    query: dict[str, Any] | None = None
    json: Any = None


@dataclass
class Ctx:
    world: World
    lyon: int  # a third centre, far from every seeded place
    dead_letter: int = 0
    # An assisted resident of centre_18 whom the sweep may erase (Odile must stay).
    spare_resident: int = 0
    # Basile's report of one of Victor's messages: it brings their conversation to the
    # centres it reached.
    message_report: int = 0
    # Intergenerational housing: applications, a pair proposed (tests/support/housing_world).
    housing: HousingWorld | None = None
    serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def unique(self) -> int:
        return next(self.serial)


Plan = Callable[[Ctx, str], list[Call]]
MARSEILLE = {
    "type": "Polygon",
    "coordinates": [[[5.36, 43.29], [5.38, 43.29], [5.38, 43.31], [5.36, 43.31], [5.36, 43.29]]],
}
# Somewhere no one lives (1er arrondissement), for bodies that must be refused anyway.
NOWHERE = (2.337001, 48.860002)
HOMES = {"alice": HOME_ALICE, "basile": HOME_BASILE, "vera": HOME_VERA, "stranger": HOME_OUTSIDE}
# Victor posts nothing at his home (no post may sit on a volunteer's home: its covering
# centre would see it), but keeps it when he saves his volunteer profile.
VOLUNTEER_HOMES = {**HOMES, "victor": HOME_VICTOR}


def _browse(ctx: Ctx, viewer: str) -> list[Call]:
    calls = [
        Call(query={"lon": p.lonlat[0], "lat": p.lonlat[1], "radius_km": radius, "per_page": 100})
        for p in PLACES.values()
        for radius in (0.1, 20)
    ]
    calls.append(Call(query={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "category": "courses"}))
    calls.append(Call(query={"lon": HOME_BASILE[0], "lat": HOME_BASILE[1], "kind": "offer"}))
    calls.append(Call(query={"near": "me", "radius_km": 20}))
    return calls


def _login(ctx: Ctx, viewer: str) -> list[Call]:
    who = person(ctx.world, viewer)
    if who is None:
        return [Call(json={"email": "nobody@example.org", "password": "not the password"})]
    body: dict[str, Any] = {"email": who.email, "password": PASSWORD}
    if who.totp_secret:
        body["totp_code"] = pyotp.TOTP(who.totp_secret).now()
    return [Call(json=body)]


def _email(ctx: Ctx, viewer: str) -> str:
    who = person(ctx.world, viewer)
    return who.email if who else "nobody@example.org"


def _create_post(ctx: Ctx, viewer: str) -> list[Call]:
    if viewer in HOMES:
        home = HOMES[viewer]
        location: dict[str, Any] = {"lon": home[0], "lat": home[1]}
        if viewer == "alice":
            location["address"] = ADDRESS_ALICE
        return [Call(json=post_body(home, location=location))]
    # Staff post for an assisted resident; only worker_18 acts for Odile.
    return [Call(json=post_body(HOME_ODILE, on_behalf_of=ctx.world.odile_id))]


def _put_volunteer(ctx: Ctx, viewer: str) -> list[Call]:
    return [Call(json=volunteer_body(VOLUNTEER_HOMES.get(viewer, NOWHERE)))]


def _match(ctx: Ctx, name: str) -> dict[str, int]:
    return {"match_id": ctx.world.matches[name]}


def _every_match(ctx: Ctx, viewer: str) -> list[Call]:
    return [Call({"match_id": m}) for m in ctx.world.matches.values()]


def _consent(ctx: Ctx) -> dict[str, Any]:
    return {
        "method": "phone",
        "obtained_at": datetime.now(UTC).isoformat(),
        "centre_id": ctx.world.centre_18,
    }


def housing_of(ctx: Ctx) -> HousingWorld:
    assert ctx.housing is not None
    return ctx.housing


def _every_application(ctx: Ctx, viewer: str) -> list[Call]:
    return [Call({"application_id": a}) for a in housing_of(ctx).applications]


def _every_pair(ctx: Ctx, viewer: str) -> list[Call]:
    # The seeded pair, and the one the sweep proposes (the next id).
    return [Call({"pair_id": p}) for p in (housing_of(ctx).pair, housing_of(ctx).pair + 1)]


def _create_housing_application(ctx: Ctx, viewer: str) -> list[Call]:
    """Residents apply as young people (Alice, Basile and Victor have an application in
    progress: 409); social workers try to record a host application for Odile (worker_18
    has one: 409; worker_20 does not act for her: 422)."""
    world = ctx.world
    if viewer in ("worker_18", "worker_20", "admin"):
        centre = world.centre_20 if viewer == "worker_20" else world.centre_18
        return [Call(json=host_body(centre, world.odile_id))]
    where = {"lon": ELSEWHERE[0], "lat": ELSEWHERE[1]}
    # Born on a day no seeded applicant was (their birth dates are hunted for).
    return [Call(json=young_body(world.centre_18, location=where, birth_date=years_ago(23)))]


def _step_body(kind: str) -> dict[str, Any]:
    return {"kind": kind, "done_on": in_days(0), "outcome": "favourable"}


def _every_centre(ctx: Ctx) -> list[Call]:
    return [Call({"centre_id": c}) for c in (ctx.world.centre_18, ctx.world.centre_20, ctx.lyon)]


# Reads run first, for every viewer; then each write, for every viewer in turn.
READS: dict[str, Plan] = {
    "healthLive": lambda ctx, v: [Call()],
    "healthReady": lambda ctx, v: [Call()],
    "getMe": lambda ctx, v: [Call()],
    "listCentres": lambda ctx, v: [Call(query={"per_page": 100})],
    "getCentre": lambda ctx, v: [
        Call({"centre_id": c}) for c in (ctx.world.centre_18, ctx.world.centre_20, ctx.lyon)
    ],
    "browsePosts": _browse,
    "listMyPosts": lambda ctx, v: [Call(query={"per_page": 100})],
    "getPost": lambda ctx, v: [Call({"post_id": p}) for p in ctx.world.posts.values()],
    "getVolunteerProfile": lambda ctx, v: [Call()],
    "listAssistedResidents": lambda ctx, v: [Call(query={"per_page": 100})],
    "getAssistedResident": lambda ctx, v: [Call({"resident_id": ctx.world.odile_id})],
    "listNotifications": lambda ctx, v: [Call(query={"per_page": 100})],
    "getNotificationPreferences": lambda ctx, v: [Call()],
    "listDeadLetters": lambda ctx, v: [Call(query={"per_page": 100})],
    "listWebhooks": lambda ctx, v: [Call({"centre_id": ctx.world.centre_18})],
    # A mail's unsubscribe link: a forged token, then Vera's own.
    "unsubscribePage": lambda ctx, v: [
        Call({"token": "forged.token"}),
        Call({"token": unsubscribe_token(load_settings().secret_key, ctx.world.vera.id)}),
    ],
    "listPropositions": lambda ctx, v: [
        Call(query={"per_page": 100}),
        Call(query={"active": False, "per_page": 100}),
    ],
    "getProposition": _every_match,
    "listPostMatches": lambda ctx, v: [Call({"post_id": p}) for p in ctx.world.posts.values()],
    "matchHistory": _every_match,
    "listVisits": _every_match,
    # GDPR: my own data, and an assisted resident's for the social worker acting for them.
    "exportMyData": lambda ctx, v: [Call()],
    "exportAssistedResidentData": lambda ctx, v: [Call({"resident_id": ctx.world.odile_id})],
    # A centre's statistics (its social workers, its partners', administrators): JSON,
    # CSV and the activity map by public cell.
    "getCentreStatistics": lambda ctx, v: _every_centre(ctx),
    "exportCentreStatistics": lambda ctx, v: _every_centre(ctx),
    "getCentreActivityMap": lambda ctx, v: _every_centre(ctx),
    # The centre social workspace (social workers of the covering centres only).
    "listReviewQueue": lambda ctx, v: [Call(query={"per_page": 100})],
    "getVetting": lambda ctx, v: [
        Call({"volunteer_id": p.id}) for p in (ctx.world.vera, ctx.world.victor)
    ],
    # Finding volunteers to vet: by name, e-mail and phone, and the two lists.
    "searchVolunteers": lambda ctx, v: [
        Call(query={"q": q}) for q in ("Vera", ctx.world.vera.email, "Victor", "06")
    ],
    "listVolunteersAwaitingVetting": lambda ctx, v: [Call(query={"per_page": 100})],
    "listExpiringVetting": lambda ctx, v: [Call(query={"per_page": 100})],
    "listFollowups": lambda ctx, v: [Call(query={"open": False, "per_page": 100})],
    "listReports": lambda ctx, v: [Call(query={"open": False, "per_page": 100})],
    "listBlocks": lambda ctx, v: [Call()],
    # Conversations: the two sides' (and the social workers acting for an assisted
    # side's); the covering centre reads one only through a report on one of its messages.
    "listConversations": lambda ctx, v: [Call(query={"per_page": 100})],
    "getConversation": _every_match,
    "listMessages": lambda ctx, v: [
        Call({"match_id": m}, query={"limit": 200}) for m in ctx.world.matches.values()
    ],
    "reportedConversation": lambda ctx, v: [
        Call({"report_id": r}) for r in (ctx.message_report, ctx.message_report + 1000)
    ],
    # Intergenerational housing: the person's and the centre's; a pair its two people's
    # only once introduced.
    "listHousingApplications": lambda ctx, v: [
        Call(),
        Call(query={"side": "host"}),
        Call(query={"status": "open"}),
    ],
    "getHousingApplication": _every_application,
    "listHousingCandidates": _every_application,
    "listHousingPairs": lambda ctx, v: [Call(), Call(query={"live": True})],
    "getHousingPair": _every_pair,
    # The charter the sweep draws up (the first document).
    "getHousingDocument": lambda ctx, v: [
        Call({"pair_id": housing_of(ctx).pair, "document_id": 1})
    ],
}
MATCH_READS = (
    "listPropositions",
    "getProposition",
    "listPostMatches",
    "matchHistory",
    "getConversation",
)
HOUSING_READS = (
    "listHousingApplications",
    "getHousingApplication",
    "listHousingPairs",
    "getHousingPair",
    "getHousingDocument",
)
WRITES: dict[str, Plan] = {
    "addWebhook": lambda ctx, v: [
        Call(
            {"centre_id": ctx.world.centre_18},
            json={
                "url": "https://partenaire.example.org/hooks",
                "secret": "a partner's shared secret",
            },
        )
    ],
    "disableWebhook": lambda ctx, v: [Call({"centre_id": ctx.world.centre_18, "webhook_id": 1})],
    "unsubscribe": lambda ctx, v: [
        Call({"token": unsubscribe_token(load_settings().secret_key, ctx.world.victor.id)})
    ],
    "markAllNotificationsRead": lambda ctx, v: [Call()],
    # Everyone's own first message, and someone else's: 404 unless it is theirs.
    "markNotificationRead": lambda ctx, v: [Call({"notification_id": n}) for n in range(1, 4)],
    "putNotificationPreferences": lambda ctx, v: [
        Call(json={"quiet_start": "22:00", "quiet_end": "07:30", "digest": False})
    ],
    "redriveDeadLetter": lambda ctx, v: [Call({"delivery_id": ctx.dead_letter})],
    "register": lambda ctx, v: [
        Call(
            json={
                "email": f"nouveau{ctx.unique()}@example.org",
                "password": PASSWORD,
                "display_name": "Nouveau",
            }
        )
    ],
    "login": _login,
    "totpSetup": lambda ctx, v: [Call()],
    "passwordResetRequest": lambda ctx, v: [Call(json={"email": _email(ctx, v)})],
    "updateMe": lambda ctx, v: [Call(json={"locale": "fr"})],
    # The same password again: other sessions end, the caller's stays (the sweep's).
    "changePassword": lambda ctx, v: [
        Call(json={"current_password": PASSWORD, "new_password": PASSWORD})
    ],
    # Only asked for: the address stays the account's until the e-mailed link is used.
    "changeEmail": lambda ctx, v: [
        Call(json={"current_password": PASSWORD, "email": f"nouvelle{ctx.unique()}@example.org"})
    ],
    # The link again, to the new address asked for just above.
    "emailConfirmResend": lambda ctx, v: [Call()],
    "createStaffUser": lambda ctx, v: [
        Call(
            json={
                "email": f"ts{ctx.unique()}@example.org",
                "display_name": "Nouvelle TS",
                "password": PASSWORD,
                "role": "social_worker",
                "centre_id": ctx.lyon,
            }
        )
    ],
    "createCentre": lambda ctx, v: [
        Call(json={"name": f"Centre social Marseille {ctx.unique()}", "territory": MARSEILLE})
    ],
    "updateCentre": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18}, json={"contact_phone": "01 40 00 00 00"})
    ],
    "addCentreMember": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18}, json={"user_id": ctx.world.worker_18.id})
    ],
    "addCentrePartner": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18}, json={"partner_id": ctx.lyon})
    ],
    "removeCentrePartner": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18, "partner_id": ctx.lyon})
    ],
    "createPost": _create_post,
    "updatePost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts[name]}, json={"description": "Merci d'avance !"})
        for name in ("alice", "odile")
    ],
    "publishPost": lambda ctx, v: [Call({"post_id": ctx.world.posts["alice_draft"]})],
    "withdrawPost": lambda ctx, v: [Call({"post_id": ctx.world.posts["alice_draft"]})],
    # The match life cycle (with_matches seeded the states), before Alice closes her
    # request: Victor declines Alice's request and Vera accepts it (confirmed at once,
    # not sensitive); worker_18 approves one of Odile's sensitive visits and rejects the
    # other; Alice marks hers done and both sides thank; Basile cancels Victor.
    "declineMatch": lambda ctx, v: [Call(_match(ctx, "alice_victor"))],
    "acceptMatch": lambda ctx, v: [Call(_match(ctx, "alice_vera"))],
    "approveMatch": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_1"), json={"reason": "Bénévole vérifiée, connue du centre"})
    ],
    "rejectMatch": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_2"), json={"reason": "Une visite à la fois"})
    ],
    # The conversations of the three confirmed matches (and attempts on the others):
    # each side writes, reads, then shows its phone and e-mail to the other side.
    "sendMessage": lambda ctx, v: [
        Call({"match_id": m}, json={"text": "Bonjour, à samedi !"})
        for m in ctx.world.matches.values()
    ],
    "markConversationRead": lambda ctx, v: [
        Call({"match_id": m}, json={"up_to": 10**6}) for m in ctx.world.matches.values()
    ],
    "shareContacts": lambda ctx, v: [
        Call({"match_id": m}, json={"phone": True, "email": True})
        for m in ctx.world.matches.values()
    ],
    "completeMatch": lambda ctx, v: [Call(_match(ctx, "alice_vera"))],
    "giveFeedback": lambda ctx, v: [
        Call(_match(ctx, "alice_vera"), json={"kind": "thanks", "comment": "Merci !"})
    ],
    "cancelMatch": lambda ctx, v: [
        Call(_match(ctx, "basile_victor"), json={"reason": "Empêchement"})
    ],
    "closePost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts[name]}, json={"reason": "Aide trouvée"})
        for name in ("alice", "odile")
    ],
    "putVolunteerProfile": _put_volunteer,
    "setVetting": lambda ctx, v: [
        Call(
            {"volunteer_id": ctx.world.vera.id},
            json={"id_checked_at": datetime.now(UTC).isoformat()},
        )
    ],
    "createAssistedResident": lambda ctx, v: [
        Call(json={"display_name": "Paulette", "consent": _consent(ctx)})
    ],
    "recordConsent": lambda ctx, v: [Call({"resident_id": ctx.world.odile_id}, json=_consent(ctx))],
    # Answers {"status", "erasure_id", "message"}; only worker_18 acts for the spare.
    "eraseAssistedResident": lambda ctx, v: [
        Call({"resident_id": ctx.spare_resident}, json={"confirm": True})
    ],
    # Housing: applications, steps, a second pair proposed; the seeded pair is introduced
    # (meeting), its charter drawn up, its trial begun, and it ends (before the end every
    # viewer reads housing again: the young person now sees the host's home).
    "createHousingApplication": _create_housing_application,
    "recordHousingApplicationStep": lambda ctx, v: [
        Call({"application_id": housing_of(ctx).host_2}, json=_step_body("home_visit")),
        Call({"application_id": housing_of(ctx).young_2}, json=_step_body("references")),
    ],
    "withdrawHousingApplication": lambda ctx, v: [
        Call({"application_id": housing_of(ctx).spare_young})
    ],
    "proposeHousingPair": lambda ctx, v: [
        Call(
            json={
                "host_application_id": housing_of(ctx).host_2,
                "young_application_id": housing_of(ctx).young_2,
            }
        )
    ],
    "recordHousingPairStep": lambda ctx, v: [
        Call({"pair_id": housing_of(ctx).pair}, json=_step_body("meeting")),
        Call({"pair_id": housing_of(ctx).pair}, json=_step_body("trial")),
    ],
    "generateHousingDocument": lambda ctx, v: [
        Call({"pair_id": housing_of(ctx).pair}, json={"kind": kind})
        for kind in ("charter", "agreement")
    ],
    "endHousingPair": lambda ctx, v: [
        Call(
            {"pair_id": housing_of(ctx).pair},
            json={
                "reason": "young_request",
                "ended_on": in_days(0),
                "host_feedback": "Très bonne entente.",
                "young_feedback": "Merci pour tout.",
            },
        )
    ],
    # Safeguarding, last: a block withdraws propositions the match writes above need.
    "createReport": lambda ctx, v: [
        Call(json={"post_id": ctx.world.posts["alice"], "reason": "inappropriate"}),
        Call(json={"match_id": ctx.world.matches["basile_victor"], "reason": "no_show"}),
    ],
    "resolveReport": lambda ctx, v: [Call({"report_id": 1}, json={"resolution": "Vu au centre"})],
    "approvePost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts["alice_review_1"]}, json={"reason": "Demande claire"})
    ],
    "rejectPost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts["alice_review_2"]}, json={"reason": "Hors du cadre"})
    ],
    "recordFollowupContact": lambda ctx, v: [
        Call({"followup_id": 1}, json={"outcome": "Appel, tout va bien"})
    ],
    "recordCheckin": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_1"), json={"visited_on": date.today().isoformat()})
    ],
    "stopArrangement": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_1"), json={"reason": "Fin des visites"})
    ],
    "blockPerson": lambda ctx, v: [
        Call(json={"post_id": ctx.world.posts["alice"]}),
        Call(json={"match_id": ctx.world.matches["basile_victor"]}),
    ],
    "unblockPerson": lambda ctx, v: [Call({"block_id": 1})],
}
# After these writes every viewer runs the match reads again, so that the states they
# lead to (confirmed, confirmed after review, cancelled) are scanned before later writes
# move on; the full read pass runs once more at the end.
CHECKPOINTS = {
    "acceptMatch": MATCH_READS,
    "approveMatch": MATCH_READS,
    "cancelMatch": MATCH_READS,
    "generateHousingDocument": HOUSING_READS,
}
# Operations the privacy sweep does not call, and why each cannot show a place.
NOT_CALLED = {
    # A stream that never ends; it carries {"type", "event_id"} only (tests/notify).
    "inboxEvents": "an endless event stream of ids",
    # A stream that never ends; its messages are listMessages' (swept above), to the
    # same two sides (tests/test_access_matrix.py reads it as every viewer).
    "conversationEvents": "an endless event stream of the messages listMessages answers",
    # Ends the caller's session (the sweep needs it); answers {"status": "logged_out"}.
    "logout": "ends the session",
    # Needs a code from a fresh TOTP set-up; answers the caller's own account (like getMe).
    "totpEnable": "needs a fresh TOTP enrolment",
    # Needs the token sent by e-mail; answers {"status": "password_changed"} only.
    "passwordResetConfirm": "needs the e-mailed token",
    # Needs the token sent by e-mail; answers {"status": "email_confirmed"} only.
    "emailConfirm": "needs the e-mailed token",
    # Erases the caller, whom the sweep still needs; answers {"status", "erasure_id",
    # "message"} only. tests/test_gdpr.py erases a canary and hunts for it in pg_dump.
    "eraseMyAccount": "erases the caller",
    # Answer ids and counts only ({"user_id", "status", "cancelled_matches", …}); suspending
    # a sweep viewer would end the session the sweep needs (tests/test_moderation.py).
    "suspendPerson": "ends a viewer's session",
    "reinstatePerson": "follows a suspension",
}
