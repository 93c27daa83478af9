"""My account's address and password (issue 12), over the real app with a real worker
and a real SMTP server: the sign-up's confirmation link (its page only asks, its button
confirms, once, for its own account), nothing e-mailed to an address until it is
confirmed (the inbox still works), changing the password (the current one first, other
sessions end, the address is told) and the address (the new one used only once its
link is followed, the old one told). Then the new pages in Chromium: axe and a phone.

Over 400 lines: one account's address and password, each step and its mail."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts import links
from voisins.app import create_app
from voisins.notify.preferences import Preferences, channels_for
from voisins.outbox import emit
from voisins.settings import Settings

from ..support.browser import check_page, new_page
from ..support.burst_worker import deliver_pending
from ..support.csrf import csrf_of, post_form
from ..support.mail import BASE, Mail, SmtpServer, outcome_settings, received
from ..support.people import PASSWORD, Person, login, register, staff
from ..support.sign_in import log_in, sign_in
from ..support.world import HOME_ALICE, created, post_body

NEW_PASSWORD = "une toute nouvelle phrase"
LINK = re.compile(re.escape(BASE) + r"(/mon-compte/confirmer\?jeton=[^\s\"<>]+)")
BROWSER_TEXT_SIZE = {"width": 360, "height": 800}


def no_sms(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return outcome_settings(settings, smtp_server.port, "http://127.0.0.1:9/sms")


async def unconfirmed(client: AsyncTestClient, name: str) -> Person:
    """Signed up through the API and left as is: the address not confirmed yet."""
    email = f"{name.lower()}.unconfirmed@example.org"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    assert response.status_code == 201, response.text
    assert response.json()["email_confirmed"] is False
    return await login(client, email, response.json()["id"], "resident")


async def account_row(engine: AsyncEngine, user_id: int) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT email, email_confirmed_at FROM users WHERE id = :u"), {"u": user_id}
            )
        ).one()


async def last_token(
    engine: AsyncEngine, user_id: int, topic: str = "account.email_confirm"
) -> str:
    """The token of the person's latest link of ``topic``, minted as the worker mints
    it when it sends the mail (the outbox holds no token: accounts/links.py)."""
    async with engine.begin() as conn:
        link_id = (
            await conn.execute(
                text(
                    "SELECT COALESCE(payload ->> 'link_id', payload ->> 'reset_id') FROM outbox "
                    "WHERE topic = :t "
                    "AND CAST(payload ->> 'user_id' AS bigint) = :u ORDER BY id DESC LIMIT 1"
                ),
                {"t": topic, "u": user_id},
            )
        ).scalar_one()
        token = await links.mint(conn, int(link_id))
    assert token is not None
    return token


def confirmation_link(mail: Mail) -> str:
    found = LINK.search(mail.text)
    assert found, mail.text
    assert f'href="{BASE}{found.group(1)}"' in mail.html
    return found.group(1)


async def change_address(client: AsyncTestClient, new: str, password: str) -> Any:
    return await post_form(
        client,
        "/mon-compte",
        "/mon-compte/adresse",
        {"new_email": new, "email_current_password": password},
    )


async def press(client: AsyncTestClient, link: str) -> Any:
    """Open the link's page (for its CSRF token and hidden token) and press its button."""
    opened = await client.get(link)
    token = re.search(r'name="jeton" value="([^"]+)"', opened.text)
    assert token, opened.text
    return await client.post(
        urlsplit(link).path, data={"jeton": token.group(1), "_csrf_token": csrf_of(opened.text)}
    )


def test_an_unconfirmed_address_gets_only_its_link_and_a_reset_it_asked_for() -> None:
    prefs = Preferences()
    for kind in ("match.confirmed", "match.proposed", "account.password_changed", "digest"):
        assert "email" not in channels_for(
            kind, prefs, has_email=True, email_confirmed=False, has_phone=True
        ), kind
    assert channels_for(
        "match.confirmed", prefs, has_email=True, email_confirmed=False, has_phone=False
    ) == ["inapp"]
    for kind in ("account.email_confirm", "password.reset_requested"):
        assert channels_for(
            kind, prefs, has_email=True, email_confirmed=False, has_phone=False
        ) == ["email"]
    # Confirmed: the same messages go by e-mail again; account notices even after an
    # unsubscribe.
    assert "email" in channels_for(
        "match.confirmed", prefs, has_email=True, email_confirmed=True, has_phone=False
    )
    stopped = Preferences(email_unsubscribed=True)
    assert channels_for(
        "account.password_changed", stopped, has_email=True, email_confirmed=True, has_phone=False
    ) == ["email"]


