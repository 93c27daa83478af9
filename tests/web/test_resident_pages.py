"""The resident's pages over the real app (HTTP level, real CSRF tokens): posting in
three steps, my posts, a post as its author and as others see it, the answers with the
contact once confirmed, completing and feedback, the inbox, my account and my data.

Over 400 lines: the resident's whole page journey, from posting to feedback."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.clock import PARIS
from voisins.notify.fanout import fan_out
from voisins.settings import Settings, load_settings
from voisins.typography import french_spaces
from voisins.web.wording import page_link

from ..support.ban import BanStub, ban_answer
from ..support.csrf import csrf_of, post_form
from ..support.inbox import unread_proposition
from ..support.people import Person, register
from ..support.post_states import expire
from ..support.sign_in import sign_up
from ..support.world import ADDRESS_ALICE, HOME_ALICE, HOME_VERA, post_body, volunteer_body

ADDRESS = "8 rue Polonceau, 2e étage"
VERA_PHONE = "06 33 33 33 33"


async def volunteer_vera(client: AsyncTestClient) -> Person:
    """A volunteer 300 m away, set up through the API (before anyone signs in by page:
    the helper clears the client's cookies)."""
    vera = await register(client, "Vera")
    done = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert done.status_code == 200, done.text
    await client.patch("/api/v1/me", json={"phone": VERA_PHONE}, headers=vera.headers)
    return vera


def tomorrow() -> str:
    return (datetime.now(PARIS) + timedelta(days=1)).date().isoformat()


STEP_1 = {"kind": "request", "category": "courses", "title": "Courses du samedi",
          "description": "Porter les sacs jusqu'au 3e."}  # fmt: skip
STEP_2 = {"address": ADDRESS, "lon": f"{HOME_ALICE[0]:.6f}", "lat": f"{HOME_ALICE[1]:.6f}"}
STEP_3 = {"schedule_type": "once", "start": "10:00", "end": "12:00", "volunteers_needed": "1",
          "urgency": "normal"}  # fmt: skip


async def post_in_three_steps(client: AsyncTestClient) -> int:
    """Through the wizard as a browser would: each step's page gives the next form."""
    one = await post_form(
        client, "/annonces/nouvelle", "/annonces/nouvelle", {"etape": "1", **STEP_1}
    )
    assert one.status_code == 200 and "Étape 2 sur 3" in one.text, one.text
    assert 'name="title" value="Courses du samedi"' in one.text  # carried along, hidden
    assert "Votre adresse exacte n&#39;est jamais montrée aux autres." in one.text
    two = await client.post("/annonces/nouvelle", data={
        "_csrf_token": csrf_of(one.text), "etape": "2", **STEP_1, **STEP_2,
    })  # fmt: skip
    assert two.status_code == 200 and "Étape 3 sur 3" in two.text, two.text
    three = await client.post("/annonces/nouvelle", follow_redirects=False, data={
        "_csrf_token": csrf_of(two.text), "etape": "3", **STEP_1, **STEP_2, **STEP_3,
        "date": tomorrow(),
    })  # fmt: skip
    assert three.status_code == 303, three.text
    found = re.fullmatch(r"/annonces/(\d+)\?fait=publiee", three.headers["location"])
    assert found, three.headers["location"]
    return int(found.group(1))


async def count_posts(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM posts"))).scalar_one())


async def deliver_inbox(engine: AsyncEngine) -> None:
    """What the worker does for the in-app channel: fan every waiting event out."""
    async with engine.begin() as conn:
        ids = (
            await conn.execute(text("SELECT id FROM outbox WHERE processed_at IS NULL ORDER BY id"))
        ).scalars()
        for event_id in list(ids):
            await fan_out(conn, event_id, now=datetime.now(PARIS), enabled=frozenset({"inapp"}))


async def answered_by_vera(client: AsyncTestClient) -> tuple[int, int]:
    """A resident signs up and posts through the pages; Vera, nearby, says yes:
    (the post, the match)."""
    vera = await volunteer_vera(client)
    await sign_up(client)
    post_id = await post_in_three_steps(client)
    match_id = (await client.get("/api/v1/me/propositions", headers=vera.headers)).json()["items"][
        0
    ]["id"]
    await client.post(f"/api/v1/matches/{match_id}/accept", headers=vera.headers)
    return post_id, match_id


async def test_a_request_posted_in_three_steps_reaches_a_nearby_volunteer(
    client: AsyncTestClient,
) -> None:
    vera = await volunteer_vera(client)
    await sign_up(client)
    post_id = await post_in_three_steps(client)

    shown = await client.get(f"/annonces/{post_id}?fait=publiee")
    assert shown.status_code == 200
    assert "Votre annonce est enregistrée." in shown.text
    assert ADDRESS.replace("'", "&#39;") in shown.text  # the author sees their address
    mine = await client.get("/mes-annonces")
    assert "Courses du samedi" in mine.text
    assert "Publiée. Nous cherchons un voisin pour vous." in mine.text
    assert mine.headers["cache-control"] == "no-store"

    propositions = await client.get("/api/v1/me/propositions", headers=vera.headers)
    assert [p["post"]["id"] for p in propositions.json()["items"]] == [post_id]


async def test_a_step_with_mistakes_comes_back_with_the_fields_named(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    await sign_up(client)
    bad = await post_form(client, "/annonces/nouvelle", "/annonces/nouvelle",
                     {"etape": "1", **STEP_1, "title": "x", "category": "nothing"})  # fmt: skip
    assert bad.status_code == 400
    assert "Étape 1 sur 3" in bad.text and 'role="alert"' in bad.text
    assert re.search(r'id="title"[^>]*aria-describedby="title-hint title-error"', bad.text)
    assert re.search(r'id="title"[^>]*aria-invalid="true"', bad.text)
    assert 'id="title-error"' in bad.text and 'id="category-error"' in bad.text

    # The third step: the end before the start, and a weekly plan without days.
    for wrong, field in (({"date": tomorrow(), "end": "09:00"}, "end"),
                         ({"schedule_type": "weekly"}, "days")):  # fmt: skip
        page = await client.get("/annonces/nouvelle")
        refused = await client.post("/annonces/nouvelle", data={
            "_csrf_token": csrf_of(page.text), "etape": "3", **STEP_1, **STEP_2, **STEP_3,
            **wrong,
        })  # fmt: skip
        assert refused.status_code == 400, refused.text
        assert "Étape 3 sur 3" in refused.text
        assert f'id="{field}-error"' in refused.text
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', refused.text)

    # No pin and an address the search does not know (this index is empty): the address
    # field says so.
    page = await client.get("/annonces/nouvelle")
    no_pin = await client.post("/annonces/nouvelle", data={
        "_csrf_token": csrf_of(page.text), "etape": "2", **STEP_1, "address": ADDRESS,
    })  # fmt: skip
    assert no_pin.status_code == 400 and 'id="address-error"' in no_pin.text
    assert await count_posts(engine) == 0


async def test_an_address_found_by_the_search_is_a_pin_to_confirm(
    settings: Settings,
    ban: BanStub,
) -> None:
    with_search = load_settings(
        environment="test", database_url=settings.database_url, redis_url=settings.redis_url,
        log_level="WARNING", geocoder_url=ban.url,
    )  # fmt: skip
    async with AsyncTestClient(create_app(with_search)) as client:
        await sign_up(client)
        page = await client.get("/annonces/nouvelle")
        found = await client.post("/annonces/nouvelle", data={
            "_csrf_token": csrf_of(page.text), "etape": "2", **STEP_1, "address": ADDRESS,
        })  # fmt: skip
        assert found.status_code == 200 and "Étape 2 sur 3" in found.text
        assert "Nous avons placé le repère à votre adresse." in found.text
        assert 'name="lon" inputmode="decimal" value="2.353609"' in found.text
        assert ban.queries[-1]["q"] == [ADDRESS]
        ban.body = ban_answer(found=False)
        lost = await client.post("/annonces/nouvelle", data={
            "_csrf_token": csrf_of(page.text), "etape": "2", **STEP_1, "address": "zzz",
        })  # fmt: skip
        assert lost.status_code == 400 and 'id="address-error"' in lost.text
        assert "Nous n&#39;avons pas trouvé cette adresse." in lost.text


async def test_going_back_keeps_the_answers(client: AsyncTestClient) -> None:
    await sign_up(client)
    page = await client.get("/annonces/nouvelle")
    back = await client.post("/annonces/nouvelle", data={
        "_csrf_token": csrf_of(page.text), "etape": "2", "retour": "1", **STEP_1, **STEP_2,
    })  # fmt: skip
    assert back.status_code == 200 and "Étape 1 sur 3" in back.text
    assert 'value="Courses du samedi"' in back.text
    assert f'name="lon" value="{STEP_2["lon"]}"' in back.text  # kept for later, hidden


async def test_others_see_a_post_without_its_place(client: AsyncTestClient) -> None:
    alice = await register(client, "Alice")
    body = post_body(HOME_ALICE, location={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1],
                                           "address": ADDRESS_ALICE})  # fmt: skip
    created = await client.post("/api/v1/posts", json=body, headers=alice.headers)
    post_id = created.json()["id"]
    stranger = await register(client, "Sam")
    for headers in (stranger.headers, {}):  # another resident, and nobody signed in
        shown = await client.get(f"/annonces/{post_id}", headers=headers)
        assert shown.status_code == 200
        assert "Courses du samedi" in shown.text
        assert "L&#39;adresse exacte n&#39;est jamais montrée." in shown.text
        for secret in (f"{HOME_ALICE[0]:.6f}", f"{HOME_ALICE[1]:.6f}", "rue Léon", "3e étage"):
            assert secret not in shown.text
        assert "Annuler" not in shown.text and "Retirer mon annonce" not in shown.text
    author = await client.get(f"/annonces/{post_id}", headers=alice.headers)
    assert "12 rue Léon" in author.text


async def test_a_missing_or_hidden_post_is_a_404_page(client: AsyncTestClient) -> None:
    alice = await register(client, "Alice")
    draft = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, publish=False), headers=alice.headers
    )
    for path in (f"/annonces/{draft.json()['id']}", "/annonces/999999"):
        missing = await client.get(path)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "<h1>Page introuvable</h1>" in missing.text


