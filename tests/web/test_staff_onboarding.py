"""A new social worker's first sign-in on the pages: the password, then the second
factor enrolled with a QR code (or the key typed) and a first code, then the centre
workspace; later sign-ins ask for the code on a page of its own. Codes are computed with
pyotp from the key the page shows, as a phone's app would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import check_page, new_page
from ..support.csrf import csrf_of
from ..support.people import PASSWORD, Person, register
from ..support.typography import plain_spaces, visible_text
from ..support.world import admin_and_centre

ENROL = "/securite/double-authentification"
CODE = "/securite/code"
WORKER_PASSWORD = "un mot de passe pour Nadia"


class NewWorker:
    def __init__(self, user_id: int, email: str) -> None:
        self.id = user_id
        self.email = email


async def create_worker(
    client: AsyncTestClient, admin: Person, centre_id: int, name: str = "nadia"
) -> NewWorker:
    """As an administrator creates a social worker today: no second factor yet."""
    email = f"{name}@centre.example.org"
    created = await client.post(
        "/api/v1/admin/users",
        json={
            "email": email, "password": WORKER_PASSWORD, "display_name": name.title(),
            "role": "social_worker", "centre_id": centre_id,
        },
        headers=admin.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return NewWorker(int(created.json()["id"]), email)


async def sign_in(client: AsyncTestClient, email: str, password: str, suite: str = "/") -> Any:
    form = await client.get("/connexion")
    return await client.post(
        "/connexion",
        data={"_csrf_token": csrf_of(form.text), "email": email, "password": password,
              "suite": suite},
        follow_redirects=False,
    )  # fmt: skip


def secret_of(html: str) -> str:
    found = re.search(r'<code id="secret" class="secret">([A-Z2-7 ]+)</code>', html)
    assert found, "no key on the enrolment page"
    return found.group(1).replace(" ", "")


async def send_code(client: AsyncTestClient, path: str, code: str, suite: str = "/") -> Any:
    form = await client.get(f"{path}?suite={suite}")
    return await client.post(
        path,
        data={"_csrf_token": csrf_of(form.text), "code": code, "suite": suite},
        follow_redirects=False,
    )


def not_a_code(secret: str) -> str:
    """Six digits that no step of the drift window accepts."""
    totp, now = pyotp.TOTP(secret), datetime.now(UTC)
    valid = {totp.at(now, counter_offset=offset) for offset in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "123456", "999999", "424242") if c not in valid)


def code_after(secret: str, steps: int) -> str:
    """The code ``steps`` steps from now (the drift window accepts the next one)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC), counter_offset=steps)


async def enrolled(
    client: AsyncTestClient, worker: NewWorker, suite: str = "/centre"
) -> tuple[str, str]:
    """Signs the new worker in and enrols them; returns the key and the code used."""
    response = await sign_in(client, worker.email, WORKER_PASSWORD, suite)
    assert response.headers["location"] == f"{ENROL}?suite={suite}"
    secret = secret_of((await client.get(response.headers["location"])).text)
    code = pyotp.TOTP(secret).now()
    done = await send_code(client, ENROL, code, suite)
    assert done.status_code == 303, done.text
    return secret, code


async def audit_mark(engine: AsyncEngine) -> int:
    """The audit log outlives each test (append-only): later rows only count."""
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log"))).scalar_one()
        )


async def audit_actions(engine: AsyncEngine, object_id: int, since: int) -> list[str]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT action FROM audit_log WHERE object_type = 'user' "
                        "AND object_id = :id AND outcome = 'allowed' "
                        "AND action LIKE 'second\\_factor.%' AND id > :since ORDER BY id"
                    ),
                    {"id": object_id, "since": since},
                )
            ).scalars()
        )


