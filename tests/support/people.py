"""Creating people for tests through the real API (and SQL only for what only an admin
bootstrap may do: the very first admin)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyotp
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from voisins.accounts.passwords import hash_password

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass
class Person:
    id: int
    email: str
    token: str
    role: str
    totp_secret: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}


async def register(client: AsyncTestClient, name: str = "Camille") -> Person:
    email = f"{name.lower()}{next(_counter)}@example.org"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": name},
    )
    assert response.status_code == 201, response.text
    await confirm_address(client, response.json()["id"])
    return await login(client, email, response.json()["id"], "resident")


async def confirm_address(client: AsyncTestClient, user_id: int) -> None:
    """Follow the sign-up's confirmation link, as its owner would from the mail.

    Tests that are not about confirmation need people whose address is confirmed: until
    then nothing is e-mailed to them (tests/web/test_account_pages.py proves that).
    The link's mail is then not sent either: the worker drops a link already used."""
    # The app's own engine lives on the test client's event loop: a connection of our own.
    engine = create_async_engine(client.app.state.settings.sqlalchemy_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            token = (
                await conn.execute(
                    text(
                        "SELECT payload ->> 'token' FROM outbox "
                        "WHERE topic = 'account.email_confirm' "
                        "AND CAST(payload ->> 'user_id' AS bigint) = :u ORDER BY id DESC LIMIT 1"
                    ),
                    {"u": user_id},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    response = await client.post("/api/v1/auth/email/confirm", json={"token": token})
    assert response.status_code == 200, response.text


async def login(
    client: AsyncTestClient, email: str, user_id: int, role: str, totp: str | None = None
) -> Person:
    body: dict[str, object] = {"email": email, "password": PASSWORD}
    if totp:
        body["totp_code"] = pyotp.TOTP(totp).now()
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    # Tests authenticate with bearer tokens; a leftover cookie would make "anonymous"
    # requests someone's.
    client.cookies.clear()
    return Person(user_id, email, response.json()["token"], role, totp)


async def staff(
    client: AsyncTestClient,
    engine: AsyncEngine,
    role: str = "social_worker",
    centre_ids: tuple[int, ...] = (),
) -> Person:
    """A staff account with TOTP enrolled, logged in with its second factor."""
    email = f"{role}{next(_counter)}@example.org"
    secret = pyotp.random_base32()
    async with engine.begin() as conn:
        user_id = (
            await conn.execute(
                text(
                    # Enrolled and confirmed, as a staff member who followed both links.
                    "INSERT INTO users (email, password_hash, display_name, role, totp_secret, "
                    "totp_enabled_at, email_confirmed_at) "
                    "VALUES (:e, :p, :n, :r, :s, now(), now()) RETURNING id"
                ),
                {"e": email, "p": hash_password(PASSWORD), "n": role, "r": role, "s": secret},
            )
        ).scalar_one()
        for centre_id in centre_ids:
            await conn.execute(
                text("INSERT INTO centre_members (centre_id, user_id) VALUES (:c, :u)"),
                {"c": centre_id, "u": user_id},
            )
    return await login(client, email, user_id, role, secret)


async def audit_mark(engine: AsyncEngine) -> int:
    """The highest audit_log id so far. audit_log is append-only (the tests cannot empty
    it) while the other tables' ids restart each test: count only rows above a mark."""
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text("SELECT COALESCE(max(id), 0) FROM audit_log"))).scalar_one()
        )