async def test_the_sign_up_link_opens_a_page_whose_button_confirms_once_for_its_own_account(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    config = no_sms(settings, smtp_server)
    async with AsyncTestClient(create_app(config)) as client:
        email = "rose.pages@example.org"
        signed = await post_form(client, "/inscription", "/inscription", {
            "display_name": "Rose", "email": email, "password": "un mot de passe sûr",
        })  # fmt: skip
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/mon-compte?fait=inscription#adresse"
        account = await client.get(signed.headers["location"])
        assert "Nous vous avons envoyé un e-mail" in account.text
        assert "Adresse à confirmer." in account.text
        assert 'action="/mon-compte/confirmation"' in account.text
        async with engine.connect() as conn:
            rose_id = (
                await conn.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email})
            ).scalar_one()

        await deliver_pending(engine, config)
        (mail,) = received(smtp_server)
        assert mail.to == email and mail.subject == "Confirmez votre adresse e-mail"
        link = confirmation_link(mail)
        assert mail.page_links() == [link]
        assert "48 heures" in mail.text

        # Opening the link (a mail scanner, a preview, the person) changes nothing.
        for _ in range(3):
            shown = await client.get(link)
            assert shown.status_code == 200, shown.text
        assert shown.text.count('<form method="post" action="/mon-compte/confirmer">') == 1
        assert "Confirmer mon adresse</button>" in shown.text and email in shown.text
        assert (await account_row(engine, rose_id)).email_confirmed_at is None

        # Someone else signed in cannot use Rose's link, and it stays usable.
        bob = await register(client, "Bob")
        sign_in(client, bob, clear_cookies=True)
        other = await client.get(link)
        assert other.status_code == 403 and "Ce lien est pour un autre compte" in other.text
        assert 'action="/mon-compte/confirmer"' not in other.text
        forced = await client.post(
            "/mon-compte/confirmer",
            data={"jeton": link.split("jeton=")[1], "_csrf_token": csrf_of(other.text)},
        )
        assert forced.status_code == 403
        assert (await account_row(engine, rose_id)).email_confirmed_at is None
        refused = await client.post(
            "/api/v1/auth/email/confirm",
            json={"token": link.split("jeton=")[1]},
            headers=bob.headers,
        )
        assert refused.status_code == 403 and refused.json()["fields"] == {
            "token": "another account's link"
        }

        # On a phone's mail app, not signed in: the button confirms.
        client.cookies.clear()
        done = await press(client, link)
        assert done.status_code == 200, done.text
        assert "Votre adresse e-mail est confirmée" in done.text
        assert (await account_row(engine, rose_id)).email_confirmed_at is not None

        # Used once: opened again from the mail, it only says so (no button).
        again = await client.get(link)
        assert again.status_code == 200 and "Ce lien a déjà servi" in again.text
        assert 'action="/mon-compte/confirmer"' not in again.text
        used = await client.post(
            "/mon-compte/confirmer",
            data={"jeton": link.split("jeton=")[1], "_csrf_token": csrf_of(again.text)},
        )
        assert used.status_code == 200 and "Ce lien a déjà servi" in used.text
        async with engine.connect() as conn:
            uses = "SELECT count(*) FROM password_resets WHERE user_id = :u AND used_at IS NOT NULL"
            assert (await conn.execute(text(uses), {"u": rose_id})).scalar_one() == 1
        # No CSRF token: refused before anything is looked at.
        without = await client.post("/mon-compte/confirmer", data={"jeton": "x" * 43})
        assert without.status_code == 403


