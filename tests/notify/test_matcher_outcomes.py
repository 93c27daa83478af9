"""What the matcher's outcomes tell people, end to end on real services: outbox rows
written with ``emit`` over real posts and matches → relay → burst arq worker → in-app
inbox, e-mail (aiosmtpd) and SMS (a local HTTP provider).

- ``match.offer_proposed``: the author of an offer hears how many requests nearby were
  proposed to them, and is led to their propositions;
- ``post.offer_nearby``: the author of a request hears that a neighbour offering that
  kind of help was asked to answer — never who, nor where;
- ``post.unanswered``: the author of a request nobody answered hears it, kindly, with
  what comes next (the centre calls, when a centre covers the place).

For an assisted resident, the social worker who posted the request reads these
messages. Every link a message carries opens a page for the person who received it.

Over 400 lines: the three outcomes share one neighbourhood and its delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify.channels import KINDS
from voisins.notify.inbox_texts import TEXTS, link_for, render
from voisins.notify.preferences import ACCOUNT_KINDS
from voisins.outbox import emit
from voisins.settings import Settings
from voisins.typography import french_spaces

from ..support.burst_worker import deliver_pending
from ..support.http_sink import HttpSink
from ..support.mail import BASE, SmtpServer, outcome_settings, received
from ..support.matching import propose_offer
from ..support.people import Person, register, staff
from ..support.sign_in import sign_in
from ..support.world import (
    ADDRESS_ALICE,
    GOUTTE_DOR,
    HOME_ALICE,
    HOME_BASILE,
    HOME_ODILE,
    HOME_VERA,
    World,
    build_world,
    created,
    post_body,
    volunteer_body,
    with_matches,
)

OFFER_TITLE = "Je fais vos courses le samedi"
ALICE_PHONE = "+33611111111"


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def quiet_setup(engine: AsyncEngine) -> None:
    """Events of the setup (the matcher ran when the posts were published) are not
    what these tests are about: only the rows the tests emit are delivered."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE outbox SET processed_at = now()"))


@dataclass
class Neighbourhood:
    vera: Person  # offers help with the shopping
    alice: Person  # asks for it, in the Goutte d'Or (a centre covers it)
    basile: Person  # asks for it in Belleville, where no centre is set up here
    worker: Person  # social worker of the Goutte d'Or, posts for Odile
    odile_id: int  # assisted resident, no e-mail, no account to sign in
    offer: int
    alice_request: int
    basile_request: int
    odile_request: int


async def neighbourhood(client: AsyncTestClient, engine: AsyncEngine) -> Neighbourhood:
    admin = await staff(client, engine, role="admin")
    centre = await created(
        await client.post(
            "/api/v1/centres",
            json={"name": "Centre social Goutte d'Or", "territory": GOUTTE_DOR},
            headers=admin.headers,
        )
    )
    worker = await staff(client, engine, centre_ids=(centre,))
    vera, alice, basile = [await register(client, n) for n in ("Vera", "Alice", "Basile")]
    # The offer first: published before any request, its own matching finds nothing.
    offer = await created(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_VERA, kind="offer", title=OFFER_TITLE),
            headers=vera.headers,
        )
    )
    where = {"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "address": ADDRESS_ALICE}
    alice_request = await created(
        await client.post(
            "/api/v1/posts", json=post_body(HOME_ALICE, location=where), headers=alice.headers
        )
    )
    basile_request = await created(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_BASILE, title="Courses lourdes"),
            headers=basile.headers,
        )
    )
    odile_id = await created(
        await client.post(
            "/api/v1/assisted-residents",
            json={
                "display_name": "Odile",
                "consent": {
                    "method": "in_person",
                    "obtained_at": datetime.now(UTC).isoformat(),
                    "centre_id": centre,
                },
            },
            headers=worker.headers,
        )
    )
    odile_request = await created(
        await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ODILE, title="Courses du mardi", on_behalf_of=odile_id),
            headers=worker.headers,
        )
    )
    # Vera is a volunteer too (the propositions page is a volunteer's); she says so once
    # the requests' own matching is over, so that it proposed them to nobody.
    done = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert done.status_code == 200, done.text
    # Alice reads these two kinds by SMS too.
    both = ["inapp", "email", "sms"]
    prefs = {"channels": {"post.offer_nearby": both, "post.unanswered": both}}
    done = await client.put(
        "/api/v1/me/notification-preferences", json=prefs, headers=alice.headers
    )
    assert done.status_code == 200, done.text
    done = await client.patch("/api/v1/me", json={"phone": ALICE_PHONE}, headers=alice.headers)
    assert done.status_code == 200, done.text
    # Basile reads English.
    done = await client.patch("/api/v1/me", json={"locale": "en"}, headers=basile.headers)
    assert done.status_code == 200, done.text
    return Neighbourhood(
        vera, alice, basile, worker, odile_id, offer, alice_request, basile_request, odile_request
    )


