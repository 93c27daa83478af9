"""«Signaler» and «Bloquer» in the pages (issue 15), over the real app: a post, a
proposition, a match and a message reported from their pages with the right target and
the reporter named nowhere the reported person looks; a block from a match's page
closes the conversation both ways and hides contacts; the covering centre reads a
reported conversation (audited), another centre gets the 404 page; English pages."""

from __future__ import annotations

import html
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.csrf import csrf_of
from ..support.people import Person, audit_mark, register
from ..support.sign_in import log_in_with_code, sign_in
from ..support.world import HOME_ALICE, World, build_world, post_body, with_matches

# What a report looks like in the database: (reporter, post, reported person, match,
# message, reason, comment).
REPORT_ROW = (
    "SELECT reporter_id, post_id, reported_id, match_id, message_id, reason, comment "
    "FROM reports ORDER BY id DESC LIMIT 1"
)


def _plain(page: str) -> str:
    return html.unescape(page).replace("\xa0", " ").replace("\u202f", " ")


async def _world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await with_matches(client, engine, await build_world(client, engine))
    client.cookies.clear()
    return world


async def _report(
    client: AsyncTestClient, query: str, reason: str = "unsafe", comment: str = ""
) -> Any:
    """Open the form at /signaler?<query> and send it, as a person would."""
    form = await client.get(f"/signaler?{query}")
    assert form.status_code == 200, form.text
    assert 'type="radio" name="reason" value="fraud"' in form.text
    return await client.post(
        f"/signaler?{query}",
        data={"_csrf_token": csrf_of(form.text), "reason": reason, "comment": comment},
        follow_redirects=False,
    )


async def _last_report(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(REPORT_ROW))).one()


async def _message(client: AsyncTestClient, author: Person, match_id: int, words: str) -> int:
    sent = await client.post(
        f"/api/v1/matches/{match_id}/messages", json={"text": words}, headers=author.headers
    )
    assert sent.status_code == 201, sent.text
    return int(sent.json()["id"])