async def test_an_expired_a_forged_or_a_reset_token_confirms_nothing(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    odile = await unconfirmed(client, "Odile")
    token = await last_token(engine, odile.id)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE password_resets SET expires_at = now() - interval '1 second'")
        )
    expired = await client.get(f"/mon-compte/confirmer?jeton={token}")
    assert expired.status_code == 400 and "Ce lien ne marche plus" in expired.text
    assert 'href="/mon-compte#adresse"' in expired.text  # where to ask for a new one
    pressed = await client.post(
        "/mon-compte/confirmer", data={"jeton": token, "_csrf_token": csrf_of(expired.text)}
    )
    assert pressed.status_code == 400
    for query in ("", "?jeton=", "?jeton=short", f"?jeton={'x' * 43}"):
        assert (await client.get(f"/mon-compte/confirmer{query}")).status_code == 400

    # A password reset's token is a different kind of link.
    asked = await client.post("/api/v1/auth/password-reset", json={"email": odile.email})
    assert asked.status_code == 202
    reset = await last_token(engine, odile.id, "password.reset_requested")
    wrong = await client.post("/api/v1/auth/email/confirm", json={"token": reset})
    assert wrong.status_code == 422 and "token" in wrong.json()["fields"]
    assert (await account_row(engine, odile.id)).email_confirmed_at is None
    english = await client.get(
        "/mon-compte/confirmer?jeton=short", headers={"Accept-Language": "en"}
    )
    assert "This link no longer works" in english.text


async def test_until_confirmed_news_reach_the_inbox_but_no_e_mail(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    config = no_sms(settings, smtp_server)
    async with AsyncTestClient(create_app(config)) as client:
        odile = await unconfirmed(client, "Odile")
        post_id = await created(
            await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=odile.headers)
        )
        await deliver_pending(engine, config)
        assert [(m.to, m.subject) for m in received(smtp_server)] == [
            (odile.email, "Confirmez votre adresse e-mail")
        ]

        async with engine.begin() as conn:
            await emit(conn, "post.approved", post_id=post_id)
        await deliver_pending(engine, config)
        assert len(received(smtp_server)) == 1  # still only the link
        async with engine.connect() as conn:
            inbox = (
                await conn.execute(
                    text("SELECT kind FROM notifications WHERE user_id = :u"), {"u": odile.id}
                )
            ).scalars()
            assert "post.approved" in list(inbox)
            channels = (
                await conn.execute(
                    text("SELECT channel FROM deliveries WHERE user_id = :u AND kind = :k"),
                    {"u": odile.id, "k": "post.approved"},
                )
            ).scalars()
            assert list(channels) == ["inapp"]

        link = confirmation_link(received(smtp_server)[0])
        client.cookies.clear()
        assert (await press(client, link)).status_code == 200
        async with engine.begin() as conn:
            await emit(conn, "post.approved", post_id=post_id)
        await deliver_pending(engine, config)
        news = [m for m in received(smtp_server) if m.subject != "Confirmez votre adresse e-mail"]
        assert [m.to for m in news] == [odile.email]


