"""Creating people for tests through the real API (and SQL only for what only an admin
bootstrap may do: the very first admin)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyotp
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from voisins.accounts import links
from voisins.accounts.passwords import hash_password
from voisins.accounts.second_factor import TOTP_WINDOW

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


async def register(
    client: AsyncTestClient, name: str = "Camille", phone: str | None = None
) -> Person:
    email = f"{name.lower()}{next(_counter)}@example.org"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": name}
        | ({"phone": phone} if phone else {}),
    )
    assert response.status_code == 201, response.text
    await confirm_address(client, response.json()["id"])
    return await login(client, email, response.json()["id"], "resident")


async def confirm_address(client: AsyncTestClient, user_id: int) -> None:
    """Follow the sign-up's confirmation link, as its owner would from the mail.

    Tests that are not about confirmation need people whose address is confirmed: until
    then nothing is e-mailed to them (tests/web/test_account_pages.py proves that).
    The link's mail is then not sent either: the worker drops a link already used."""
    token = await link_token(client, "account.email_confirm", user_id)
    response = await client.post("/api/v1/auth/email/confirm", json={"token": token})
    assert response.status_code == 200, response.text


async def link_token(client: AsyncTestClient, topic: str, user_id: int) -> str:
    """The token of the latest link mail of ``topic`` to ``user_id``, minted as the
    notification worker mints it when it sends the mail (the outbox names the link, the
    token is in the mail only: accounts/links.py)."""
    # The app's own engine lives on the test client's event loop: a connection of our own.
    engine = create_async_engine(client.app.state.settings.sqlalchemy_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            payload = (
                await conn.execute(
                    text(
                        "SELECT payload FROM outbox WHERE topic = :t "
                        "AND CAST(payload ->> 'user_id' AS bigint) = :u ORDER BY id DESC LIMIT 1"
                    ),
                    {"t": topic, "u": user_id},
                )
            ).scalar_one()
            token = await links.mint(conn, int(payload.get("link_id") or payload["reset_id"]))
    finally:
        await engine.dispose()
    assert token is not None, "the link is used or expired"
    return token


# The last time step whose code a helper gave, per secret: a code serves once
# (accounts/second_factor.py), and tests sign the same staff member in more than once.
_last_steps: dict[str, int] = {}
# Time left for a request to reach the server before its step leaves the window.
_MARGIN_S = 3


async def fresh_code(secret: str) -> str:
    """A code of ``secret`` that was not used yet: the oldest step still accepted (the
    one before now), then the following ones, waiting for the clock when needed. Tests
    that type ``TOTP(secret).now()`` after a helper's sign-in still find it unused."""
    totp = pyotp.TOTP(secret)
    while True:
        moment = datetime.now(UTC)
        now = totp.timecode(moment)
        step = max(now - TOTP_WINDOW, _last_steps.get(secret, now - TOTP_WINDOW - 1) + 1)
        # The oldest step leaves the window when the clock turns: not in its last seconds.
        turning = totp.interval - moment.timestamp() % totp.interval < _MARGIN_S
        if step <= now and not (turning and step == now - TOTP_WINDOW):
            _last_steps[secret] = step
            return totp.generate_otp(step)
        await asyncio.sleep(0.5)


async def login(
    client: AsyncTestClient, email: str, user_id: int, role: str, totp: str | None = None
) -> Person:
    body: dict[str, object] = {"email": email, "password": PASSWORD}
    if totp:
        body["totp_code"] = await fresh_code(totp)
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


async def staff_never_enrolled(client: AsyncTestClient, engine: AsyncEngine) -> Person:
    """A staff account that has not set up its authenticator yet (no TOTP secret)."""
    worker = await staff(client, engine)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = :i"),
            {"i": worker.id},
        )
    return worker


async def audit_mark(engine: AsyncEngine) -> int:
    """The highest audit_log id so far. audit_log is append-only (the tests cannot empty
    it) while the other tables' ids restart each test: count only rows above a mark."""
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text("SELECT COALESCE(max(id), 0) FROM audit_log"))).scalar_one()
        )
