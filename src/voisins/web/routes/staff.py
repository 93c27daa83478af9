"""Staff sign-in, second step: enrol the second factor (a QR code to scan, the key to
type) or give the 6-digit code, after a correct password; and an administrator's reset
of someone's second factor.

The login page (routes/public.py) opens a session that waits for the code and sends
staff here; such a session reaches nothing else (api/deps.py treats it as signed out).
The rules — one pending secret kept until confirmed, a code used once, attempts
counted — are the service's (accounts/second_factor.py)."""

from __future__ import annotations

import io
from typing import Any, NamedTuple
from urllib.parse import quote

import segno
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts import second_factor, sessions, users
from voisins.accounts.access import Viewer
from voisins.api.deps import (
    LimiterDep,
    SettingsDep,
    Tx,
    client_ip,
    known_device_cookie,
    token_of,
)
from voisins.api.refusals import VIEWER_STATE_KEY
from voisins.errors import Conflict, Invalid, TooManyRequests
from voisins.web.forms import N_, form_values
from voisins.web.pages import page, safe_next
from voisins.web.problems import PAGE_ERROR_HANDLERS, NotSignedIn
from voisins.web.signed_in import Person

ENROL_PATH = "/securite/double-authentification"
CODE_PATH = "/securite/code"
# For the administrators' pages: a form POSTing here (with its CSRF token and, if they
# like, ``suite``, the page to come back to) resets that person's second factor.
RESET_PATH = "/securite/double-authentification/{user_id:int}/reinitialiser"
RESET_DONE_QUERY = "double-authentification=reinitialisee"

CODE_ERRORS = {
    second_factor.WRONG_CODE: N_(
        "Ce code ne convient pas. Tapez les 6 chiffres que l'application affiche en ce "
        "moment : ils changent toutes les 30 secondes."
    ),
    second_factor.USED_CODE: N_(
        "Ce code a déjà servi. Attendez que l'application en affiche un nouveau (30 "
        "secondes au plus), puis tapez-le."
    ),
}
TOO_MANY = N_("Trop d'essais de code. Attendez quelques minutes, puis réessayez.")


def _refusal(exc: Invalid) -> str:
    """The field's message for a refused code: wrong, or already used."""
    reason = exc.fields.get("code", second_factor.WRONG_CODE)
    return CODE_ERRORS.get(reason, CODE_ERRORS[second_factor.WRONG_CODE])


def _waiting(exc: TooManyRequests, shown: Template) -> Template:
    shown.headers["Retry-After"] = str(exc.retry_after_s)
    return shown


def landing(viewer: Viewer, suite: str) -> str:
    """Where a fully signed-in staff member goes: the page they asked for, else a social
    worker's workspace."""
    if suite == "/" and viewer.is_social_worker:
        return "/centre"
    return suite


async def signed_in_fully(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, suite: str, settings: SettingsDep
) -> Redirect:
    """After the code: on to the page asked for, and this device now knows the account
    (its password is no longer held up by someone else's wrong guesses)."""
    redirect = Redirect(landing(viewer, suite), status_code=303)
    email = (await users.get_me(tx, viewer.id)).email
    if email:
        redirect.cookies.append(known_device_cookie(request, email, settings))
    return redirect


def second_step(enrolled: bool, suite: str) -> str:
    """The page that finishes a staff sign-in after the password."""
    return f"{CODE_PATH if enrolled else ENROL_PATH}?suite={quote(suite)}"


async def pending_viewer(request: Request[Any, Any, Any], tx: AsyncConnection) -> Viewer | None:
    """Any live session, a staff one still waiting for its code included."""
    token = token_of(request)
    return await sessions.resolve(tx, token) if token else None


async def unfinished_sign_in(request: Request[Any, Any, Any], tx: AsyncConnection) -> str | None:
    """For a staff session waiting for its code: the page that finishes the sign-in
    (the login page sends there rather than asking for the password again)."""
    viewer = await pending_viewer(request, tx)
    if viewer is None or not viewer.is_staff or viewer.second_factor:
        return None
    enrolled = (await second_factor.state(tx, viewer.id)).enabled_at is not None
    return second_step(enrolled, safe_next(request.query_params.get("suite")))


class StaffSession(NamedTuple):
    """A staff session on a second-step page (its code maybe still awaited)."""

    viewer: Viewer
    enrolled: bool  # whether its second factor is enrolled


async def provide_staff_session(request: Request[Any, Any, Any], tx: Tx) -> StaffSession:
    """The staff session behind a second-step page, and whether its factor is enrolled.
    Unlike ``person``, a session still waiting for its code counts. Signed out → the
    login page; not staff → the refusal page (audited)."""
    viewer = await pending_viewer(request, tx)
    if viewer is None:
        raise NotSignedIn
    request.state[VIEWER_STATE_KEY] = viewer
    second_factor.require_staff(viewer)
    enrolled = (await second_factor.state(tx, viewer.id)).enabled_at is not None
    return StaffSession(viewer, enrolled)


Staff = NamedDependency[StaffSession]


def _no_code_needed(staff: StaffSession, suite: str) -> Redirect | None:
    """Where the code page sends a session that has no code to give: to enrol first,
    or on (the code was given already)."""
    if not staff.enrolled:
        return Redirect(second_step(False, suite), status_code=303)
    if staff.viewer.second_factor:
        return Redirect(landing(staff.viewer, suite), status_code=303)
    return None