async def unanswered(engine: AsyncEngine, requests: list[int]) -> None:
    async with engine.begin() as conn:
        for request in requests:
            await emit(conn, "post.no_response", post_id=request)
            await emit(conn, "post.unanswered", post_id=request)


async def inbox(engine: AsyncEngine, kind: str) -> dict[tuple[int, int], Any]:
    """(recipient, post of the event) → the notification, for one kind."""
    found = await rows(
        engine,
        "SELECT n.user_id, CAST(o.payload ->> 'post_id' AS bigint) AS post_id, n.title, "
        "n.body, n.link FROM notifications n JOIN outbox o ON o.id = n.event_id "
        "WHERE n.kind = :kind",
        kind=kind,
    )
    return {(r.user_id, r.post_id): r for r in found}


async def opens(client: AsyncTestClient, person: Person, path: str) -> str:
    """GET ``path`` as ``person``: the page exists for them (no redirect to log in, no
    404, no 403); returns it."""
    sign_in(client, person, clear_cookies=True)
    try:
        page = await client.get(path, follow_redirects=False)
    finally:
        client.cookies.clear()
    assert page.status_code == 200, (path, page.status_code)
    return page.text


def says_nothing_of_where(words: str) -> None:
    """No address, no coordinate, no street word, in any form."""
    lowered = words.lower()
    assert ADDRESS_ALICE.lower() not in lowered and "rue" not in lowered.split()
    for place in (HOME_ALICE, HOME_VERA, HOME_BASILE, HOME_ODILE):
        for value in place:
            # Three decimals (about 100 m) start every finer form, in either notation.
            assert f"{value:.3f}" not in words and f"{value:.3f}".replace(".", ",") not in words


async def offer_proposed_to_both_requests(
    client: AsyncTestClient, engine: AsyncEngine, config: Settings
) -> Neighbourhood:
    """The neighbourhood, quiet, once Vera's offer was proposed to Alice's and Odile's
    requests and what that sends was delivered."""
    n = await neighbourhood(client, engine)
    await quiet_setup(engine)
    await propose_offer(engine, n.offer, [n.alice_request, n.odile_request])
    await deliver_pending(engine, config)
    return n