async def test_sending_the_link_again_is_limited(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    odile = await unconfirmed(client, "Odile")
    sign_in(client, odile, clear_cookies=True)
    for _ in range(2):  # with the sign-up's, three links in the hour
        sent = await post_form(client, "/mon-compte", "/mon-compte/confirmation", {})
        assert (
            sent.status_code == 303 and sent.headers["location"] == "/mon-compte?fait=lien#adresse"
        )
    refused = await post_form(client, "/mon-compte", "/mon-compte/confirmation", {})
    assert refused.status_code == 429
    assert "Trop d&#39;essais. Réessayez dans une heure." in refused.text
    async with engine.connect() as conn:
        count = "SELECT count(*) FROM password_resets WHERE user_id = :u"
        assert (await conn.execute(text(count), {"u": odile.id})).scalar_one() == 3

    # A confirmed address has nothing to resend.
    camille = await register(client, "Camille")
    sign_in(client, camille, clear_cookies=True)
    page = await client.get("/mon-compte")
    assert "Adresse à confirmer." not in page.text
    assert 'action="/mon-compte/confirmation"' not in page.text
    api = await client.post("/api/v1/me/email/confirmation", headers=camille.headers)
    assert api.status_code == 409


async def test_changing_the_password_needs_the_current_one_ends_other_sessions_and_tells(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    config = no_sms(settings, smtp_server)
    async with AsyncTestClient(create_app(config)) as client:
        camille = await register(client, "Camille")
        elsewhere = await login(client, camille.email, camille.id, "resident")
        sign_in(client, camille, clear_cookies=True)
        change = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}

        wrong = await post_form(client, "/mon-compte", "/mon-compte/mot-de-passe",
                           {"current_password": "not my password", **change})  # fmt: skip
        assert wrong.status_code == 400
        assert "Ce n&#39;est pas votre mot de passe actuel." in wrong.text
        assert 'id="current_password" name="current_password"' in wrong.text
        assert 'aria-describedby="current_password-error"' in wrong.text
        unequal = await post_form(client, "/mon-compte", "/mon-compte/mot-de-passe", {
            "current_password": PASSWORD, "new_password": NEW_PASSWORD,
            "new_password_again": "something else",
        })  # fmt: skip
        assert unequal.status_code == 400 and "ne sont pas les mêmes" in unequal.text
        short = await post_form(client, "/mon-compte", "/mon-compte/mot-de-passe", {
            "current_password": PASSWORD, "new_password": "short", "new_password_again": "short",
        })  # fmt: skip
        assert short.status_code == 400 and "10 caractères au moins" in short.text
        assert await log_in(client, camille.email, PASSWORD) == 303  # nothing changed yet
        sign_in(client, camille, clear_cookies=True)

        done = await post_form(client, "/mon-compte", "/mon-compte/mot-de-passe",
                          {"current_password": PASSWORD, **change})  # fmt: skip
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/mon-compte?fait=mot-de-passe#securite"
        shown = await client.get(done.headers["location"])
        assert shown.status_code == 200 and "Votre mot de passe est changé" in shown.text
        # The other device is signed out; this one stays.
        assert (await client.get("/api/v1/me", headers=elsewhere.headers)).status_code == 401
        assert (await client.get("/api/v1/me", headers=camille.headers)).status_code == 200
        assert await log_in(client, camille.email, PASSWORD) == 400
        assert await log_in(client, camille.email, NEW_PASSWORD) == 303

        await deliver_pending(engine, config)
        (notice,) = [m for m in received(smtp_server) if m.to == camille.email]
        assert notice.subject == "Votre mot de passe a été changé"
        # Its one link leads to the forgotten-password form: nothing in it acts.
        assert notice.page_links() == ["/mot-de-passe/oublie"]
        assert "unsubscribe" not in notice.text


async def test_a_new_address_is_used_only_once_its_link_is_followed_and_the_old_one_is_told(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    config = no_sms(settings, smtp_server)
    async with AsyncTestClient(create_app(config)) as client:
        bob = await register(client, "Bob")
        camille = await register(client, "Camille")
        sign_in(client, camille, clear_cookies=True)
        new = "camille.nouvelle@example.org"

        wrong = await change_address(client, new, "not it at all")
        assert wrong.status_code == 400
        assert 'aria-describedby="email_current_password-error"' in wrong.text
        assert f'value="{new}"' in wrong.text  # kept for the next try
        taken = await change_address(client, bob.email.upper(), PASSWORD)
        assert taken.status_code == 409
        assert "Un compte existe déjà avec cet e-mail." in taken.text
        assert 'aria-describedby="new_email-error"' in taken.text
        same = await change_address(client, camille.email, PASSWORD)
        assert same.status_code == 400 and "C&#39;est déjà votre adresse." in same.text
        malformed = await change_address(client, "not an address", PASSWORD)
        assert malformed.status_code == 400 and "adresse e-mail complète" in malformed.text
        api_taken = await client.post(
            "/api/v1/me/email",
            json={"email": bob.email, "current_password": PASSWORD},
            headers=camille.headers,
        )
        assert api_taken.status_code == 409 and "email" in api_taken.json()["fields"]

        asked = await change_address(client, new, PASSWORD)
        assert asked.status_code == 303, asked.text
        shown = await client.get(asked.headers["location"])
        assert "Nous avons envoyé un lien à la nouvelle adresse" in shown.text
        assert "Nouvelle adresse en attente de confirmation" in shown.text and new in shown.text
        assert (await account_row(engine, camille.id)).email == camille.email
        assert await log_in(client, new, PASSWORD) == 400  # not used yet

        await deliver_pending(engine, config)
        to_new = [m for m in received(smtp_server) if m.to == new]
        to_old = [m for m in received(smtp_server) if m.to == camille.email]
        assert [m.subject for m in to_old] == ["Changement de votre adresse e-mail"]
        assert to_old[0].page_links() == ["/mot-de-passe/oublie"] and new not in to_old[0].text
        (confirm,) = to_new
        link = confirmation_link(confirm)

        sign_in(client, camille, clear_cookies=True)
        page = await client.get(link)
        assert page.status_code == 200 and new in page.text
        done = await press(client, link)
        assert done.status_code == 200 and "Votre adresse e-mail est confirmée" in done.text
        row = await account_row(engine, camille.id)
        assert row.email == new and row.email_confirmed_at is not None
        me = (await client.get("/api/v1/me", headers=camille.headers)).json()
        assert me["email"] == new and me["email_confirmed"] and me["pending_email"] is None
        assert await log_in(client, camille.email, PASSWORD) == 400
        assert await log_in(client, new, PASSWORD) == 303


async def test_the_new_pages_pass_axe_and_fit_a_phone(
    browser: Browser, live_server: str, engine: AsyncEngine
) -> None:
    page = await new_page(browser, live_server, viewport=BROWSER_TEXT_SIZE)

    await page.goto("/inscription")
    await page.get_by_label("Votre prénom").fill("Rose")
    await page.get_by_label("Adresse e-mail").fill("rose.une-adresse-assez-longue@example.org")
    await page.get_by_label("Mot de passe (10 caractères au moins)").fill("un mot de passe sûr")
    await page.get_by_role("button", name="Créer mon compte").click()
    await expect(page.get_by_text("Adresse à confirmer.")).to_be_visible()
    await check_page(page, "account-unconfirmed")

    await page.get_by_label("Votre mot de passe actuel", exact=True).first.fill("pas le bon")
    await page.get_by_label("Nouveau mot de passe (10 caractères au moins)").fill(NEW_PASSWORD)
    await page.get_by_label("Le même mot de passe, une seconde fois").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Changer de mot de passe").click()
    await expect(page.get_by_text("Ce n'est pas votre mot de passe actuel.")).to_be_visible()
    await check_page(page, "account-password-error")

    async with engine.connect() as conn:
        rose = (
            await conn.execute(
                text(
                    "SELECT id FROM users WHERE email = 'rose.une-adresse-assez-longue@example.org'"
                )
            )
        ).scalar_one()
    token = await last_token(engine, rose)
    await page.goto(f"/mon-compte/confirmer?jeton={token}")
    await check_page(page, "email-confirm-ask")
    await page.get_by_role("button", name="Confirmer mon adresse").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Votre adresse e-mail est confirmée"
    )
    await check_page(page, "email-confirm-done")
    await page.goto(f"/mon-compte/confirmer?jeton={token}")
    await expect(page.get_by_text("Ce lien a déjà servi")).to_be_visible()
    await check_page(page, "email-confirm-already")
    await page.goto("/mon-compte/confirmer?jeton=coupé-dans-le-mail")
    await check_page(page, "email-confirm-invalid")
    await page.goto("/mon-compte")
    await expect(page.get_by_text("Adresse à confirmer.")).to_have_count(0)
    await check_page(page, "account-confirmed")


async def test_the_api_changes_password_and_address_with_the_same_rules(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    rose = await unconfirmed(client, "Rose")
    sign_up_token = await last_token(engine, rose.id)
    elsewhere = await login(client, rose.email, rose.id, "resident")

    wrong = await client.post(
        "/api/v1/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=rose.headers,
    )
    assert wrong.status_code == 422 and set(wrong.json()["fields"]) == {"current_password"}
    weak = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=rose.headers,
    )
    assert weak.status_code == 422 and "new_password" in weak.json()["fields"]
    changed = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=rose.headers,
    )
    assert changed.status_code == 200 and changed.json() == {"status": "password_changed"}
    assert (await client.get("/api/v1/me", headers=elsewhere.headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=rose.headers)).status_code == 200

    # A new address while the sign-up's is still unconfirmed: after the new one is
    # confirmed, the old sign-up link cannot switch the account back.
    new = "rose.autre@example.org"
    asked = await client.post(
        "/api/v1/me/email",
        json={"current_password": NEW_PASSWORD, "email": new},
        headers=rose.headers,
    )
    assert asked.status_code == 202, asked.text
    me = (await client.get("/api/v1/me", headers=rose.headers)).json()
    assert me["email"] == rose.email and me["pending_email"] == new
    # The link again, to the new address (the change's link is the latest).
    assert (
        await client.post("/api/v1/me/email/confirmation", headers=rose.headers)
    ).status_code == 202
    change_token = await last_token(engine, rose.id)
    confirmed = await client.post("/api/v1/auth/email/confirm", json={"token": change_token})
    assert confirmed.status_code == 200, confirmed.text
    stale = await client.post("/api/v1/auth/email/confirm", json={"token": sign_up_token})
    assert stale.status_code == 422
    # The page agrees: a dead link, not «already confirmed» (the account moved on).
    dead = await client.get(f"/mon-compte/confirmer?jeton={sign_up_token}")
    assert dead.status_code == 400 and "Ce lien ne marche plus" in dead.text
    row = await account_row(engine, rose.id)
    assert row.email == new and row.email_confirmed_at is not None