async def test_a_new_social_worker_enrols_with_the_qr_code_and_reaches_the_workspace(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    since = await audit_mark(engine)
    admin, centre_id = await admin_and_centre(client, engine)
    worker = await create_worker(client, admin, centre_id)

    password = await sign_in(client, worker.email, WORKER_PASSWORD)
    assert password.status_code == 303
    assert password.headers["location"] == f"{ENROL}?suite=/"
    # Before enrolling, the workspace sends to the login page, which sends back here:
    # never the login form again with no word.
    to_login = await client.get("/centre", follow_redirects=False)
    assert to_login.headers["location"] == "/connexion?suite=/centre"
    back = await client.get(to_login.headers["location"], follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"{ENROL}?suite=/centre"

    page = await client.get(f"{ENROL}?suite=/centre")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"  # the key stays out of caches
    assert re.search(r'<svg role="img" aria-labelledby="qr-caption"[^>]*class="qr"', page.text)
    assert "Protéger votre compte avec un code" in page.text
    assert not plain_spaces(visible_text(page.text))  # French typography
    secret = secret_of(page.text)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    # The key is shown in groups of four for typing by hand.
    assert re.search(r'class="secret">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<', page.text)
    # A reload shows the same key: a phone that scanned it keeps working.
    assert secret_of((await client.get(ENROL)).text) == secret

    done = await send_code(client, ENROL, pyotp.TOTP(secret).now(), "/centre")
    assert done.status_code == 303 and done.headers["location"] == "/centre"
    workspace = await client.get("/centre", follow_redirects=False)
    assert workspace.status_code == 200, workspace.headers
    assert await audit_actions(engine, worker.id, since) == ["second_factor.enrol"]

    # Never shown again: the enrolment page now leads to «Mon compte», which says when.
    again = await client.get(ENROL, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/mon-compte"
    account = await client.get("/mon-compte")
    assert secret not in account.text and "<svg" not in account.text
    state = re.search(r'<p id="second-factor-state">(.*?)</p>', account.text, re.S)
    assert state and "Activé" in state.group(1)
    assert str(datetime.now(UTC).year) in state.group(1)


async def test_a_wrong_code_is_the_fields_error_and_keeps_the_same_key(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    since = await audit_mark(engine)
    admin, centre_id = await admin_and_centre(client, engine)
    worker = await create_worker(client, admin, centre_id)
    await sign_in(client, worker.email, WORKER_PASSWORD)
    secret = secret_of((await client.get(ENROL)).text)

    wrong = await send_code(client, ENROL, not_a_code(secret))
    assert wrong.status_code == 400
    assert 'id="code-error"' in wrong.text and "Ce code ne convient pas." in wrong.text
    assert 'aria-invalid="true"' in wrong.text and 'role="alert"' in wrong.text
    assert secret_of(wrong.text) == secret
    english = await client.get(ENROL, headers={"Accept-Language": "en"})
    assert "Protect your account with a code" in english.text
    assert secret_of(english.text) == secret
    # Letters or too few digits: the same clear answer, nothing enabled.
    for typed in ("abcdef", "12345", ""):
        assert (await send_code(client, ENROL, typed)).status_code == 400
    still_out = await client.get("/centre", follow_redirects=False)
    assert still_out.status_code == 303
    assert await audit_actions(engine, worker.id, since) == []


async def test_staff_with_a_factor_give_the_code_on_its_page_and_a_code_serves_once(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin, centre_id = await admin_and_centre(client, engine)
    worker = await create_worker(client, admin, centre_id)
    secret, used = await enrolled(client, worker)
    await client.post("/deconnexion", data={"_csrf_token": csrf_of((await client.get("/")).text)})

    # The login page asks nobody for a code; staff get the code page after the password.
    login_page = await client.get("/connexion")
    assert "totp_code" not in login_page.text
    password = await sign_in(client, worker.email, WORKER_PASSWORD, "/centre/suivi")
    assert password.headers["location"] == f"{CODE}?suite=/centre/suivi"
    code_page = await client.get(password.headers["location"])
    assert code_page.status_code == 200 and "Entrez votre code" in code_page.text
    assert not plain_spaces(visible_text(code_page.text))
    assert secret not in code_page.text and "<svg" not in code_page.text
    assert (await client.get("/centre", follow_redirects=False)).status_code == 303

    replayed = await send_code(client, CODE, used, "/centre/suivi")
    assert replayed.status_code == 400 and "Ce code a déjà servi." in replayed.text
    wrong = await send_code(client, CODE, not_a_code(secret), "/centre/suivi")
    assert wrong.status_code == 400 and "Ce code ne convient pas." in wrong.text

    fresh = await send_code(client, CODE, code_after(secret, 1), "/centre/suivi")
    assert fresh.status_code == 303 and fresh.headers["location"] == "/centre/suivi"
    assert (await client.get("/centre/suivi", follow_redirects=False)).status_code == 200
    # The code page of a finished sign-in simply goes on.
    done = await client.get(f"{CODE}?suite=/centre", follow_redirects=False)
    assert done.headers["location"] == "/centre"


async def test_code_attempts_are_limited(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    admin, centre_id = await admin_and_centre(client, engine)
    worker = await create_worker(client, admin, centre_id)
    await sign_in(client, worker.email, WORKER_PASSWORD)
    secret = secret_of((await client.get(ENROL)).text)
    for _ in range(settings.login_max_attempts):
        assert (await send_code(client, ENROL, not_a_code(secret))).status_code == 400
    refused = await send_code(client, ENROL, not_a_code(secret))
    assert refused.status_code == 429 and "essais de code." in refused.text
    # Even the right code waits: a guess that happens to be right must not pass.
    right = await send_code(client, ENROL, pyotp.TOTP(secret).now())
    assert right.status_code == 429
    # Signing in again with the password does not reset the count of codes.
    await sign_in(client, worker.email, WORKER_PASSWORD)
    assert (await send_code(client, ENROL, pyotp.TOTP(secret).now())).status_code == 429


async def test_enrolment_and_code_pages_refuse_residents_and_signed_out_people(
    client: AsyncTestClient,
) -> None:
    for path in (ENROL, CODE):
        anonymous = await client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == f"/connexion?suite={path}"

    resident = await register(client, "Rosa")
    signed_in = await sign_in(client, resident.email, PASSWORD)
    assert signed_in.headers["location"] == "/"
    for path in (ENROL, CODE):
        page = await client.get(path)
        assert page.status_code == 403 and "Accès refusé" in page.text
        token = csrf_of(page.text)
        sent = await client.post(path, data={"_csrf_token": token, "code": "123456"})
        assert sent.status_code == 403
    # The form refuses a POST without its CSRF token.
    assert (await client.post(ENROL, data={"code": "123456"})).status_code == 403


async def test_an_administrator_resets_a_second_factor(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    since = await audit_mark(engine)
    admin, centre_id = await admin_and_centre(client, engine)
    worker = await create_worker(client, admin, centre_id)
    old_secret, _ = await enrolled(client, worker)
    resident = await register(client, "Rosa")  # (signs in by the API: cookies cleared)

    # The administrator signs in on the pages (password, then code).
    await sign_in(client, admin.email, PASSWORD)
    assert admin.totp_secret
    assert (await send_code(client, CODE, pyotp.TOTP(admin.totp_secret).now())).status_code == 303
    reset_path = f"{ENROL}/{worker.id}/reinitialiser"
    token = csrf_of((await client.get("/mon-compte")).text)
    reset = await client.post(
        reset_path, data={"_csrf_token": token, "suite": "/mon-compte"}, follow_redirects=False
    )
    assert reset.status_code == 303
    assert reset.headers["location"] == "/mon-compte?double-authentification=reinitialisee"
    assert await audit_actions(engine, worker.id, since) == [
        "second_factor.enrol",
        "second_factor.reset",
    ]
    async with engine.connect() as conn:
        sessions = (
            await conn.execute(
                text("SELECT count(*) FROM sessions WHERE user_id = :u"), {"u": worker.id}
            )
        ).scalar_one()
    assert sessions == 0  # signed out everywhere

    # Own factor, an unknown account or a resident's: refused.
    own = await client.post(f"{ENROL}/{admin.id}/reinitialiser", data={"_csrf_token": token})
    assert own.status_code == 403
    for other in (resident.id, 999_999):
        answer = await client.post(f"{ENROL}/{other}/reinitialiser", data={"_csrf_token": token})
        assert answer.status_code == 404

    # The worker's next sign-in enrols again, with a new key.
    client.cookies.clear()
    again = await sign_in(client, worker.email, WORKER_PASSWORD)
    assert again.headers["location"] == f"{ENROL}?suite=/"
    assert secret_of((await client.get(ENROL)).text) != old_secret
    # A social worker cannot reset anyone (the page refuses them).
    colleague = await create_worker(client, admin, centre_id, "samir")
    client.cookies.clear()
    await enrolled(client, colleague)
    token = csrf_of((await client.get("/mon-compte")).text)
    refused = await client.post(f"{ENROL}/{worker.id}/reinitialiser", data={"_csrf_token": token})
    assert refused.status_code == 403


async def test_a_new_social_worker_signs_in_for_the_first_time_on_a_phone(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        admin, centre_id = await admin_and_centre(api, engine)
        worker = await create_worker(api, admin, centre_id)

    page = await new_page(browser, live_server)  # phone-sized
    await page.goto("/connexion")
    await page.get_by_label("Adresse e-mail").fill(worker.email)
    await page.get_by_label("Mot de passe", exact=True).fill(WORKER_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page).to_have_url(re.compile(re.escape(ENROL)))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Protéger votre compte avec un code"
    )
    qr = page.locator("figure svg.qr")
    await expect(qr).to_be_visible()
    assert await qr.get_attribute("role") == "img"
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    await check_page(page, "staff-enrol")

    await page.get_by_label("Code à 6 chiffres").fill(not_a_code(secret))
    await page.get_by_role("button", name="Valider le code").click()
    await expect(page.locator("#code-error")).to_contain_text("Ce code ne convient pas.")
    assert (await page.locator("#secret").inner_text()).replace(" ", "") == secret
    await check_page(page, "staff-enrol-wrong-code")

    await page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Valider le code").click()
    await expect(page).to_have_url(f"{live_server}/centre")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()

    # On a phone, signing out sits in the header's menu.
    menu = page.locator("details.menu > summary")
    if await menu.count():
        await menu.click()
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page).to_have_url(f"{live_server}/")
    await page.goto("/connexion")
    await page.get_by_label("Adresse e-mail").fill(worker.email)
    await page.get_by_label("Mot de passe", exact=True).fill(WORKER_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page).to_have_url(re.compile(re.escape(CODE)))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Entrez votre code")
    await check_page(page, "staff-code")
    # The enrolment's code was used: the app's next one (the drift window accepts it).
    await page.get_by_label("Code à 6 chiffres").fill(code_after(secret, 1))
    await page.get_by_role("button", name="Me connecter").click()
    await expect(page).to_have_url(f"{live_server}/centre")

    await page.goto("/mon-compte")
    await expect(page.locator("#second-factor-state")).to_contain_text("Activé")
    await check_page(page, "staff-account-second-factor")


def test_codes_of_the_drift_window_name_their_step() -> None:
    from voisins.accounts.second_factor import matching_step

    secret = pyotp.random_base32()
    totp, now = pyotp.TOTP(secret), datetime.now(UTC)
    step = totp.timecode(now)
    assert matching_step(secret, totp.at(now), now) == step
    assert matching_step(secret, totp.at(now - timedelta(seconds=30)), now) == step - 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=30)), now) == step + 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=90)), now) is None
    assert matching_step(secret, " " + totp.at(now)[:3] + " " + totp.at(now)[3:], now) == step
