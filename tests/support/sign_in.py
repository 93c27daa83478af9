"""Signing someone in for a test. Through the API, ``people.login`` (bearer tokens);
for the pages, whose session is the API's: by its cookie (``sign_in``), through the
login page (``log_in``; ``log_in_with_code`` for staff, with their authenticator's
code), or half way (``half_logged_in``: a staff session that has not proven its second
factor); ``sign_up`` makes an account through the sign-up page."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .csrf import csrf_of, post_form
from .people import PASSWORD, Person, fresh_code, login, staff

# The headers htmx sends with the requests it makes.
HTMX = {"HX-Request": "true"}


def sign_in(client: AsyncTestClient, person: Person, *, clear_cookies: bool = False) -> None:
    """The page session is the same session as the API's (its cookie). With
    ``clear_cookies``, whatever the client held before (another person's session, a
    CSRF cookie) goes first."""
    if clear_cookies:
        client.cookies.clear()
    client.cookies.set("voisins_session", person.token)


async def log_in(client: AsyncTestClient, address: str, password: str) -> int:
    """Through the login page; answers its status and keeps no session."""
    form = await client.get("/connexion")
    response = await client.post(
        "/connexion",
        data={"email": address, "password": password, "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    client.cookies.delete("voisins_session")
    return int(response.status_code)


async def log_in_with_code(client: AsyncTestClient, person: Person) -> None:
    """Through the login page, with the 6-digit code of the authenticator app."""
    assert person.totp_secret
    page = await client.get("/connexion?suite=/centre")
    response = await client.post(
        "/connexion",
        data={
            "_csrf_token": csrf_of(page.text),
            "email": person.email,
            "password": PASSWORD,
            "totp_code": await fresh_code(person.totp_secret),
            "suite": "/centre",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/centre"


async def half_logged_in(client: AsyncTestClient, engine: AsyncEngine, **kwargs: Any) -> Person:
    """A staff session that has not proven its second factor."""
    member = await staff(client, engine, **kwargs)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET totp_enabled_at = NULL WHERE id = :i"), {"i": member.id}
        )
    return await login(client, member.email, member.id, member.role)


async def sign_up(client: AsyncTestClient, name: str = "Gisèle") -> str:
    """Through the sign-up page; answers the new account's address."""
    email = f"{name.lower()}.pages@example.org"
    signed = await post_form(client, "/inscription", "/inscription", {
        "display_name": name, "email": email, "password": "un mot de passe sûr",
    })  # fmt: skip
    assert signed.status_code == 303, signed.text
    return email