async def test_staff_an_administrator_creates_count_as_confirmed(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """The administrator vouches for the professional address they were given: no
    link to follow before the centre's reviews reach the new social worker."""
    admin = await staff(client, engine, role="admin")
    made = await client.post(
        "/api/v1/admin/users",
        json={
            "email": "salome.new@centre.example.org",
            "display_name": "Salomé",
            "password": PASSWORD,
            "role": "social_worker",
        },
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["email_confirmed"] is True
    async with engine.connect() as conn:
        links = "SELECT count(*) FROM password_resets WHERE user_id = :u"
        assert (await conn.execute(text(links), {"u": made.json()["id"]})).scalar_one() == 0


async def test_guessing_the_current_password_is_limited_like_logging_in(
    client: AsyncTestClient, settings: Settings
) -> None:
    camille = await register(client, "Camille")
    sign_in(client, camille, clear_cookies=True)
    guess = {"email_current_password": "a wrong guess", "new_email": "c.autre@example.org"}
    for _ in range(settings.login_max_attempts):
        wrong = await post_form(client, "/mon-compte", "/mon-compte/adresse", guess)
        assert wrong.status_code == 400
    # Even the right password waits now: guesses are counted as logins are.
    right = {**guess, "email_current_password": PASSWORD}
    stopped = await post_form(client, "/mon-compte", "/mon-compte/adresse", right)
    assert stopped.status_code == 429
    assert "Trop d&#39;essais. Réessayez dans quelques minutes." in stopped.text
    api = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=camille.headers,
    )
    assert api.status_code == 429


async def test_a_new_password_drops_an_address_change_still_waiting(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """What the old address's notice promises: «Ce n'était pas vous ? Choisissez un
    nouveau mot de passe : le changement d'adresse sera annulé.»"""
    camille = await register(client, "Camille")
    asked = await client.post(
        "/api/v1/me/email",
        json={"current_password": PASSWORD, "email": "intrus@example.org"},
        headers=camille.headers,
    )
    assert asked.status_code == 202
    intruder_link = await last_token(engine, camille.id)
    reset = await client.post("/api/v1/auth/password-reset", json={"email": camille.email})
    assert reset.status_code == 202
    token = await last_token(engine, camille.id, "password.reset_requested")
    done = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    dead = await client.post("/api/v1/auth/email/confirm", json={"token": intruder_link})
    assert dead.status_code == 422
    assert (await account_row(engine, camille.id)).email == camille.email