async def test_the_author_sees_the_contact_completes_and_thanks(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    vera = await volunteer_vera(client)
    await sign_up(client)
    post_id = await post_in_three_steps(client)
    before = await client.get(f"/annonces/{post_id}")
    assert "Vera" not in before.text and VERA_PHONE not in before.text
    assert french_spaces("n&#39;ont pas encore répondu : 1.") in before.text

    proposition = (await client.get("/api/v1/me/propositions", headers=vera.headers)).json()
    match_id = proposition["items"][0]["id"]
    accepted = await client.post(f"/api/v1/matches/{match_id}/accept", headers=vera.headers)
    assert accepted.json()["status"] == "confirmed"

    after = await client.get(f"/annonces/{post_id}")
    assert "C&#39;est confirmé." in after.text
    assert "Vera" in after.text and VERA_PHONE not in after.text and vera.email not in after.text
    # Contacts are a choice (issue 15): shown once Vera shares them from the conversation.
    shared = await client.put(
        f"/api/v1/matches/{match_id}/contacts",
        json={"phone": True, "email": True},
        headers=vera.headers,
    )
    assert shared.status_code == 200, shared.text
    after = await client.get(f"/annonces/{post_id}")
    assert VERA_PHONE in after.text and vera.email in after.text
    assert 'href="tel:0633333333"' in after.text

    page = f"/annonces/{post_id}"
    early = await post_form(client, page, f"{page}/reponses/{match_id}/avis", {"kind": "thanks"})
    assert early.status_code == 409  # feedback comes after the help
    assert 'role="alert"' in early.text and "Ce n&#39;est plus possible" in early.text
    done = await post_form(client, page, f"{page}/reponses/{match_id}/terminer", {})
    assert done.status_code == 303, done.text
    no_choice = await post_form(client, page, f"{page}/reponses/{match_id}/avis", {"comment": "?"})
    assert no_choice.status_code == 400 and 'aria-invalid="true"' in no_choice.text
    thanks = await post_form(client, page, f"{page}/reponses/{match_id}/avis",
                        {"kind": "thanks", "comment": "Merci Vera !"})  # fmt: skip
    assert thanks.status_code == 303, thanks.text
    shown = await client.get(thanks.headers["location"])
    assert "Merci pour votre avis." in shown.text and "L&#39;aide est faite." in shown.text
    async with engine.connect() as conn:
        given = (await conn.execute(text("SELECT kind, comment FROM feedback"))).one()
    assert tuple(given) == ("thanks", "Merci Vera !")


async def test_cancelling_needs_a_reason(client: AsyncTestClient, engine: AsyncEngine) -> None:
    post_id, match_id = await answered_by_vera(client)
    page, action = f"/annonces/{post_id}", f"/annonces/{post_id}/reponses/{match_id}/annuler"
    silent = await post_form(client, page, action, {"reason": ""})
    assert silent.status_code == 400
    assert f'id="cancel_{match_id}-error"' in silent.text
    cancelled = await post_form(client, page, action, {"reason": "Je ne suis plus là samedi"})
    assert cancelled.status_code == 303
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM matches WHERE id = :m"), {"m": match_id})
        ).scalar_one()
    assert status == "cancelled"