async def test_an_offer_proposed_to_requests_tells_its_author_how_many_and_leads_to_them(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    config = outcome_settings(settings, smtp_server.port, http_sink.base_url + "/sms")
    async with AsyncTestClient(create_app(config)) as client:
        n = await offer_proposed_to_both_requests(client, engine, config)

        told = await inbox(engine, "match.offer_proposed")
        assert set(told) == {(n.vera.id, n.offer)}
        note = told[(n.vera.id, n.offer)]
        assert note.title == "Des demandes pour votre offre"
        assert note.body == french_spaces(
            f"2 demandes près de chez vous correspondent à votre offre « {OFFER_TITLE} ». "
            "Pouvez-vous aider ?"
        )
        assert note.link == "/propositions"
        page = await opens(client, n.vera, note.link)
        # The propositions she is led to are these requests, waiting for her answer.
        assert "Courses du samedi" in page and "Courses du mardi" in page

        offer_mails = [m for m in received(smtp_server) if m.subject.endswith("pour votre offre")]
        assert [(m.to, m.subject) for m in offer_mails] == [
            (n.vera.email, "2 demandes pour votre offre")
        ]
        (mail,) = offer_mails
        assert "Bonjour Vera," in mail.text and "2 demandes près de chez vous" in mail.text
        assert mail.page_links() == ["/propositions"]
        assert 'href="https://voisins.test/propositions"' in mail.html
        for path in mail.page_links():
            await opens(client, n.vera, path)
        # The requests' authors stay unnamed and unplaced until a match is confirmed.
        for words in (note.body, mail.text, mail.html):
            assert "Alice" not in words and "Odile" not in words
            says_nothing_of_where(words)


async def test_a_request_proposed_to_an_offer_tells_its_author_without_saying_who_or_where(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    config = outcome_settings(settings, smtp_server.port, http_sink.base_url + "/sms")
    async with AsyncTestClient(create_app(config)) as client:
        n = await offer_proposed_to_both_requests(client, engine, config)

        told = await inbox(engine, "post.offer_nearby")
        # Odile has no digital access: the social worker who posted for her is told.
        assert set(told) == {(n.alice.id, n.alice_request), (n.worker.id, n.odile_request)}
        to_alice = told[(n.alice.id, n.alice_request)]
        assert to_alice.title == "Un voisin propose son aide"
        assert to_alice.body == french_spaces(
            "Un voisin près de chez vous propose son aide (Courses). Nous lui avons demandé "
            "de répondre à votre demande « Courses du samedi »."
        )
        assert to_alice.link == f"/annonces/{n.alice_request}"
        to_worker = told[(n.worker.id, n.odile_request)]
        assert "près de la personne que vous accompagnez" in to_worker.body
        assert french_spaces("« Courses du mardi »") in to_worker.body
        assert to_worker.link == f"/annonces/{n.odile_request}"
        assert "Courses du samedi" in await opens(client, n.alice, to_alice.link)
        assert "Courses du mardi" in await opens(client, n.worker, to_worker.link)

        sent = {(m.to, m.subject): m for m in received(smtp_server) if m.subject == to_alice.title}
        assert set(sent) == {(n.alice.email, to_alice.title), (n.worker.email, to_alice.title)}
        alice_mail = sent[(n.alice.email, to_alice.title)]
        assert french_spaces("Bonne nouvelle : un voisin près de chez vous") in alice_mail.text
        assert alice_mail.page_links() == [f"/annonces/{n.alice_request}"]
        worker_mail = sent[(n.worker.email, to_alice.title)]
        assert "près de la personne que vous accompagnez" in worker_mail.text
        assert worker_mail.page_links() == [f"/annonces/{n.odile_request}"]
        for person, mail in ((n.alice, alice_mail), (n.worker, worker_mail)):
            for path in mail.page_links():
                await opens(client, person, path)

        (sms,) = [r.json() for r in http_sink.received if r.path == "/sms"]
        assert sms["to"] == ALICE_PHONE
        typed = french_spaces("Voisins : un voisin propose son aide près de chez vous.")
        assert sms["text"].startswith(typed)
        assert sms["text"].endswith(f"{BASE}/annonces/{n.alice_request}")

        words = [to_alice.body, to_worker.body, alice_mail.text, alice_mail.html]
        words += [worker_mail.text, worker_mail.html, sms["text"]]
        for said in words:
            # Neither the volunteer's name, nor their offer, nor anyone's place.
            assert "Vera" not in said and n.vera.email not in said and OFFER_TITLE not in said
            says_nothing_of_where(said)

    # Only these people heard of it, on the channels they chose.
    delivered = await rows(
        engine,
        "SELECT user_id, channel FROM deliveries WHERE kind = 'post.offer_nearby' "
        "AND status = 'sent' ORDER BY user_id, channel",
    )
    assert sorted((r.user_id, r.channel) for r in delivered) == sorted(
        [(n.alice.id, c) for c in ("email", "inapp", "sms")]
        + [(n.worker.id, c) for c in ("email", "inapp")]
    )


async def test_a_request_nobody_answered_tells_its_author_what_comes_next(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    config = outcome_settings(settings, smtp_server.port, http_sink.base_url + "/sms")
    async with AsyncTestClient(create_app(config)) as client:
        n = await neighbourhood(client, engine)
        await quiet_setup(engine)
        await unanswered(engine, [n.alice_request, n.basile_request, n.odile_request])
        await deliver_pending(engine, config)

        told = await inbox(engine, "post.unanswered")
        assert set(told) == {
            (n.alice.id, n.alice_request),
            (n.basile.id, n.basile_request),
            (n.worker.id, n.odile_request),
        }
        # A centre covers Alice's place: its follow-up list has her request.
        to_alice = told[(n.alice.id, n.alice_request)]
        assert to_alice.title == "Pas encore de réponse"
        assert to_alice.body == french_spaces(
            "Personne n'a encore pu répondre à votre demande « Courses du samedi ». "
            "Le centre social est prévenu : il va vous contacter."
        )
        # No centre covers Basile's: nobody will call, so nobody is promised (in English,
        # which he reads).
        to_basile = told[(n.basile.id, n.basile_request)]
        assert to_basile.title == "No answer yet"
        assert to_basile.body == (
            "Nobody could answer your request “Courses lourdes” yet. It stays online. "
            "You can also post a new request with other times."
        )
        to_worker = told[(n.worker.id, n.odile_request)]
        assert "publiée pour une personne que vous accompagnez" in to_worker.body
        for person, note, post in (
            (n.alice, to_alice, n.alice_request),
            (n.basile, to_basile, n.basile_request),
            (n.worker, to_worker, n.odile_request),
        ):
            assert note.link == f"/annonces/{post}"
            await opens(client, person, note.link)

        # The social workers' follow-up message is still theirs, and leads to the list.
        staff_notes = await inbox(engine, "post.no_response")
        assert set(staff_notes) == {(n.worker.id, n.alice_request), (n.worker.id, n.odile_request)}
        for note in staff_notes.values():
            assert note.link == "/centre/suivi"
            await opens(client, n.worker, note.link)

        sent = {m.to: m for m in received(smtp_server) if "de réponse à" in m.subject}
        sent |= {m.to: m for m in received(smtp_server) if m.subject.startswith("No answer yet")}
        assert set(sent) == {n.alice.email, n.basile.email, n.worker.email}
        assert sent[n.alice.email].subject == "Pas encore de réponse à votre demande"
        assert "il va vous contacter" in sent[n.alice.email].text
        assert sent[n.basile.email].subject == "No answer yet to your request"
        assert sent[n.basile.email].text.startswith("Hello Basile,")
        assert "contact you" not in sent[n.basile.email].text
        assert sent[n.worker.email].subject == "Pas encore de réponse à une demande"
        readers = {n.alice.email: n.alice, n.basile.email: n.basile, n.worker.email: n.worker}
        for to, mail in sent.items():
            assert len(mail.page_links()) == 1 and mail.page_links()[0].startswith("/annonces/")
            await opens(client, readers[to], mail.page_links()[0])
            says_nothing_of_where(mail.text + mail.html)

        (sms,) = [r.json() for r in http_sink.received if r.path == "/sms"]
        assert sms["to"] == ALICE_PHONE
        assert "Le centre social va vous contacter" in sms["text"]
        assert sms["text"].endswith(f"{BASE}/annonces/{n.alice_request}")


async def test_no_message_about_an_offer_once_its_propositions_were_answered(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    config = outcome_settings(settings, smtp_server.port, http_sink.base_url + "/sms")
    async with AsyncTestClient(create_app(config)) as client:
        n = await neighbourhood(client, engine)
        await quiet_setup(engine)
        await propose_offer(engine, n.offer, [n.alice_request])
        (match,) = await rows(engine, "SELECT id FROM matches WHERE offer_id = :o", o=n.offer)
        declined = await client.post(
            f"/api/v1/matches/{match.id}/decline", json={}, headers=n.vera.headers
        )
        assert declined.status_code == 200, declined.text
        await deliver_pending(engine, config)
    assert await inbox(engine, "match.offer_proposed") == {}
    assert not [m for m in received(smtp_server) if m.to == n.vera.email]


async def test_every_link_of_every_message_opens_a_page_for_its_reader(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer, http_sink: HttpSink
) -> None:
    """The seeded neighbourhood's whole life (propositions, answers, a review approved
    and one refused, a cancellation, a report): whatever messages it makes, each link
    in the inbox and in the e-mails opens a page for the person who received it."""
    config = outcome_settings(settings, smtp_server.port, http_sink.base_url + "/sms")
    async with AsyncTestClient(create_app(config)) as client:
        world = await with_matches(client, engine, await build_world(client, engine))
        await life_goes_on(client, world)
        await deliver_pending(engine, config)

        people = {p.id: p for p in everyone(world)}
        notes = await rows(engine, "SELECT user_id, kind, link FROM notifications ORDER BY id")
        kinds = {note.kind for note in notes}
        assert {
            "match.proposed", "match.accepted", "match.review_needed", "match.confirmed",
            "match.approved", "match.rejected", "match.cancelled", "report.filed",
        } <= kinds, kinds  # fmt: skip
        assert all(note.link for note in notes), [n.kind for n in notes if not n.link]
        for note in notes:
            await opens(client, people[note.user_id], note.link)

        by_email = {p.email: p for p in everyone(world)}
        sent = received(smtp_server)
        assert sent
        for mail in sent:
            assert mail.page_links(), mail.subject
            for path in mail.page_links():
                await opens(client, by_email[mail.to], path)


def everyone(world: World) -> list[Person]:
    return [
        world.admin, world.worker_18, world.worker_20, world.alice, world.basile, world.vera,
        world.victor, world.stranger,
    ]  # fmt: skip


async def life_goes_on(client: AsyncTestClient, world: World) -> None:
    """A review approved and one refused, a confirmed match cancelled, a report."""
    worker = world.worker_18.headers
    reason = {"reason": "Vérifié avec la personne"}
    for action, match in (("approve", "odile_vera_1"), ("reject", "odile_vera_2")):
        done = await client.post(
            f"/api/v1/matches/{world.matches[match]}/{action}", json=reason, headers=worker
        )
        assert done.status_code == 200, done.text
    done = await client.post(
        f"/api/v1/matches/{world.matches['basile_victor']}/cancel",
        json={"reason": "Je ne suis plus disponible"},
        headers=world.basile.headers,
    )
    assert done.status_code == 200, done.text
    done = await client.post(
        "/api/v1/reports",
        json={"reason": "other", "post_id": world.posts["alice"], "comment": "Bizarre"},
        headers=world.stranger.headers,
    )
    assert done.status_code == 201, done.text


# The words themselves, without a database.


def test_one_request_is_said_in_the_singular_in_both_languages() -> None:
    facts = {"title": "Courses", "category": "courses", "post_id": 9, "count": 1}
    assert render("match.offer_proposed", "fr", facts) == (
        "Une demande pour votre offre",
        french_spaces(
            "Une demande près de chez vous correspond à votre offre « Courses ». "
            "Pouvez-vous aider ?"
        ),
    )
    assert render("match.offer_proposed", "en", facts) == (
        "A request for your offer",
        "A request near you matches your offer “Courses”. Can you help?",
    )
    assert render("match.offer_proposed", "en", facts | {"count": 4})[1].startswith(
        "4 requests near you match"
    )


def test_every_message_has_french_and_english_words() -> None:
    for kind, texts in TEXTS.items():
        assert set(texts) == {"fr", "en"}, kind
        assert kind.split("/")[0] in KINDS, kind
    spoken = {kind.split("/")[0] for kind in TEXTS}
    # A digest is made of the others' words; mails about the account itself (an address
    # to confirm, notices of a change) go by e-mail only.
    assert set(KINDS) - spoken == {"digest"} | (ACCOUNT_KINDS - {"password.reset_requested"})


def test_both_sides_of_a_match_are_led_to_their_own_page() -> None:
    facts = {"post_id": 12, "volunteer_id": 7}
    for kind in ("match.confirmed", "match.cancelled"):
        assert link_for(kind, facts, 7) == "/mes-aides"
        assert link_for(kind, facts, 3) == "/annonces/12"
    assert link_for("match.offer_proposed", {"post_id": 5}, 7) == "/propositions"
    assert link_for("post.offer_nearby", {"post_id": 12}, 3) == "/annonces/12"
    assert link_for("post.unanswered", {"post_id": 12}, 3) == "/annonces/12"
    assert link_for("password.reset_requested", {"post_id": None}) is None
