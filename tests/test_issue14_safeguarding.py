"""Issue 14, authorization and safeguarding, on the real services: vetting by the
centres whose territory covers the volunteer's home, every report reaching a person,
a staff reason split into an internal note (never sent) and a message, a partner
centre seeing an exact place only while acting on the post, and blocking that tells
nothing of who wrote what.

The world (tests/support/world.py): the Goutte d'Or (centre_18, worker_18) and
Belleville (centre_20, worker_20); Vera lives in the Goutte d'Or, Victor in Belleville.

Over 400 lines: one concern, who may act on whom, through the API and the pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from .support.burst_worker import deliver_pending
from .support.csrf import csrf_of
from .support.followups import no_response_followup
from .support.mail import SmtpServer, received, with_smtp
from .support.people import audit_mark
from .support.sign_in import log_in_with_code, sign_in
from .support.world import (
    ADDRESS_ALICE,
    HOME_ALICE,
    HOME_OUTSIDE,
    World,
    build_world,
    post_body,
    vetting_body,
    vetting_refused,
    volunteer_body,
    with_matches,
)

API = "/api/v1"
# The suspension reason of the finding, and the other notes: none of them may
# reach anyone but staff.
SUSPENSION_NOTE = "Propos déplacés signalés deux fois, dossier 2026-17"
REJECTION_NOTE = "Vera a déjà deux visites cette semaine, dossier 2026-18"
APPROVAL_NOTE = "Extrait vu au centre, dossier 2026-19"
POST_NOTE = "Annonce commerciale déguisée, dossier 2026-20"
REJECTION_MESSAGE = "Une autre bénévole vous sera proposée."
POST_MESSAGE = "Les ventes n'ont pas leur place sur Voisins."


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def _partners(client: AsyncTestClient, world: World) -> None:
    """Belleville becomes the Goutte d'Or's partner centre."""
    await _ok(
        await client.post(
            f"{API}/centres/{world.centre_18}/partners",
            json={"partner_id": world.centre_20},
            headers=world.admin.headers,
        )
    )


async def _audited(engine: AsyncEngine, since: int, actor: int, action: str) -> list[int]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT object_id FROM audit_log WHERE id > :m AND actor_id = :a "
                        "AND action = :x AND outcome = 'allowed' ORDER BY id"
                    ),
                    {"m": since, "a": actor, "x": action},
                )
            ).scalars()
        )


# ---------------------------------------------------------------------------------------
# 1. Vetting scope
# ---------------------------------------------------------------------------------------


async def test_only_the_centres_covering_the_volunteers_home_vet_them_not_a_partner(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    await _partners(client, world)
    vera = world.vera
    url = f"{API}/volunteers/{vera.id}/vetting"
    extract = (date.today() - timedelta(days=10)).isoformat()
    body = vetting_body(10)

    # Belleville acts for the Goutte d'Or as its partner, but its territory does not
    # cover Vera's home: no record read or written, through the API or the pages.
    await vetting_refused(client, url, world.worker_20)
    found = await _ok(
        await client.get(f"{API}/volunteers", params={"q": "Vera"},
                         headers=world.worker_20.headers)
    )  # fmt: skip
    assert vera.id not in [v["id"] for v in found]
    sign_in(client, world.worker_20)
    page = await client.get(f"/centre/verification/{vera.id}")
    assert page.status_code == 403 and vera.email not in page.text
    token = csrf_of((await client.get("/centre/verification")).text)
    posted = await client.post(
        f"/centre/verification/{vera.id}",
        data={"_csrf_token": token, "record_extract_date": extract},
    )
    assert posted.status_code == 403
    client.cookies.clear()
    assert await _scalar(
        engine,
        "SELECT count(*) FROM volunteers WHERE user_id = :v "
        "AND (id_checked_at IS NOT NULL OR record_extract_date IS NOT NULL)",
        v=vera.id,
    ) == 0  # fmt: skip

    # Administrators read every record and write none; the territory's worker writes.
    assert (await client.get(url, headers=world.admin.headers)).status_code == 200
    assert (await client.put(url, json=body, headers=world.admin.headers)).status_code == 403
    done = await _ok(await client.put(url, json=body, headers=world.worker_18.headers))
    assert done["vetted"] is True and done["record_checked_by"] == world.worker_18.id
    # And Belleville's own volunteer is Belleville's to vet.
    victor = await client.put(
        f"{API}/volunteers/{world.victor.id}/vetting", json=body, headers=world.worker_20.headers
    )
    assert victor.status_code == 200, victor.text


# ---------------------------------------------------------------------------------------
# 2. Report routing
# ---------------------------------------------------------------------------------------


async def _listed(client: AsyncTestClient, who: Any) -> list[int]:
    page = await _ok(await client.get(f"{API}/moderation/reports", headers=who.headers))
    return [r["id"] for r in page["items"]]


async def test_every_report_reaches_the_covering_centre_or_else_the_administrators(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    covered = (
        await _ok(
            await client.post(
                f"{API}/reports",
                json={"post_id": world.posts["alice"], "reason": "inappropriate"},
                headers=world.vera.headers,
            ),
            201,
        )
    )["id"]
    outside_post = (
        await _ok(
            await client.post(
                f"{API}/reports",
                json={"post_id": world.posts["outside"], "reason": "fraud"},
                headers=world.vera.headers,
            ),
            201,
        )
    )["id"]
    # Vera, proposed Alice's request, moves outside every territory; Alice reports her:
    # the request's centre has it.
    alice_vera = await _scalar(
        engine, "SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v",
        p=world.posts["alice"], v=world.vera.id,
    )  # fmt: skip
    await _ok(
        await client.put(
            f"{API}/me/volunteer", json=volunteer_body(HOME_OUTSIDE), headers=world.vera.headers
        )
    )
    about_match = (
        await _ok(
            await client.post(
                f"{API}/reports",
                json={"match_id": alice_vera, "reason": "unsafe", "comment": "Propos déplacés"},
                headers=world.alice.headers,
            ),
            201,
        )
    )["id"]
    # Then she is proposed a request outside every territory too, and reported there.
    outside = await _ok(
        await client.post(
            f"{API}/posts", json=post_body(HOME_OUTSIDE, title="Courses"),
            headers=world.stranger.headers,
        ),
        201,
    )  # fmt: skip
    outside_match = await _scalar(
        engine, "SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v",
        p=outside["id"], v=world.vera.id,
    )  # fmt: skip
    about_vera = (
        await _ok(
            await client.post(
                f"{API}/reports",
                json={"match_id": outside_match, "reason": "unsafe"},
                headers=world.stranger.headers,
            ),
            201,
        )
    )["id"]

    assert await _listed(client, world.worker_18) == [covered, about_match]
    assert await _listed(client, world.worker_20) == []
    # Nobody covers the other two: the administrators have them, through the API and
    # their page of what no centre covers.
    assert await _listed(client, world.admin) == [outside_post, about_vera]
    sign_in(client, world.admin)
    page = await client.get("/admin/hors-territoire")
    assert page.status_code == 200
    for report_id in (outside_post, about_vera):
        assert f'id="signalement-{report_id}"' in page.text
    assert f'id="signalement-{covered}"' not in page.text
    assert f'id="signalement-{about_match}"' not in page.text
    # Every report reached someone.
    assert await _scalar(
        engine,
        "SELECT count(*) FROM reports r WHERE NOT EXISTS "
        "(SELECT 1 FROM report_centres rc WHERE rc.report_id = r.id)",
    ) == 2  # fmt: skip


# ---------------------------------------------------------------------------------------
# 3. A staff reason: an internal note and a message
# ---------------------------------------------------------------------------------------


async def _outgoing_texts(engine: AsyncEngine) -> str:
    """Everything the service holds to send or has sent: the outbox, the in-app
    notifications, the deliveries (every column, as text)."""
    async with engine.connect() as conn:
        rows = [
            *(await conn.execute(text("SELECT t::text FROM outbox t"))).scalars(),
            *(await conn.execute(text("SELECT t::text FROM notifications t"))).scalars(),
            *(await conn.execute(text("SELECT t::text FROM deliveries t"))).scalars(),
        ]
    return "\n".join(rows)


async def test_staff_notes_are_kept_and_never_sent_only_the_message_is(
    settings: Settings,
    engine: AsyncEngine,
    smtp_server: SmtpServer,
) -> None:
    mail = with_smtp(settings, smtp_server.port)
    async with AsyncTestClient(create_app(mail)) as client:
        world = await with_matches(client, engine, await build_world(client, engine))
        mark = await audit_mark(engine)
        m = world.matches
        # Victor (Belleville) is suspended: his confirmed match with Basile ends.
        await _ok(
            await client.post(
                f"{API}/moderation/people/{world.victor.id}/suspend",
                json={"note": SUSPENSION_NOTE},
                headers=world.worker_20.headers,
            )
        )
        # worker_18 rejects one of Odile's visits with a message, approves the other
        # with a note under its former name ``reason``.
        await _ok(
            await client.post(
                f"{API}/matches/{m['odile_vera_2']}/reject",
                json={"note": REJECTION_NOTE, "message": REJECTION_MESSAGE},
                headers=world.worker_18.headers,
            )
        )
        await _ok(
            await client.post(
                f"{API}/matches/{m['odile_vera_1']}/approve",
                json={"reason": APPROVAL_NOTE},
                headers=world.worker_18.headers,
            )
        )
        # The Goutte d'Or reviews every post: Alice's is refused, with a message.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE centres SET moderation_level = 'all_posts' WHERE id = :c"),
                {"c": world.centre_18},
            )
        held = await _ok(
            await client.post(
                f"{API}/posts", json=post_body(HOME_ALICE, title="Vente de tupperware"),
                headers=world.alice.headers,
            ),
            201,
        )  # fmt: skip
        assert held["status"] == "in_review"
        await _ok(
            await client.post(
                f"{API}/moderation/posts/{held['id']}/reject",
                json={"note": POST_NOTE, "message": POST_MESSAGE},
                headers=world.worker_18.headers,
            )
        )
        seen_by_alice = await client.get(f"{API}/posts/{held['id']}", headers=world.alice.headers)
        history = {
            who: (
                await client.get(f"{API}/matches/{m['odile_vera_2']}/history", headers=p.headers)
            ).text
            for who, p in (("vera", world.vera), ("worker_18", world.worker_18))
        }
        assert await deliver_pending(engine, mail) >= 1

    notes = (SUSPENSION_NOTE, REJECTION_NOTE, APPROVAL_NOTE, POST_NOTE)
    mails = received(smtp_server)
    everything_sent = "\n".join(f"{x.subject}\n{x.text}\n{x.html}" for x in mails)
    everything_sent += "\n" + await _outgoing_texts(engine)
    for note in notes:
        assert note not in everything_sent, note
    # The pipeline ran: Basile heard that his match ended (in neutral words), the
    # messages went out as written.
    assert any(x.to == world.basile.email for x in mails)
    assert REJECTION_MESSAGE in everything_sent and POST_MESSAGE in everything_sent
    # The author reads the message, never the note; the volunteer's history has no
    # note, the social worker's has it.
    assert seen_by_alice.json()["review_reason"] == POST_MESSAGE
    assert POST_NOTE not in seen_by_alice.text
    assert REJECTION_NOTE not in history["vera"] and REJECTION_NOTE in history["worker_18"]

    # The notes are kept, and each decision audited.
    async with engine.connect() as conn:
        kept = (
            await conn.execute(
                text(
                    "SELECT (SELECT suspension_reason FROM users WHERE id = :victor) AS person, "
                    "(SELECT close_note FROM matches WHERE id = :cancelled) AS cancelled, "
                    "(SELECT close_reason FROM matches WHERE id = :cancelled) AS told, "
                    "(SELECT review_note FROM matches WHERE id = :rejected) AS rejected, "
                    "(SELECT review_note FROM matches WHERE id = :approved) AS approved, "
                    "(SELECT review_reason FROM matches WHERE id = :approved) AS approved_told, "
                    "(SELECT review_note FROM posts WHERE id = :post) AS post"
                ),
                {
                    "victor": world.victor.id,
                    "cancelled": m["basile_victor"],
                    "rejected": m["odile_vera_2"],
                    "approved": m["odile_vera_1"],
                    "post": held["id"],
                },
            )
        ).one()
    assert kept.person == kept.cancelled == SUSPENSION_NOTE and kept.told is None
    assert kept.rejected == REJECTION_NOTE and kept.post == POST_NOTE
    assert kept.approved == APPROVAL_NOTE and kept.approved_told is None
    assert await _audited(engine, mark, world.worker_20.id, "person.suspend") == [world.victor.id]
    assert await _audited(engine, mark, world.worker_18.id, "match.reject") == [m["odile_vera_2"]]
    assert await _audited(engine, mark, world.worker_18.id, "post.reject") == [held["id"]]


async def test_the_queue_form_takes_a_note_and_a_message_apart(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await with_matches(client, engine, await build_world(client, engine))
    rejected = world.matches["odile_vera_2"]
    await log_in_with_code(client, world.worker_18)
    queue = await client.get("/centre")
    assert 'name="note"' in queue.text and 'name="message"' in queue.text
    done = await client.post(
        f"/centre/validation/match/{rejected}",
        data={"_csrf_token": csrf_of(queue.text), "decision": "reject",
              "note": REJECTION_NOTE, "message": REJECTION_MESSAGE},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT review_note, review_reason FROM matches WHERE id = :m"),
                {"m": rejected},
            )
        ).one()
    assert (row.review_note, row.review_reason) == (REJECTION_NOTE, REJECTION_MESSAGE)


# ---------------------------------------------------------------------------------------
# 4. Partners see an exact place only for what they act on
# ---------------------------------------------------------------------------------------


def _shows_exact_place(body: str) -> bool:
    return f"{HOME_ALICE[0]}" in body or f"{HOME_ALICE[1]}" in body or ADDRESS_ALICE in body


async def test_a_partner_centre_sees_an_exact_place_only_while_acting_on_the_post(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    await _partners(client, world)
    alice_post = world.posts["alice"]
    url = f"{API}/posts/{alice_post}"

    # The covering centre's own worker sees Alice's place; the partner does not.
    assert _shows_exact_place((await client.get(url, headers=world.worker_18.headers)).text)
    partner_view = await _ok(await client.get(url, headers=world.worker_20.headers))
    assert not _shows_exact_place(str(partner_view)) and partner_view["cell"]
    sign_in(client, world.worker_20)
    assert not _shows_exact_place((await client.get(f"/annonces/{alice_post}")).text)
    client.cookies.clear()

    # Once the post is on the follow-up list of the Goutte d'Or, its partner acts on
    # it: the place is shown, and the reveal traced.
    followup = await no_response_followup(engine, alice_post, world.centre_18)
    mark = await audit_mark(engine)
    assert _shows_exact_place((await client.get(url, headers=world.worker_20.headers)).text)
    assert await _audited(engine, mark, world.worker_20.id, "post.view_private") == [alice_post]
    # Contacted, the item is done: the place is the partner's no more.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE followups SET contacted_at = now(), contacted_by = :w WHERE id = :f"),
            {"w": world.worker_20.id, "f": followup},
        )
    assert not _shows_exact_place((await client.get(url, headers=world.worker_20.headers)).text)


# ---------------------------------------------------------------------------------------
# 5. Blocking links no posts to an author
# ---------------------------------------------------------------------------------------


async def test_blocking_answers_the_same_whatever_the_authors_other_posts(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    second = (
        await _ok(
            await client.post(
                f"{API}/posts", json=post_body(HOME_ALICE, title="Encore des courses"),
                headers=world.alice.headers,
            ),
            201,
        )
    )["id"]  # fmt: skip
    withdrawn = (
        await _ok(
            await client.post(
                f"{API}/posts", json=post_body(HOME_ALICE, title="Un meuble à monter"),
                headers=world.alice.headers,
            ),
            201,
        )
    )["id"]  # fmt: skip
    await _ok(await client.post(f"{API}/posts/{withdrawn}/withdraw", headers=world.alice.headers))

    async def block(**target: int) -> tuple[int, Any]:
        answer = await client.post(f"{API}/me/blocks", json=target, headers=world.vera.headers)
        return answer.status_code, answer.json()

    # Alice's first post, Basile's offer, Alice's second post, then the match of Alice's
    # request: the same answer each time, whether the author was blocked already or not.
    answers = [
        await block(post_id=world.posts["alice"]),
        await block(post_id=world.posts["basile"]),
        await block(post_id=second),
        await block(
            match_id=await _scalar(
                engine, "SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v",
                p=world.posts["alice"], v=world.vera.id,
            )
        ),
    ]  # fmt: skip
    assert len({repr(a) for a in answers}) == 1, answers
    assert answers[0][0] == 201

    # A withdrawn post is the 404 of GET /posts/{id}, as is a post that never was.
    for post_id in (withdrawn, 999_999):
        refused = await client.post(
            f"{API}/me/blocks", json={"post_id": post_id}, headers=world.vera.headers
        )
        read = await client.get(f"{API}/posts/{post_id}", headers=world.vera.headers)
        assert refused.status_code == read.status_code == 404
        assert refused.json()["error"] == read.json()["error"]
    # The two authors are blocked, once each; the list has an entry per block made,
    # so counting it tells nothing either.
    blocked = "SELECT count(*) FROM blocks WHERE blocker_id = :v"
    assert await _scalar(engine, blocked, v=world.vera.id) == 2
    listed = await _ok(await client.get(f"{API}/me/blocks", headers=world.vera.headers))
    assert len(listed) == 4 and {b["display_name"] for b in listed} == {None}
    # Lifting the entries one by one: a person is unblocked with the last that names them.
    for entry in listed:
        lifted = await client.delete(f"{API}/me/blocks/{entry['id']}", headers=world.vera.headers)
        assert lifted.status_code == 204
    assert await _scalar(engine, blocked, v=world.vera.id) == 0