def qr_svg(uri: str) -> Markup:
    """The otpauth:// link as an inline SVG QR code: drawn here, so the secret never
    goes to a third-party service; white margin for phones' cameras in any theme."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, scale=5, border=4, light="#fff",
        svgclass="qr", lineclass=None,
    )  # fmt: skip
    # Named by its caption for screen readers; the key itself is written out beside it.
    labelled = '<svg role="img" aria-labelledby="qr-caption" '
    svg = out.getvalue().decode().replace("<svg ", labelled, 1)
    return Markup(svg)  # noqa: S704 - segno's own output, no user text in it


def grouped(secret: str) -> str:
    """The key in groups of four, as authenticator apps let you type it."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


async def _enrol_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, suite: str, *,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    enrolment = await second_factor.enrolment(tx, viewer)
    return page(
        request, "staff/enrol.html", None, status_code=status_code, errors=errors or {},
        suite=suite, qr=qr_svg(enrolment.otpauth_uri), secret=grouped(enrolment.secret),
    )  # fmt: skip


@get(ENROL_PATH, name="staff_enrol_page", operation_id="pageStaffEnrol",
     include_in_schema=False)  # fmt: skip
async def enrol_page(request: Request[Any, Any, Any], tx: Tx, staff: Staff) -> Response[Any]:
    viewer, enrolled = staff
    suite = safe_next(request.query_params.get("suite"))
    if enrolled:
        # The secret is never shown again once confirmed.
        if viewer.second_factor:
            return Redirect("/mon-compte", status_code=303)
        return Redirect(second_step(True, suite), status_code=303)
    return await _enrol_page(request, tx, viewer, suite)


@post(ENROL_PATH, name="staff_enrol_submit", operation_id="pageStaffEnrolSubmit",
      include_in_schema=False)  # fmt: skip
async def enrol_submit(
    request: Request[Any, Any, Any], tx: Tx, staff: Staff, limiter: LimiterDep,
    settings: SettingsDep,
) -> Response[Any]:  # fmt: skip
    viewer, enrolled = staff
    values = await form_values(request)
    suite = safe_next(values.get("suite"))
    if enrolled:
        return Redirect(landing(viewer, suite) if viewer.second_factor
                        else second_step(True, suite), status_code=303)  # fmt: skip
    try:
        async with tx.begin_nested():
            await second_factor.enable(
                tx, limiter, viewer, str(values.get("code") or ""), ip=client_ip(request)
            )
    except Invalid as exc:
        return await _enrol_page(request, tx, viewer, suite, status_code=400,
                                 errors={"code": _refusal(exc)})  # fmt: skip
    except TooManyRequests as exc:
        return _waiting(exc, await _enrol_page(request, tx, viewer, suite, status_code=429,
                                               errors={"code": TOO_MANY}))  # fmt: skip
    except Conflict:  # confirmed meanwhile, in another tab
        return Redirect(second_step(True, suite), status_code=303)
    return await signed_in_fully(request, tx, viewer, suite, settings)


def _code_page(
    request: Request[Any, Any, Any], suite: str, *, errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    return page(request, "staff/code.html", None, status_code=status_code,
                errors=errors or {}, suite=suite)  # fmt: skip


@get(CODE_PATH, name="staff_code_page", operation_id="pageStaffCode", include_in_schema=False)
async def code_page(request: Request[Any, Any, Any], staff: Staff) -> Response[Any]:
    suite = safe_next(request.query_params.get("suite"))
    return _no_code_needed(staff, suite) or _code_page(request, suite)


@post(CODE_PATH, name="staff_code_submit", operation_id="pageStaffCodeSubmit",
      include_in_schema=False)  # fmt: skip
async def code_submit(
    request: Request[Any, Any, Any], tx: Tx, staff: Staff, limiter: LimiterDep,
    settings: SettingsDep,
) -> Response[Any]:  # fmt: skip
    viewer = staff.viewer
    values = await form_values(request)
    suite = safe_next(values.get("suite"))
    if elsewhere := _no_code_needed(staff, suite):
        return elsewhere
    try:
        async with tx.begin_nested():
            await second_factor.verify(
                tx, limiter, viewer, str(values.get("code") or ""), ip=client_ip(request)
            )
    except Invalid as exc:
        return _code_page(request, suite, status_code=400, errors={"code": _refusal(exc)})
    except TooManyRequests as exc:
        return _waiting(exc, _code_page(request, suite, status_code=429, errors={"code": TOO_MANY}))
    return await signed_in_fully(request, tx, viewer, suite, settings)


@post(RESET_PATH, name="staff_factor_reset", operation_id="pageResetSecondFactor",
      include_in_schema=False)  # fmt: skip
async def reset_factor(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    user_id: FromPath[int],
) -> Redirect:  # fmt: skip
    """An administrator resets a staff member's second factor (audited); back to the
    page the form was on, which may show a notice for ``RESET_DONE_QUERY``."""
    await second_factor.reset(tx, person.viewer, user_id)
    values = await form_values(request)
    suite = safe_next(values.get("suite"))
    return Redirect(f"{suite}{'&' if '?' in suite else '?'}{RESET_DONE_QUERY}", status_code=303)


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[enrol_page, enrol_submit, code_page, code_submit, reset_factor],
        dependencies={"staff": Provide(provide_staff_session)},
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
