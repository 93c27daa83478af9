"""Request and response bodies of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from voisins.accounts.access import Role
from voisins.request_bodies import Input

Email = Annotated[
    str,
    Meta(
        max_length=254,
        pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+\Z",
        description="E-mail address",
        examples=["camille.martin@example.org"],
    ),
]
Password = Annotated[str, Meta(min_length=10, max_length=256, description="At least 10 characters")]
DisplayName = Annotated[str, Meta(min_length=1, max_length=80, examples=["Camille M."])]
# Patterns end in \Z, not $: msgspec searches with Python's re, where $ also matches
# before a final newline ("x@y.org\n" passed, and was stored beside "x@y.org").
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9 .-]{6,20}\Z", examples=["06 12 34 56 78"])]
TotpCode = Annotated[str, Meta(pattern=r"^[0-9]{6}\Z", examples=["123456"])]
Locale = Literal["fr", "en"]
Vulnerability = Literal["isolated_elderly", "minor", "precarious"]


class RegisterIn(Input):
    email: Email
    password: Password
    display_name: DisplayName
    locale: Locale = "fr"
    phone: Phone | None = None


class LoginIn(Input):
    email: Email
    password: Annotated[str, Meta(max_length=256)]
    totp_code: TotpCode | None = None


class MeUpdate(Input):
    display_name: DisplayName | UnsetType = UNSET
    locale: Locale | UnsetType = UNSET
    phone: Phone | UnsetType | None = UNSET


class Me(msgspec.Struct, kw_only=True):
    """What a person sees of their own account."""

    id: int
    email: str | None
    phone: str | None
    display_name: str
    role: Role
    locale: Locale
    assisted: bool
    vulnerability: list[Vulnerability]
    second_factor_enabled: bool
    # Nothing is e-mailed to an address until its owner follows the link sent there.
    email_confirmed: bool
    # A new address asked for, used once its link is followed.
    pending_email: str | None
    is_volunteer: bool
    centre_ids: list[int]
    created_at: datetime


class LoginOut(msgspec.Struct, kw_only=True):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    # Staff who have not proven a second factor in this session may only enrol/verify TOTP.
    second_factor_required: bool
    user: Me


class TotpSetupOut(msgspec.Struct):
    secret: str
    otpauth_uri: str


class TotpCodeIn(Input):
    code: TotpCode


class ResetRequestIn(Input):
    email: Email


class ResetConfirmIn(Input):
    token: Annotated[str, Meta(min_length=20, max_length=100)]
    password: Password


class EmailConfirmIn(Input):
    token: Annotated[str, Meta(min_length=20, max_length=100)]


class PasswordChangeIn(Input):
    current_password: Annotated[str, Meta(max_length=256)]
    new_password: Password


class EmailChangeIn(Input):
    current_password: Annotated[str, Meta(max_length=256)]
    email: Email


class StaffUserIn(Input):
    """An administrator creates social workers and administrators. Without a password
    (the pages never ask for one), the person is invited by e-mail to choose their own:
    nobody else ever knows it."""

    email: Email
    display_name: DisplayName
    role: Literal["social_worker", "admin"]
    password: Password | UnsetType = UNSET
    centre_id: int | None = None


class Accepted(msgspec.Struct):
    status: str = "accepted"
