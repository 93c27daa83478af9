"""Accounts API: register, log in/out, TOTP, password reset, my account, staff creation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, patch, post
from litestar.params import JSONBody

from voisins.accounts import addresses, resets, second_factor, sessions, users
from voisins.accounts.schemas import (
    Accepted,
    EmailChangeIn,
    EmailConfirmIn,
    LoginIn,
    LoginOut,
    Me,
    MeUpdate,
    PasswordChangeIn,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    StaffUserIn,
    TotpCodeIn,
    TotpSetupOut,
)
from voisins.api.deps import (
    READS_ONLY,
    ActionLimitsDep,
    CurrentViewer,
    LimiterDep,
    OptionalViewer,
    SessionViewer,
    SettingsDep,
    Tx,
    client_ip,
    ended_session_cookie,
    known_device_cookie,
    session_cookie,
    sparing_known_device,
)
from voisins.api.idempotent import IdempotencyKey, idempotent_response


@post("/auth/register", operation_id="register", summary="Create a resident account")
async def register(
    request: Request[Any, Any, Any],
    data: JSONBody[RegisterIn],
    tx: Tx,
    action_limits: ActionLimitsDep,
) -> Me:
    # No account exists yet to scope an Idempotency-Key to: a repeated registration
    # is answered by the unique e-mail (409) instead.
    await action_limits.register(client_ip(request))
    return await users.register(tx, data)


@post(
    "/auth/login",
    operation_id="login",
    summary="Log in with e-mail, password (and TOTP)",
    # A session is not a resource created at an address: the answer is 200 (the clients
    # and tests expect it), and the document must say so.
    status_code=200,
)
async def login(
    request: Request[Any, Any, Any],
    data: JSONBody[LoginIn],
    tx: Tx,
    limiter: LimiterDep,
    settings: SettingsDep,
) -> Response[LoginOut]:
    if data.totp_code is None:
        limiter = sparing_known_device(limiter, request)
    result = await sessions.login(
        tx, limiter, data, ip=client_ip(request), ttl_s=settings.session_ttl_s
    )
    cookies = [session_cookie(result.token, settings)]
    if not result.second_factor_required:
        cookies.append(known_device_cookie(request, data.email, settings))
    return Response(result, status_code=200, cookies=cookies)


@post("/auth/logout", operation_id="logout", summary="End this session", status_code=200)
async def logout(tx: Tx, session_viewer: SessionViewer) -> Response[Accepted]:
    await sessions.logout(tx, session_viewer)
    return Response(Accepted(status="logged_out"), cookies=[ended_session_cookie()])


@post("/auth/totp/setup", operation_id="totpSetup", summary="Start TOTP enrolment", status_code=200)
async def totp_setup(tx: Tx, session_viewer: SessionViewer) -> TotpSetupOut:
    return await sessions.totp_setup(tx, session_viewer)


@post(
    "/auth/totp/enable",
    operation_id="totpEnable",
    summary="Confirm TOTP with a first code",
    status_code=200,
)
async def totp_enable(
    request: Request[Any, Any, Any],
    data: JSONBody[TotpCodeIn],
    tx: Tx,
    session_viewer: SessionViewer,
    limiter: LimiterDep,
) -> Me:
    # Six digits are guessable without a limit: counted as the pages' codes are.
    key, ip = second_factor.limiter_key(session_viewer.id), client_ip(request)
    await limiter.hit(key, ip)
    await sessions.totp_enable(tx, session_viewer, data.code)
    await limiter.clear_account(key, ip)
    return await users.get_me(tx, session_viewer.id)


@post(
    "/auth/password-reset",
    operation_id="passwordResetRequest",
    summary="Send a password reset link (answers the same whether the account exists)",
    status_code=202,
)
async def password_reset_request(
    request: Request[Any, Any, Any],
    data: JSONBody[ResetRequestIn],
    tx: Tx,
    action_limits: ActionLimitsDep,
) -> Accepted:
    await action_limits.reset_request(data.email, client_ip(request))
    await resets.request_reset(tx, data.email)
    return Accepted()


@post(
    "/auth/password-reset/confirm",
    operation_id="passwordResetConfirm",
    summary="Choose a new password with the token from the e-mail",
    status_code=200,
)
async def password_reset_confirm(data: JSONBody[ResetConfirmIn], tx: Tx) -> Accepted:
    await resets.confirm_reset(tx, data.token, data.password)
    return Accepted(status="password_changed")


@post(
    "/auth/email/confirm",
    operation_id="emailConfirm",
    summary="Confirm an e-mail address with the token from the e-mail",
    status_code=200,
)
async def email_confirm(
    data: JSONBody[EmailConfirmIn], tx: Tx, optional_viewer: OptionalViewer
) -> Accepted:
    # No session needed (the link may be opened elsewhere); signed in as someone else,
    # the token is refused.
    await addresses.confirm(tx, data.token, viewer=optional_viewer)
    return Accepted(status="email_confirmed")


@post(
    "/me/email/confirmation",
    operation_id="emailConfirmResend",
    summary="Send the confirmation link again (a few an hour)",
    status_code=202,
)
async def email_confirm_resend(tx: Tx, viewer: CurrentViewer) -> Accepted:
    await addresses.resend(tx, viewer)
    return Accepted()


@post(
    "/me/password",
    operation_id="changePassword",
    summary="Change my password (the current one first); my other sessions end",
    status_code=200,
)
async def change_password(
    data: JSONBody[PasswordChangeIn],
    tx: Tx,
    viewer: CurrentViewer,
    limiter: LimiterDep,
) -> Accepted:
    await resets.change_password(
        tx, viewer, data.current_password, data.new_password, limiter=limiter
    )
    return Accepted(status="password_changed")


@post(
    "/me/email",
    operation_id="changeEmail",
    summary="Ask for a new e-mail address, used once confirmed by the link sent there",
    status_code=202,
)
async def change_email(
    data: JSONBody[EmailChangeIn],
    tx: Tx,
    viewer: CurrentViewer,
    limiter: LimiterDep,
) -> Accepted:
    await addresses.request_change(tx, viewer, data.current_password, data.email, limiter=limiter)
    return Accepted()


@get("/me", operation_id="getMe", summary="My account", opt=READS_ONLY)
async def get_me(tx: Tx, session_viewer: SessionViewer) -> Me:
    return await users.get_me(tx, session_viewer.id)


@patch("/me", operation_id="updateMe", summary="Change my name, language or phone")
async def update_me(data: JSONBody[MeUpdate], tx: Tx, viewer: CurrentViewer) -> Me:
    return await users.update_me(tx, viewer, data)


@post("/admin/users", operation_id="createStaffUser", summary="Create a social worker or admin")
async def create_staff(
    request: Request[Any, Any, Any],
    data: JSONBody[StaffUserIn],
    tx: Tx,
    viewer: CurrentViewer,
    idempotency_key: IdempotencyKey = None,
) -> Response[Me]:
    return await idempotent_response(
        tx, viewer, idempotency_key, request, data, lambda: users.create_staff(tx, viewer, data)
    )


router = Router(
    path="/api/v1",
    route_handlers=[
        register,
        login,
        logout,
        totp_setup,
        totp_enable,
        password_reset_request,
        password_reset_confirm,
        email_confirm,
        email_confirm_resend,
        change_password,
        change_email,
        get_me,
        update_me,
        create_staff,
    ],
    tags=["accounts"],
)
