"""Staff second factor (TOTP) as the pages need it: enrolment, the code after the
password, and an administrator's reset.

- Enrolment keeps one pending secret until a first code confirms it: a wrong code or a
  reload shows the same QR code, so a phone that already scanned it keeps working.
  Once confirmed the secret is never shown again (enrolling anew needs a reset).
- A code serves once only, wherever it is given (these pages, the API's login and
  enrolment in accounts/sessions.py, the login page's code field): the time step it
  belongs to is stored (``users.totp_last_step``, sql/0013) and only a later step is
  accepted, by a conditional update, so the same code sent twice at once passes once.
- Attempts are counted with the login limiter (accounts/ratelimit.py), per account and
  per IP: six digits are guessable without a limit.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

import msgspec
import pyotp
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import STAFF_ROLES, Viewer, require_admin
from voisins.accounts.ratelimit import LoginLimiter
from voisins.errors import Conflict, Forbidden, Invalid, NotFound

TOTP_ISSUER = "voisins"
# Accept the previous and next 30 s step: phones' clocks drift.
TOTP_WINDOW = 1

# Why a code was refused, as the field error of the pages (French, translated there).
WRONG_CODE = "wrong or expired code"
USED_CODE = "code already used"


class Enrolment(msgspec.Struct, frozen=True):
    secret: str
    otpauth_uri: str


class FactorState(msgspec.Struct, frozen=True):
    """Where a staff account stands: ``enabled_at`` is None until enrolment ends."""

    enabled_at: datetime | None


def limiter_key(user_id: int) -> str:
    """The limiter's "account" for code attempts: a namespace of its own (no e-mail has
    this shape), so code and password attempts are counted apart per account."""
    return f"totp-code:{user_id}"


def require_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise Forbidden("only staff accounts have a second factor")


def matching_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step whose code this is, within the drift window, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at or clock.now())
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def state(conn: AsyncConnection, user_id: int) -> FactorState:
    enabled_at = (
        await conn.execute(
            text("SELECT totp_enabled_at FROM users WHERE id = :id"), {"id": user_id}
        )
    ).scalar_one_or_none()
    return FactorState(enabled_at=enabled_at)


async def _own_factor(conn: AsyncConnection, viewer: Viewer, *, enrolled: bool) -> Row[Any]:
    """The viewer's account row, locked, its factor enrolled or not yet as the step
    expects (409 otherwise)."""
    row = (
        await conn.execute(
            text(
                "SELECT email, totp_secret, totp_enabled_at FROM users "
                "WHERE id = :id AND status = 'active' FOR UPDATE"
            ),
            {"id": viewer.id},
        )
    ).first()
    if row is None:
        raise NotFound("no such account")
    if enrolled and row.totp_enabled_at is None:
        raise Conflict("the second factor is not enrolled yet")
    if not enrolled and row.totp_enabled_at is not None:
        raise Conflict("the second factor is already enabled")
    return row


async def enrolment(conn: AsyncConnection, viewer: Viewer) -> Enrolment:
    """The pending secret of a staff account without a second factor (made once)."""
    require_staff(viewer)
    row = await _own_factor(conn, viewer, enrolled=False)
    secret = row.totp_secret
    if secret is None:
        secret = pyotp.random_base32()
        await conn.execute(
            text("UPDATE users SET totp_secret = :s WHERE id = :id"), {"s": secret, "id": viewer.id}
        )
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=row.email or str(viewer.id),
        issuer_name=TOTP_ISSUER,
    )
    return Enrolment(secret=secret, otpauth_uri=uri)


async def use_code(
    conn: AsyncConnection, user_id: int, secret: str | None, code: str | None
) -> str | None:
    """Accept ``code`` once: None when it was right and is now used, else why not
    (``WRONG_CODE``, ``USED_CODE``). One conditional UPDATE remembers its step: of two
    requests with the same code at once, the second waits for the first's row lock,
    then finds the step taken."""
    step = matching_step(secret, code) if secret and code else None
    if step is None:
        return WRONG_CODE
    used = (
        await conn.execute(
            text(
                "UPDATE users SET totp_last_step = :step WHERE id = :id "
                "AND (totp_last_step IS NULL OR totp_last_step < :step) RETURNING id"
            ),
            {"step": step, "id": user_id},
        )
    ).first()
    return USED_CODE if used is None else None


async def _take_code(
    conn: AsyncConnection,
    limiter: LoginLimiter,
    viewer: Viewer,
    code: str,
    *,
    ip: str,
    enrolled: bool,
) -> None:
    """What both steps that take a code do first: staff only, the attempt counted against
    the login limits, the factor enrolled (``verify``) or not yet (``enable``), the code
    checked and used up."""
    require_staff(viewer)
    await limiter.hit(limiter_key(viewer.id), ip)
    row = await _own_factor(conn, viewer, enrolled=enrolled)
    refused = await use_code(conn, viewer.id, row.totp_secret, code)
    if refused is not None:
        raise Invalid.field("code", refused)


async def _verify_session(conn: AsyncConnection, viewer: Viewer) -> None:
    await conn.execute(
        text("UPDATE sessions SET second_factor_at = now() WHERE id = :id"),
        {"id": viewer.session_id},
    )


async def enable(
    conn: AsyncConnection, limiter: LoginLimiter, viewer: Viewer, code: str, *, ip: str
) -> None:
    """Confirm enrolment with a first code; this session counts as verified."""
    await _take_code(conn, limiter, viewer, code, ip=ip, enrolled=False)
    await conn.execute(
        text("UPDATE users SET totp_enabled_at = now() WHERE id = :id"), {"id": viewer.id}
    )
    await _verify_session(conn, viewer)
    await audit.record(conn, viewer, "second_factor.enrol", "user", viewer.id)
    await limiter.clear_account(limiter_key(viewer.id), ip)


async def verify(
    conn: AsyncConnection, limiter: LoginLimiter, viewer: Viewer, code: str, *, ip: str
) -> None:
    """The code after the password: this session becomes fully signed in."""
    await _take_code(conn, limiter, viewer, code, ip=ip, enrolled=True)
    await _verify_session(conn, viewer)
    await limiter.clear_account(limiter_key(viewer.id), ip)


async def reset(conn: AsyncConnection, admin: Viewer, user_id: int) -> None:
    """An administrator clears a staff member's second factor (a lost phone): their
    sessions end, and their next sign-in leads to a new enrolment with a new secret."""
    require_admin(admin)
    if user_id == admin.id:
        # A stolen administrator session must not be able to swap its own factor.
        raise Forbidden("another administrator resets your second factor")
    role = (
        await conn.execute(
            text("SELECT role FROM users WHERE id = :id AND status <> 'erased' FOR UPDATE"),
            {"id": user_id},
        )
    ).scalar_one_or_none()
    if role not in STAFF_ROLES:
        raise NotFound("no such staff account")
    await conn.execute(
        text(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, "
            "totp_last_step = NULL WHERE id = :id"
        ),
        {"id": user_id},
    )
    await conn.execute(text("DELETE FROM sessions WHERE user_id = :id"), {"id": user_id})
    await audit.record(conn, admin, "second_factor.reset", "user", user_id)
