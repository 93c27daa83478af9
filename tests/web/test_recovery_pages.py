"""A forgotten password, over HTTP on the real app: the login page links to the request
form, the e-mail (real worker, real SMTP server) links to the new-password form, and the
new password is the one that logs in afterwards."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings
from voisins.typography import french_spaces

from ..support.burst_worker import deliver_pending
from ..support.csrf import csrf_of
from ..support.mail import BASE, SmtpServer, outcome_settings, received
from ..support.people import PASSWORD, register
from ..support.sign_in import log_in

NEW_PASSWORD = "a brand new secret phrase"
NEUTRAL = "Si un compte existe avec cette adresse"


async def ask_for_a_link(client: AsyncTestClient, address: str) -> str:
    form = await client.get("/mot-de-passe/oublie")
    assert form.status_code == 200
    answer = await client.post(
        "/mot-de-passe/oublie", data={"email": address, "_csrf_token": csrf_of(form.text)}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.text)


async def reset_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        # The table holds every e-mailed link: the sign-ups' address confirmations too.
        count = "SELECT count(*) FROM password_resets WHERE purpose = 'password_reset'"
        return int((await conn.execute(text(count))).scalar_one())


async def test_the_e_mailed_link_leads_to_a_form_whose_password_then_logs_in(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    config = outcome_settings(settings, smtp_server.port, "http://127.0.0.1:9/sms")
    async with AsyncTestClient(create_app(config)) as client:
        camille = await register(client, "Camille")
        login_page = await client.get("/connexion")
        assert 'href="/mot-de-passe/oublie"' in login_page.text
        assert french_spaces("Mot de passe oublié ?") in login_page.text

        assert NEUTRAL in await ask_for_a_link(client, camille.email.upper())
        await deliver_pending(engine, config)
        (mail,) = [m for m in received(smtp_server) if m.to == camille.email]
        found = re.search(re.escape(BASE) + r"(/mot-de-passe/nouveau\?jeton=[^\s\"<>]+)", mail.text)
        assert found, mail.text
        assert f'href="{BASE}{found.group(1)}"' in mail.html
        link = urlsplit(found.group(1))

        form = await client.get(f"{link.path}?{link.query}")
        assert form.status_code == 200, form.text
        assert 'name="jeton"' in form.text and 'autocomplete="new-password"' in form.text
        token = re.search(r'name="jeton" value="([^"]+)"', form.text)
        assert token is not None
        fields = {"jeton": token.group(1), "_csrf_token": csrf_of(form.text)}

        unequal = await client.post(
            link.path, data={**fields, "password": NEW_PASSWORD, "password_again": "other one!"}
        )
        assert unequal.status_code == 400
        assert "Les deux mots de passe ne sont pas les mêmes." in unequal.text
        too_short = await client.post(
            link.path, data={**fields, "password": "short", "password_again": "short"}
        )
        assert too_short.status_code == 400
        assert "10 caractères au moins" in too_short.text

        chosen = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        without_csrf = await client.post(link.path, data={"jeton": token.group(1), **chosen})
        assert without_csrf.status_code == 403

        done = await client.post(link.path, data={**fields, **chosen}, follow_redirects=False)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/connexion?mot-de-passe=change"
        notice = await client.get(done.headers["location"])
        assert "Votre mot de passe est changé" in notice.text and 'role="status"' in notice.text

        assert await log_in(client, camille.email, PASSWORD) == 400
        assert await log_in(client, camille.email, NEW_PASSWORD) == 303
        # Whoever was signed in with the old password is signed out.
        assert (await client.get("/api/v1/me", headers=camille.headers)).status_code == 401

        # The link serves once.
        again = await client.get(f"{link.path}?{link.query}")
        used = await client.post(
            link.path,
            data={
                "jeton": token.group(1), "_csrf_token": csrf_of(again.text),
                "password": "yet another phrase", "password_again": "yet another phrase",
            },
        )  # fmt: skip
        assert used.status_code == 400
        assert "Ce lien ne marche plus" in used.text
        assert 'href="/mot-de-passe/oublie"' in used.text
        assert await log_in(client, camille.email, NEW_PASSWORD) == 303


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    settings: Settings, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    config = outcome_settings(settings, smtp_server.port, "http://127.0.0.1:9/sms")
    async with AsyncTestClient(create_app(config)) as client:
        camille = await register(client, "Camille")
        known = await ask_for_a_link(client, camille.email)
        unknown = await ask_for_a_link(client, "nobody-here@example.org")
        strip = re.compile(r'name="_csrf_token" value="[^"]+"|nonce="[^"]+"')
        assert strip.sub("", known) == strip.sub("", unknown)
        assert NEUTRAL in unknown
        assert await reset_rows(engine) == 1
        await deliver_pending(engine, config)
        assert [m.to for m in received(smtp_server)] == [camille.email]


async def test_a_malformed_address_is_asked_again_without_saying_whether_it_exists(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    form = await client.get("/mot-de-passe/oublie")
    answer = await client.post(
        "/mot-de-passe/oublie", data={"email": "not an address", "_csrf_token": csrf_of(form.text)}
    )
    assert answer.status_code == 400
    assert 'aria-invalid="true"' in answer.text and NEUTRAL not in answer.text
    assert await reset_rows(engine) == 0


async def test_an_invalid_link_shows_a_clear_page_that_leads_to_a_new_request(
    client: AsyncTestClient,
) -> None:
    for query in ("", "?jeton=", "?jeton=short"):
        broken = await client.get(f"/mot-de-passe/nouveau{query}")
        assert broken.status_code == 400
        assert "Ce lien ne marche plus" in broken.text
        assert 'href="/mot-de-passe/oublie"' in broken.text

    # Well formed but never sent: refused when the password is submitted.
    forged = "x" * 43
    form = await client.get(f"/mot-de-passe/nouveau?jeton={forged}")
    assert form.status_code == 200
    refused = await client.post(
        "/mot-de-passe/nouveau",
        data={
            "jeton": forged, "_csrf_token": csrf_of(form.text),
            "password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
        },
    )  # fmt: skip
    assert refused.status_code == 400
    assert "Ce lien ne marche plus" in refused.text

    english = await client.get(
        "/mot-de-passe/nouveau?jeton=short", headers={"Accept-Language": "en"}
    )
    assert "This link no longer works" in english.text and "Ask for a new link" in english.text
