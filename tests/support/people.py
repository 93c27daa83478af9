"""Creating people for tests through the real API (and SQL only for what only an admin
bootstrap may do: the very first admin)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyotp
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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
    return await login(client, email, response.json()["id"], "resident")


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
                    "INSERT INTO users (email, password_hash, display_name, role, totp_secret, "
                    "totp_enabled_at) VALUES (:e, :p, :n, :r, :s, now()) RETURNING id"
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