async def test_a_post_a_proposition_a_match_and_a_message_are_reported_from_their_pages(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await _world(client, engine)
    alice_post, basile_post = world.posts["alice"], world.posts["basile_request"]
    proposition, match = world.matches["alice_vera"], world.matches["basile_victor"]

    # A post, from its public page (Vera is not its author).
    sign_in(client, world.vera)
    public = await client.get(f"/annonces/{alice_post}")
    assert f'href="/signaler?annonce={alice_post}"' in public.text
    assert f'href="/bloquer?annonce={alice_post}"' in public.text
    sent = await _report(client, f"annonce={alice_post}", "fraud", "Demande de l'argent")
    assert sent.status_code == 303 and sent.headers["location"] == "/signaler/merci"
    thanks = await client.get("/signaler/merci")
    assert "Merci, le centre social a reçu votre signalement" in _plain(thanks.text)
    row = await _last_report(engine)
    assert (row.reporter_id, row.post_id, row.reported_id) == (world.vera.id, alice_post, None)
    assert (row.reason, row.comment, row.match_id, row.message_id) == (
        "fraud", "Demande de l'argent", None, None,
    )  # fmt: skip

    # A proposition, from the volunteer's list: the other side is the request's author.
    listed = await client.get("/propositions")
    assert f'href="/signaler?proposition={proposition}"' in listed.text
    assert (await _report(client, f"proposition={proposition}", "inappropriate")).status_code == 303
    row = await _last_report(engine)
    assert (row.reporter_id, row.reported_id, row.post_id) == (world.vera.id, world.alice.id, None)

    # A confirmed match, from the requester's post page.
    sign_in(client, world.basile)
    mine = await client.get(f"/annonces/{basile_post}")
    assert f'href="/signaler?mise_en_relation={match}"' in mine.text
    assert f'href="/signaler?annonce={basile_post}"' not in mine.text  # not one's own post
    sent = await _report(client, f"mise_en_relation={match}", "no_show", "Jamais venu")
    assert sent.status_code == 303
    row = await _last_report(engine)
    assert (row.reporter_id, row.reported_id, row.reason) == (
        world.basile.id, world.victor.id, "no_show",
    )  # fmt: skip

    # A message, from the conversation's page: the report names it and its conversation.
    message = await _message(client, world.victor, match, "Donnez-moi votre code de carte")
    conversation = await client.get(f"/conversations/{match}")
    assert f'href="/signaler?message={message}"' in conversation.text
    assert (
        await _report(client, f"message={message}", "fraud", "Il veut mon code")
    ).status_code == 303
    row = await _last_report(engine)
    assert (row.reporter_id, row.reported_id, row.match_id, row.message_id) == (
        world.basile.id, world.victor.id, match, message,
    )  # fmt: skip

    # The reported people open their pages: nothing says they were reported, or by whom.
    for person, paths in (
        (world.victor, ["/mes-aides", f"/conversations/{match}", "/messages", "/mon-compte"]),
        (world.alice, [f"/annonces/{alice_post}", "/mes-annonces", "/messages", "/mon-compte"]),
    ):
        sign_in(client, person)
        for path in paths:
            shown = await client.get(path)
            assert shown.status_code == 200, (path, shown.text)
            page = _plain(shown.text).lower()
            assert "signalement" not in page and "signalé" not in page, path
            assert "jamais venu" not in page and "il veut mon code" not in page, path
            assert "demande de l'argent" not in page, path
        if person is world.alice:
            # Vera is no match of Alice's yet (a proposition names nobody to her).
            assert "Vera" not in _plain((await client.get(f"/annonces/{alice_post}")).text)


async def test_reports_refused_are_clear_pages_never_a_500(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await _world(client, engine)
    sign_in(client, world.alice)
    # One's own post: the form is not even offered.
    own = await client.get(f"/signaler?annonce={world.posts['alice']}")
    assert own.status_code == 422
    assert "C'est votre propre annonce" in _plain(own.text)
    # Someone else's match: said plainly, the same as one that does not exist.
    for match_id in (world.matches["basile_victor"], 999_999):
        other = await _report(client, f"mise_en_relation={match_id}")
        assert other.status_code == 404, other.text
        assert "Cette mise en relation n'est pas la vôtre, ou n'existe plus." in _plain(other.text)
    # No reason chosen; a comment too long: the form again, with the messages.
    form = await client.get(f"/signaler?annonce={world.posts['basile']}")
    missing = await client.post(
        f"/signaler?annonce={world.posts['basile']}",
        data={"_csrf_token": csrf_of(form.text), "comment": "x" * 1001},
    )
    assert missing.status_code == 422
    assert "Choisissez une raison." in missing.text and 'id="reason-error"' in missing.text
    assert "Le commentaire fait 1 000 caractères au plus." in _plain(missing.text)
    # Nothing named, two things named, a made-up id: the 400 page.
    for query in ("", "annonce=1&message=2", "annonce=%C2%B2", "annonce=99999999999999999999"):
        bad = await client.get(f"/signaler?{query}")
        assert bad.status_code == 400, query
        assert bad.headers["content-type"].startswith("text/html")
    # Without the form's token: refused before anything.
    assert (await client.post(f"/signaler?annonce={world.posts['basile']}")).status_code == 403
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM reports"))).scalar_one() == 0

    # The per-account limit of reports (refused ones count): the 429 page.
    limited = msgspec.structs.replace(settings, limit_report_per_hour=2)
    async with AsyncTestClient(create_app(limited)) as other_client:
        sam = await register(other_client, "Samia")
        sign_in(other_client, sam)
        post_id = world.posts["basile"]
        statuses = [(await _report(other_client, f"annonce={post_id}")).status_code for _ in "abc"]
        assert statuses == [303, 303, 429]
        refused = await _report(other_client, f"annonce={post_id}")
        assert refused.status_code == 429
        assert "Trop d'essais en peu de temps" in _plain(refused.text)


async def test_blocking_from_a_match_page_closes_the_conversation_and_hides_contacts(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await _world(client, engine)
    match, basile_post = world.matches["basile_victor"], world.posts["basile_request"]
    victor_phone, basile_phone = world.phones["victor"], world.phones["basile"]
    for person in (world.basile, world.victor):
        shared = await client.put(
            f"/api/v1/matches/{match}/contacts",
            json={"phone": True, "email": False},
            headers=person.headers,
        )
        assert shared.status_code == 200, shared.text
    sign_in(client, world.basile)
    before = await client.get(f"/annonces/{basile_post}")
    assert victor_phone in before.text
    assert f'href="/bloquer?mise_en_relation={match}"' in before.text

    explained = await client.get(f"/bloquer?mise_en_relation={match}")
    assert explained.status_code == 200
    words = _plain(explained.text)
    assert "votre conversation avec elle se ferme" in words
    assert "ses coordonnées et son adresse ne vous sont plus montrées" in words
    assert "vous ne recevrez plus de propositions" in words
    done = await client.post(
        f"/bloquer?mise_en_relation={match}",
        data={"_csrf_token": csrf_of(explained.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/bloquer/fait"
    confirmed = await client.get("/bloquer/fait")
    assert 'href="/mon-compte/blocages"' in confirmed.text

    # Read-only for both sides, and nobody can write any more.
    for person in (world.basile, world.victor):
        state = (
            await client.get(f"/api/v1/matches/{match}/conversation", headers=person.headers)
        ).json()
        assert (state["state"], state["closed_because"]) == ("read_only", "blocked")
        assert state["their_contacts"] == {"phone": None, "email": None}
        refused = await client.post(
            f"/api/v1/matches/{match}/messages", json={"text": "Allô ?"}, headers=person.headers
        )
        assert refused.status_code == 409
    # Contacts gone from both sides' pages.
    assert victor_phone not in (await client.get(f"/annonces/{basile_post}")).text
    sign_in(client, world.victor)
    assert basile_phone not in (await client.get("/mes-aides")).text
    assert basile_phone not in (await client.get(f"/conversations/{match}")).text

    # My blocks: Victor is named (a confirmed match introduced them); lifting it.
    sign_in(client, world.basile)
    assert 'href="/mon-compte/blocages"' in (await client.get("/mon-compte")).text
    blocks = await client.get("/mon-compte/blocages")
    assert "Victor" in blocks.text
    async with engine.connect() as conn:
        block_id = (await conn.execute(text("SELECT max(id) FROM block_entries"))).scalar_one()
    lifted = await client.post(
        f"/mon-compte/blocages/{block_id}/lever",
        data={"_csrf_token": csrf_of(blocks.text)},
        follow_redirects=False,
    )
    assert lifted.headers["location"] == "/mon-compte/blocages?fait=debloque"
    after = await client.get("/mon-compte/blocages?fait=debloque")
    assert "Le blocage est levé." in _plain(after.text) and "Victor" not in after.text
    state = await client.get(f"/api/v1/matches/{match}/conversation", headers=world.basile.headers)
    assert state.json()["state"] == "open"


async def test_blocks_refused_are_clear_pages(client: AsyncTestClient, engine: AsyncEngine) -> None:
    world = await _world(client, engine)
    sign_in(client, world.alice)
    own = await client.get(f"/bloquer?annonce={world.posts['alice']}")
    assert own.status_code == 422 and "C'est votre propre annonce" in _plain(own.text)
    form = await client.get(f"/bloquer?annonce={world.posts['basile']}")
    assert form.status_code == 200
    others = await client.post(
        f"/bloquer?mise_en_relation={world.matches['basile_victor']}",
        data={"_csrf_token": csrf_of(form.text)},
    )
    assert others.status_code == 404
    assert "Cette mise en relation n'est pas la vôtre, ou n'existe plus." in _plain(others.text)
    # Blocking through a post names nobody, and the list does not either.
    blocked = await client.post(
        f"/bloquer?annonce={world.posts['basile']}",
        data={"_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert blocked.status_code == 303
    blocks = await client.get("/mon-compte/blocages")
    assert "Basile" not in blocks.text
    assert "Une personne bloquée depuis une annonce" in blocks.text
    # Staff handle reports; their view of a post offers neither link.
    sign_in(client, world.worker_20)
    staff_view = await client.get(f"/annonces/{world.posts['basile']}")
    assert staff_view.status_code == 200
    assert "/signaler?" not in staff_view.text and "/bloquer?" not in staff_view.text
    # Someone else's block cannot be lifted.
    async with engine.connect() as conn:
        block_id = (await conn.execute(text("SELECT max(id) FROM block_entries"))).scalar_one()
    sign_in(client, world.vera)
    page = await client.get("/mon-compte/blocages")
    refused = await client.post(
        f"/mon-compte/blocages/{block_id}/lever", data={"_csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 404


async def test_the_covering_centre_reads_the_reported_conversation_and_no_other_centre(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await _world(client, engine)
    match = world.matches["basile_victor"]  # Belleville: the 20e's centre
    await _message(client, world.basile, match, "Bonjour Victor, à samedi")
    message = await _message(client, world.victor, match, "Envoyez-moi 50 euros d'avance")
    sign_in(client, world.basile)
    assert (await _report(client, f"message={message}", "fraud", "Arnaque ?")).status_code == 303
    report_id = (await _fetch(engine, "SELECT id FROM reports WHERE message_id = :m", m=message)).id
    # A report about a post brings no conversation in.
    sign_in(client, world.vera)
    await _report(client, f"annonce={world.posts['basile']}")
    post_report = (await _fetch(engine, "SELECT max(id) AS id FROM reports")).id
    client.cookies.clear()

    mark = await audit_mark(engine)
    await log_in_with_code(client, world.worker_20)
    reports = await client.get("/centre/signalements")
    link = f'href="/centre/signalements/{report_id}/conversation"'
    assert link in reports.text and "Lire la conversation signalée" in _plain(reports.text)
    assert f'href="/centre/signalements/{post_report}/conversation"' not in reports.text
    read = await client.get(f"/centre/signalements/{report_id}/conversation")
    assert read.status_code == 200, read.text
    page = _plain(read.text)
    assert "Bonjour Victor, à samedi" in page and "Envoyez-moi 50 euros d'avance" in page
    assert "Basile" in page and "Victor" in page
    # The reported message is the one marked.
    marked = read.text.split(f'id="message-{message}"')[0].rsplit("<li", 1)[1]
    assert "reported" in marked
    assert read.text.count("Message signalé") == 1
    async with engine.connect() as conn:
        audited = (
            await conn.execute(
                text(
                    "SELECT actor_id, object_type, object_id FROM audit_log WHERE id > :mark "
                    "AND action = 'conversation.read_for_report'"
                ),
                {"mark": mark},
            )
        ).all()
    assert [(a.actor_id, a.object_type, int(a.object_id)) for a in audited] == [
        (world.worker_20.id, "report", report_id)
    ]
    assert (await client.get(f"/centre/signalements/{post_report}/conversation")).status_code == 404

    # The Goutte d'Or's worker: no link, and the page is the 404 page.
    client.cookies.clear()
    await log_in_with_code(client, world.worker_18)
    assert link not in (await client.get("/centre/signalements")).text
    refused = await client.get(f"/centre/signalements/{report_id}/conversation")
    assert refused.status_code == 404
    assert "Envoyez-moi" not in refused.text


async def _fetch(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def test_the_forms_and_their_answers_in_english(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    english = await client.patch("/api/v1/me", json={"locale": "en"}, headers=world.vera.headers)
    assert english.status_code == 200, english.text
    created = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, title="Porter un carton"),
        headers=world.alice.headers,
    )  # fmt: skip
    post_id = created.json()["id"]
    client.cookies.clear()
    sign_in(client, world.vera)
    form = await client.get(f"/signaler?annonce={post_id}")
    assert "For what reason?" in form.text and "Send the report" in form.text
    assert "A scam, a request for money" in form.text and "A problem with this post?" in form.text
    assert (await _report(client, f"annonce={post_id}")).status_code == 303
    thanks = await client.get("/signaler/merci")
    assert "Thank you, the community centre has received your report" in thanks.text
    block = await client.get(f"/bloquer?annonce={post_id}")
    assert "Block this person?" in block.text and "Yes, block this person" in block.text
    done = await client.post(
        f"/bloquer?annonce={post_id}", data={"_csrf_token": csrf_of(block.text)}
    )
    assert "Done: this person is blocked" in done.text and "See my blocks" in done.text
    blocks = await client.get("/mon-compte/blocages")
    assert "My blocks" in blocks.text and "Lift this block" in blocks.text
    refused = await client.get("/signaler?message=999999")
    assert refused.status_code == 200  # the form; the answer comes when it is sent
    sent = await client.post(
        "/signaler?message=999999",
        data={"_csrf_token": csrf_of(refused.text), "reason": "other"},
    )
    assert sent.status_code == 404
    assert "This message does not exist, or was not written to you." in sent.text