async def test_the_inbox_lists_messages_and_marks_them_read(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    post_id, _ = await answered_by_vera(client)
    await deliver_inbox(engine)

    inbox = await client.get("/messages")
    assert inbox.status_code == 200 and inbox.headers["cache-control"] == "no-store"
    assert 'id="inbox-list" hx-get="/messages/liste" hx-trigger="refresh"' in inbox.text
    # "A volunteer accepted" and "match confirmed".
    assert french_spaces("Messages pas encore lus : 2.") in inbox.text
    assert "Mise en relation confirmée" in inbox.text
    assert f'href="/annonces/{post_id}"' in inbox.text
    found = re.search(r'action="/messages/(\d+)/lu"', inbox.text)
    assert found

    fragment = await client.get("/messages/liste", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Nouveau" in fragment.text

    marked = await client.post(
        f"/messages/{found.group(1)}/lu",
        data={"_csrf_token": csrf_of(inbox.text)},
        headers={"HX-Request": "true"},
    )
    assert marked.status_code == 200 and "<html" not in marked.text
    assert french_spaces("Messages pas encore lus : 1.") in marked.text
    async with engine.connect() as conn:
        read_at = (
            await conn.execute(
                text("SELECT read_at FROM notifications WHERE id = :n"), {"n": int(found.group(1))}
            )
        ).scalar_one()
    assert read_at is not None
    every = await client.post("/messages/tout-lu", data={"_csrf_token": csrf_of(inbox.text)},
                              follow_redirects=False)  # fmt: skip
    assert every.status_code == 303 and every.headers["location"] == "/messages"
    assert "Vous avez lu tous vos messages." in (await client.get("/messages")).text
    unknown = await client.post("/messages/999999/lu", data={"_csrf_token": csrf_of(inbox.text)})
    assert unknown.status_code == 404 and "Page introuvable" in unknown.text


async def test_preferences_and_account_are_saved(client: AsyncTestClient) -> None:
    await sign_up(client)
    account = await client.get("/mon-compte")
    assert account.status_code == 200 and "Heures calmes" in account.text
    saved = await post_form(client, "/mon-compte", "/mon-compte/notifications", {
        "canal:match.confirmed": ["email", "sms"], "quiet_start": "22:00",
        "quiet_end": "07:30", "digest": "1", "daily_cap": "5",
    })  # fmt: skip
    assert saved.status_code == 303, saved.text
    prefs = (await client.get("/api/v1/me/notification-preferences")).json()
    assert prefs["quiet_start"] == "22:00" and prefs["quiet_end"] == "07:30"
    assert prefs["digest"] is True and prefs["daily_cap"] == 5
    assert prefs["channels"]["match.confirmed"] == ["inapp", "email", "sms"]
    assert prefs["channels"]["match.accepted"] == ["inapp"]  # e-mail unticked

    wrong = await post_form(client, "/mon-compte", "/mon-compte/notifications",
                       {"quiet_start": "25:00", "daily_cap": "5"})  # fmt: skip
    assert wrong.status_code == 400
    assert re.search(r'id="quiet_start"[^>]*aria-invalid="true"', wrong.text)

    bad_phone = await post_form(client, "/mon-compte", "/mon-compte",
                           {"display_name": "Gisèle", "locale": "fr", "phone": "abc"})  # fmt: skip
    assert bad_phone.status_code == 400 and 'id="phone-error"' in bad_phone.text
    mine = {"display_name": "Gigi", "locale": "en", "phone": "06 12 34 56 78"}
    english = await post_form(client, "/mon-compte", "/mon-compte", mine)
    assert english.status_code == 303
    shown = await client.get("/mon-compte?fait=infos")
    assert '<html lang="en"' in shown.text and "My account" in shown.text
    assert 'value="Gigi"' in shown.text and "06 12 34 56 78" in shown.text


async def test_pages_speak_english_after_the_switch(client: AsyncTestClient) -> None:
    await sign_up(client)
    switched = await post_form(client, "/mes-annonces", "/langue",
                          {"value": "en", "suite": "/mes-annonces"})  # fmt: skip
    assert switched.status_code == 303
    for path, words in (("/mes-annonces", "My posts"), ("/messages", "My messages"),
                        ("/annonces/nouvelle", "Step 1 of 3")):  # fmt: skip
        shown = await client.get(path)
        assert '<html lang="en"' in shown.text and words in shown.text, path


async def test_a_visitor_reads_a_post_in_english(client: AsyncTestClient) -> None:
    alice = await register(client, "Alice")
    created = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    shown = await client.get(f"/annonces/{created.json()['id']}", headers={"Accept-Language": "en"})
    assert '<html lang="en"' in shown.text and "The exact address is never shown." in shown.text


async def test_pages_without_a_session_send_to_the_login_page(client: AsyncTestClient) -> None:
    for path in ("/annonces/nouvelle", "/mes-annonces", "/messages", "/mon-compte",
                 "/mon-compte/donnees", "/mon-compte/supprimer"):  # fmt: skip
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/connexion?suite={path}"


async def test_my_data_downloads_and_my_account_is_erased(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    email = await sign_up(client)
    await post_in_three_steps(client)
    download = await client.get("/mon-compte/donnees")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"
    assert download.json()["account"]["email"] == email

    unconfirmed = await post_form(client, "/mon-compte/supprimer", "/mon-compte/supprimer", {})
    assert unconfirmed.status_code == 400 and 'id="confirm-error"' in unconfirmed.text
    erased = await post_form(
        client, "/mon-compte/supprimer", "/mon-compte/supprimer", {"confirm": "1"}
    )
    assert erased.status_code == 303 and erased.headers["location"] == "/compte-supprime"
    goodbye = await client.get("/compte-supprime")
    assert "Votre compte est supprimé" in goodbye.text
    assert (await client.get("/mon-compte", follow_redirects=False)).status_code == 303
    async with engine.connect() as conn:
        left = (
            await conn.execute(text("SELECT count(*) FROM users WHERE email = :e"), {"e": email})
        ).scalar_one()
    assert left == 0


def test_messages_lead_to_pages_not_to_the_api() -> None:
    assert page_link("match.confirmed", "/posts/12") == "/annonces/12"
    assert page_link("match.proposed", "/posts/12") == "/propositions"  # to answer it
    assert page_link("post.no_response", None) is None


async def test_the_header_shows_the_unread_count_from_the_first_page(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    person = await register(client, "Nadia")
    await unread_proposition(engine, person.id)
    home = await client.get("/", headers=person.headers)
    assert re.search(r"data-live-unread>1</span>", home.text), "unread badge missing"


async def test_a_draft_or_expired_post_is_published_again_from_its_page(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    person = await register(client, "Odette")
    draft = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, publish=False), headers=person.headers
    )
    post_id = draft.json()["id"]
    seen = await client.get(f"/annonces/{post_id}", headers=person.headers)
    assert f'action="/annonces/{post_id}/publier"' in seen.text
    sent = await client.post(
        f"/annonces/{post_id}/publier",
        data={"_csrf_token": csrf_of(seen.text)},
        headers=person.headers,
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("fait=republiee")
    await expire(engine, post_id)
    expired = await client.get(f"/annonces/{post_id}", headers=person.headers)
    again = await client.post(
        f"/annonces/{post_id}/publier",
        data={"_csrf_token": csrf_of(expired.text)},
        headers=person.headers,
        follow_redirects=False,
    )
    assert again.status_code == 303
    async with engine.connect() as conn:
        status, future = (
            await conn.execute(
                text("SELECT status, expires_at > now() FROM posts WHERE id = :p"), {"p": post_id}
            )
        ).one()
    assert (status, future) == ("published", True)
    # Published, it offers no second publication; someone else's post is refused.
    online = await client.get(f"/annonces/{post_id}", headers=person.headers)
    assert f'action="/annonces/{post_id}/publier"' not in online.text
    other = await register(client, "Paul")
    refused = await client.post(
        f"/annonces/{post_id}/publier",
        data={"_csrf_token": csrf_of(online.text)},
        headers=other.headers,
    )
    assert refused.status_code in (403, 404)


async def post_status(engine: AsyncEngine, post_id: int) -> str:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT status FROM posts WHERE id = :p"), {"p": post_id})
        return str(found.scalar_one())


async def test_withdrawing_a_post_asks_first_and_withdraws_only_once_confirmed(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice = await register(client, "Alice")
    created = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    post_id = created.json()["id"]
    # Someone else opening the question gets no form to withdraw it.
    other = await register(client, "Paul")
    theirs = await client.get(f"/annonces/{post_id}/retirer", headers=other.headers)
    assert f'action="/annonces/{post_id}/retirer"' not in theirs.text
    shown = await client.get(f"/annonces/{post_id}", headers=alice.headers)
    # The first «Retirer» is a link to a question, not a form that withdraws.
    assert f'href="/annonces/{post_id}/retirer#retirer"' in shown.text
    assert f'action="/annonces/{post_id}/retirer"' not in shown.text
    asked = await client.get(f"/annonces/{post_id}/retirer", headers=alice.headers)
    assert asked.status_code == 200
    assert french_spaces("Retirer cette annonce ? Les voisins qui l&#39;ont reçue") in asked.text
    assert f'action="/annonces/{post_id}/retirer"' in asked.text
    assert f'href="/annonces/{post_id}">Non, la garder</a>' in asked.text
    assert await post_status(engine, post_id) == "published"  # asking changed nothing
    confirmed = await client.post(
        f"/annonces/{post_id}/retirer",
        data={"_csrf_token": csrf_of(asked.text), "confirmer": "oui"},
        headers=alice.headers,
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"/annonces/{post_id}?fait=retiree"
    assert await post_status(engine, post_id) == "withdrawn"
    # The API's withdrawal is unchanged: one call, no question.
    second = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    by_api = await client.post(
        f"/api/v1/posts/{second.json()['id']}/withdraw", headers=alice.headers
    )
    assert by_api.status_code in (200, 201) and by_api.json()["status"] == "withdrawn"
