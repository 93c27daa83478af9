"""Issue 14, authentication: a TOTP code serves once wherever it is given; new passwords
that attackers try first are refused; the raw token of an e-mailed link is at rest
nowhere (only in the mail) and using a link ends the older ones; a staff sign-in does
not say which factor failed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pyotp
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from .support.burst_worker import deliver_pending
from .support.csrf import csrf_of
from .support.mail import BASE, SmtpServer, outcome_settings, received, smtp_server
from .support.people import PASSWORD, Person, register, staff, staff_never_enrolled
from .support.secrets_at_rest import keys_holding, texts_holding

# Passwords found in breached-password lists, French ones first (10 characters at
# least: shorter ones are refused by their length already).
WEAK = ["motdepasse", "azertyuiop", "soleil123!", "aaaaaaaaaa", "jetaime123"]
STRONG = "une phrase de quatre mots"
TOO_EASY_FR = "Ce mot de passe est trop facile à deviner"
TOO_EASY_EN = "This password is too easy to guess"
CODE_PAGE = "/securite/code"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def current_code(person: Person) -> str:
    assert person.totp_secret
    return pyotp.TOTP(person.totp_secret).now()


async def api_login(client: AsyncTestClient, email: str, code: str | None = None) -> int:
    body = {"email": email, "password": PASSWORD} | ({"totp_code": code} if code else {})
    response = await client.post("/api/v1/auth/login", json=body)
    client.cookies.clear()
    return int(response.status_code)


# --- TOTP codes serve once -------------------------------------------------------------


async def test_a_code_signs_in_once_through_the_api(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    worker = await staff(client, engine)
    code = current_code(worker)
    assert await api_login(client, worker.email, code) == 200
    assert await api_login(client, worker.email, code) == 401
    # An older step than the last one used is refused too (within the drift window).
    assert worker.totp_secret
    older = pyotp.TOTP(worker.totp_secret).at(datetime.now(UTC), counter_offset=-1)
    assert await api_login(client, worker.email, older) == 401


async def test_the_same_code_sent_twice_at_once_signs_in_once(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    worker = await staff(client, engine)
    code = current_code(worker)
    body = {"email": worker.email, "password": PASSWORD, "totp_code": code}
    answers = await asyncio.gather(
        *(client.post("/api/v1/auth/login", json=body) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [200, 401]


async def test_the_enrolment_code_cannot_sign_in_again(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """API enrolment: the first code confirms the set-up and is then used."""
    worker = await staff_never_enrolled(client, engine)
    signed = await client.post(
        "/api/v1/auth/login", json={"email": worker.email, "password": PASSWORD}
    )
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {signed.json()['token']}"}
    secret = (await client.post("/api/v1/auth/totp/setup", headers=headers)).json()["secret"]
    code = pyotp.TOTP(secret).now()
    enabled = await client.post("/api/v1/auth/totp/enable", json={"code": code}, headers=headers)
    assert enabled.status_code == 200, enabled.text
    assert await api_login(client, worker.email, code) == 401


async def test_a_code_used_by_the_api_is_refused_by_the_pages(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """One record of used codes for every way in: the API's login, the login page's
    code field, the page that asks for the code."""
    worker = await staff(client, engine)
    code = current_code(worker)
    assert await api_login(client, worker.email, code) == 200

    form = await client.get("/connexion")
    with_code = await client.post(
        "/connexion",
        data={"email": worker.email, "password": PASSWORD, "totp_code": code,
              "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert with_code.status_code == 400

    form = await client.get("/connexion")
    password_only = await client.post(
        "/connexion",
        data={"email": worker.email, "password": PASSWORD, "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert password_only.status_code == 303
    assert password_only.headers["location"].startswith(CODE_PAGE)
    code_page = await client.get(CODE_PAGE)
    sent = await client.post(CODE_PAGE, data={"code": code, "_csrf_token": csrf_of(code_page.text)})
    assert sent.status_code == 400
    assert "Ce code a déjà servi" in sent.text


# --- Passwords attackers try first ---------------------------------------------------


async def test_registration_refuses_common_and_breached_passwords(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    for weak in WEAK:
        answer = await client.post(
            "/api/v1/auth/register",
            json={"email": "rose@example.org", "password": weak, "display_name": "Rose"},
        )
        assert answer.status_code == 422, (weak, answer.text)
        assert set(answer.json()["fields"]) == {"password"}, weak
    # The account's own name and address are guessed first too.
    own = await client.post(
        "/api/v1/auth/register",
        json={"email": "rose.martin@example.org", "password": "rosemartin1",
              "display_name": "Rose"},
    )  # fmt: skip
    assert own.status_code == 422 and set(own.json()["fields"]) == {"password"}
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0

    form = await client.get("/inscription")
    page = await client.post(
        "/inscription",
        data={"display_name": "Rose", "email": "rose@example.org", "password": "motdepasse",
              "_csrf_token": csrf_of(form.text)},
    )  # fmt: skip
    assert page.status_code == 400 and TOO_EASY_FR in page.text
    english = await client.post(
        "/inscription",
        data={"display_name": "Rose", "email": "rose@example.org", "password": "azertyuiop",
              "_csrf_token": csrf_of(form.text)},
        headers={"Accept-Language": "en"},
    )  # fmt: skip
    assert english.status_code == 400 and TOO_EASY_EN in english.text

    strong = await client.post(
        "/api/v1/auth/register",
        json={"email": "rose@example.org", "password": STRONG, "display_name": "Rose"},
    )
    assert strong.status_code == 201, strong.text


async def test_a_change_of_password_refuses_a_weak_one(client: AsyncTestClient) -> None:
    camille = await register(client)
    weak = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "soleil123!"},
        headers=camille.headers,
    )
    assert weak.status_code == 422 and set(weak.json()["fields"]) == {"new_password"}
    assert await api_login(client, camille.email) == 200  # unchanged

    client.cookies.set("voisins_session", camille.token)
    account = await client.get("/mon-compte")
    page = await client.post(
        "/mon-compte/mot-de-passe",
        data={"current_password": PASSWORD, "new_password": "motdepasse",
              "new_password_again": "motdepasse", "_csrf_token": csrf_of(account.text)},
    )  # fmt: skip
    assert page.status_code == 400 and TOO_EASY_FR in page.text
    client.cookies.clear()
    assert await api_login(client, camille.email) == 200


async def test_an_administrator_cannot_give_a_weak_password(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin = await staff(client, engine, role="admin")
    made = await client.post(
        "/api/v1/admin/users",
        json={"email": "nadia@centre.example.org", "display_name": "Nadia",
              "role": "social_worker", "password": "azertyuiop"},
        headers=admin.headers,
    )  # fmt: skip
    assert made.status_code == 422 and set(made.json()["fields"]) == {"password"}


# --- E-mailed links -------------------------------------------------------------------


def link_of(mail_text: str) -> str:
    found = re.search(re.escape(BASE) + r"(/mot-de-passe/nouveau\?jeton=[^\s\"<>]+)", mail_text)
    assert found, mail_text
    return found.group(1)


def token_of(link: str) -> str:
    return link.split("jeton=", 1)[1]


async def choose(client: AsyncTestClient, link: str, password: str) -> tuple[int, str]:
    url = urlsplit(link)
    form = await client.get(f"{url.path}?{url.query}")
    assert form.status_code == 200, form.text
    answer = await client.post(
        url.path,
        data={"jeton": token_of(link), "password": password, "password_again": password,
              "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )  # fmt: skip
    return int(answer.status_code), str(answer.text)


async def test_reset_links_work_from_the_mail_only_and_using_one_ends_the_others(
    settings: Settings, engine: AsyncEngine, redis: Redis, smtp: SmtpServer
) -> None:
    config = outcome_settings(settings, smtp.port, "http://127.0.0.1:9/sms")
    async with AsyncTestClient(create_app(config)) as client:
        camille = await register(client, "Camille")
        for _ in range(3):
            asked = await client.post("/api/v1/auth/password-reset", json={"email": camille.email})
            assert asked.status_code == 202
        await deliver_pending(engine, config)
        first, second, third = [link_of(m.text) for m in received(smtp) if m.to == camille.email]
        tokens = [token_of(link) for link in (first, second, third)]
        assert len(set(tokens)) == 3

        # The raw tokens are in the mails only: not in any table (the outbox, the
        # deliveries, the inbox, the links' own table), not in Redis (arq's jobs).
        assert await texts_holding(engine, tokens) == []
        assert await keys_holding(redis, tokens) == []

        # A later request does not end the earlier links (mails arrive out of order):
        # the person follows the first one that arrived. A weak password keeps it open.
        status, page = await choose(client, second, "motdepasse")
        assert status == 400 and TOO_EASY_FR in page
        status, _ = await choose(client, second, STRONG)
        assert status == 303
        # Using it ended every other link of the account, older and newer.
        for other in (first, third, second):
            dead = await client.post(
                "/api/v1/auth/password-reset/confirm",
                json={"token": token_of(other), "password": "encore une autre phrase"},
            )
            assert dead.status_code == 422 and set(dead.json()["fields"]) == {"token"}
        client.cookies.clear()
        login = await client.post(
            "/api/v1/auth/login", json={"email": camille.email, "password": STRONG}
        )
        assert login.status_code == 200


async def test_an_invitation_link_works_from_the_mail_and_refuses_a_weak_password(
    settings: Settings, engine: AsyncEngine, redis: Redis, smtp: SmtpServer
) -> None:
    config = outcome_settings(settings, smtp.port, "http://127.0.0.1:9/sms")
    async with AsyncTestClient(create_app(config)) as client:
        admin = await staff(client, engine, role="admin")
        made = await client.post(
            "/api/v1/admin/users",
            json={"email": "salome@centre.example.org", "display_name": "Salomé",
                  "role": "admin"},
            headers=admin.headers,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        client.cookies.clear()
        await deliver_pending(engine, config)
        (mail,) = [m for m in received(smtp) if m.to == "salome@centre.example.org"]
        link = link_of(mail.text)
        assert await texts_holding(engine, [token_of(link)]) == []
        assert await keys_holding(redis, [token_of(link)]) == []

        weak = await client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token_of(link), "password": "azertyuiop"},
        )
        assert weak.status_code == 422 and set(weak.json()["fields"]) == {"password"}
        status, page = await choose(client, link, "soleil123!")
        assert status == 400 and TOO_EASY_FR in page
        status, _ = await choose(client, link, STRONG)
        assert status == 303


# --- Staff sign-in does not tell which factor failed -----------------------------------


async def test_the_api_answers_the_same_for_every_failed_factor(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    worker = await staff(client, engine)
    resident = await register(client)
    attempts = {
        "wrong password": {"email": worker.email, "password": "pas le bon mot de passe"},
        "missing code": {"email": worker.email, "password": PASSWORD},
        "wrong code": {"email": worker.email, "password": PASSWORD, "totp_code": "000000"},
        "resident's wrong password": {"email": resident.email, "password": "pas le bon"},
        "unknown address": {"email": "personne@example.org", "password": PASSWORD},
    }
    answers = {}
    for name, body in attempts.items():
        response = await client.post("/api/v1/auth/login", json=body)
        answers[name] = (response.status_code, response.json())
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert answers["missing code"][0] == 401


async def test_the_login_page_answers_the_same_for_a_wrong_password_or_code(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    worker = await staff(client, engine)
    for password in ("pas le bon mot de passe", PASSWORD):
        form = await client.get("/connexion")
        answer = await client.post(
            "/connexion",
            data={"email": worker.email, "password": password, "totp_code": "000000",
                  "_csrf_token": csrf_of(form.text)},
        )  # fmt: skip
        assert answer.status_code == 400
        assert "E-mail ou mot de passe incorrect." in answer.text, password
        assert "Entrez le code" not in answer.text, password
