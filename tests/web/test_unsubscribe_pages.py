"""The unsubscribe link of the mails (issue 12): opening it only shows a page with one
button (mail scanners open every link), the button or a mail client's RFC 8058 one-click
POST stops the e-mails, and the account page shows e-mails stopped and turns them back on."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.notify.signing import unsubscribe_token
from voisins.settings import Settings
from voisins.typography import french_spaces

from ..support.csrf import post_form
from ..support.people import Person, register
from ..support.sign_in import sign_up

# What a browser sends with a page's form; httpx alone asks for */*, as mail clients do.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def stopped(engine: AsyncEngine, user_id: int) -> bool | None:
    """The stored flag; None while the person has no preferences row at all."""
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT email_unsubscribed FROM notification_preferences WHERE user_id = :u"),
                {"u": user_id},
            )
        ).scalar_one_or_none()


async def preferences_row(engine: AsyncEngine, user_id: int) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT * FROM notification_preferences WHERE user_id = :u"), {"u": user_id}
            )
        ).first()


def link(settings: Settings, person: Person | int) -> str:
    user_id = person if isinstance(person, int) else person.id
    return f"/unsubscribe/{unsubscribe_token(settings.secret_key, user_id)}"


async def test_opening_the_link_changes_nothing_and_shows_one_button(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    vera = await register(client, "Vera")
    client.cookies.clear()
    before = await preferences_row(engine, vera.id)
    for _ in range(3):  # a scanner, a preview, the person: none of them unsubscribes
        shown = await client.get(link(settings, vera), headers=BROWSER)
        assert shown.status_code == 200, shown.text
    assert await preferences_row(engine, vera.id) == before
    assert await stopped(engine, vera.id) in (None, False)

    html = shown.text
    assert shown.headers["content-type"].startswith("text/html")
    assert '<html lang="fr"' in html and french_spaces("Ne plus recevoir d&#39;e-mails ?") in html
    assert html.count('<form method="post" action="/unsubscribe/') == 1
    assert f'action="{link(settings, vera)}"' in html
    assert html.count('<button type="submit" class="button">') == 1
    assert '"status"' not in html  # no raw JSON any more
    # The header's own forms (language, text size) work here too: the page carries a
    # CSRF token, only the one-click POST is exempt.
    assert re.search(r'name="_csrf_token" value="[^"]+"', html)


async def test_the_page_speaks_english_to_an_english_browser(
    client: AsyncTestClient, settings: Settings
) -> None:
    vera = await register(client, "Vera")
    client.cookies.clear()
    shown = await client.get(link(settings, vera), headers={**BROWSER, "Accept-Language": "en"})
    assert '<html lang="en"' in shown.text and "Stop receiving e-mails?" in shown.text


async def test_the_button_unsubscribes_and_confirms_with_a_way_back(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    vera = await register(client, "Vera")
    client.cookies.clear()
    await client.get(link(settings, vera), headers=BROWSER)
    assert await stopped(engine, vera.id) in (None, False)
    # What the page's form sends (no CSRF token: the signed link is the authority).
    done = await client.post(link(settings, vera), data=ONE_CLICK, headers=BROWSER)
    assert done.status_code == 200, done.text
    assert done.headers["content-type"].startswith("text/html")
    stopped_now = french_spaces("C&#39;est fait : Voisins ne vous enverra plus d&#39;e-mails.")
    assert stopped_now in done.text
    assert 'href="/mon-compte#messages"' in done.text  # the way back
    assert await stopped(engine, vera.id) is True
    # Opening the link again says so, and still changes nothing.
    again = await client.get(link(settings, vera), headers=BROWSER)
    assert "Les e-mails sont déjà arrêtés pour votre compte." in again.text
    assert '<form method="post" action="/unsubscribe/' not in again.text


async def test_a_mail_clients_one_click_post_still_unsubscribes(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    vera = await register(client, "Vera")
    client.cookies.clear()
    # RFC 8058: a form-encoded POST of List-Unsubscribe=One-Click, without cookies or CSRF.
    done = await client.post(link(settings, vera), data=ONE_CLICK)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "unsubscribed"
    assert await stopped(engine, vera.id) is True
    prefs = await client.get("/api/v1/me/notification-preferences", headers=vera.headers)
    assert prefs.json()["email_unsubscribed"] is True


async def test_a_bad_link_is_a_clear_404_page_or_json_and_changes_nothing(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    vera = await register(client, "Vera")
    client.cookies.clear()
    good = unsubscribe_token(settings.secret_key, vera.id)
    forged = f"{vera.id}.{'A' * 43}"
    for token in ("not.a-token", forged, good[:-1], unsubscribe_token("another key", vera.id)):
        shown = await client.get(f"/unsubscribe/{token}", headers=BROWSER)
        assert shown.status_code == 404, token
        assert shown.headers["content-type"].startswith("text/html")
        assert "Ce lien de désabonnement ne fonctionne pas" in shown.text
        assert '<form method="post" action="/unsubscribe/' not in shown.text
        pressed = await client.post(f"/unsubscribe/{token}", data=ONE_CLICK, headers=BROWSER)
        assert pressed.status_code == 404 and "Rien n&#39;a été changé." in pressed.text
        machine = await client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
        assert machine.status_code == 404
        assert machine.json()["error"] == "not_found"
    assert await stopped(engine, vera.id) in (None, False)
    # A well-signed link of an account that no longer exists (an old mail).
    gone = await client.get(link(settings, 999_999), headers=BROWSER)
    assert gone.status_code == 404 and "ne fonctionne pas" in gone.text
    assert (await client.post(link(settings, 999_999), data=ONE_CLICK)).status_code == 404


async def test_the_account_page_shows_emails_stopped_and_turns_them_back_on(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    email = await sign_up(client)
    async with engine.connect() as conn:
        user_id = (
            await conn.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email})
        ).scalar_one()
    account = await client.get("/mon-compte")
    assert "Les e-mails sont arrêtés." not in account.text
    assert 'value="email" checked' in account.text  # e-mail by default

    assert (await client.post(link(settings, user_id), data=ONE_CLICK)).status_code == 200
    account = await client.get("/mon-compte")
    assert "Les e-mails sont arrêtés." in account.text
    assert 'value="email"' not in account.text  # no e-mail box shown as ticked
    assert french_spaces("Par e-mail : arrêté") in account.text
    assert 'action="/mon-compte/emails"' in account.text

    # Saving the other choices meanwhile keeps the e-mail choices for later.
    saved = await post_form(client, "/mon-compte", "/mon-compte/notifications", {
        "canal:match.confirmed": ["sms"], "quiet_start": "21:00", "quiet_end": "08:00",
        "daily_cap": "20",
    })  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert await stopped(engine, user_id) is True

    back = await post_form(client, "/mon-compte", "/mon-compte/emails", {})
    assert (
        back.status_code == 303 and back.headers["location"] == "/mon-compte?fait=emails#messages"
    )
    assert await stopped(engine, user_id) is False
    shown = await client.get(back.headers["location"])
    assert "Vous recevez de nouveau les e-mails" in shown.text
    assert "Les e-mails sont arrêtés." not in shown.text
    prefs = (await client.get("/api/v1/me/notification-preferences")).json()
    assert prefs["email_unsubscribed"] is False
    assert prefs["channels"]["match.confirmed"] == ["inapp", "email", "sms"]


async def test_turning_emails_back_on_needs_a_session_and_a_csrf_token(
    client: AsyncTestClient,
) -> None:
    anonymous = await post_form(client, "/", "/mon-compte/emails", {})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/connexion?suite=")
    await sign_up(client)
    without = await client.post("/mon-compte/emails", follow_redirects=False)
    assert without.status_code == 403 and "Formulaire expiré" in without.text
