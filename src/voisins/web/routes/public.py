"""Pages anyone may open: home, sign up, log in and out, language and text size."""

from __future__ import annotations

from typing import Any

import msgspec
import pyotp
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Template
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts import sessions, users
from voisins.accounts.schemas import LoginIn, RegisterIn
from voisins.api.deps import (
    ANONYMOUS_SEARCH,
    ActionLimitsDep,
    LimiterDep,
    OptionalViewer,
    SettingsDep,
    Tx,
    anonymous_search_limit,
    client_ip,
    ended_session_cookie,
    known_device_cookie,
    provide_action_limits,
    session_cookie,
    sparing_known_device,
)
from voisins.categories import LABELS
from voisins.demo import DEMO_PASSWORD, DEMO_TOTP
from voisins.errors import Conflict, Invalid, TooManyRequests, Unauthenticated
from voisins.geo.coordinates import LonLat
from voisins.posts import reads as post_reads
from voisins.settings import Settings
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.i18n import LANG_COOKIE, LOCALES, language_cookie
from voisins.web.pages import LARGE_TEXT_COOKIE, me_of, page, safe_next
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes import recovery, staff

HOME_RADIUS_KM = 2
UNKNOWN_CATEGORY = N_("Cette catégorie n'existe pas. Voici toutes les annonces.")


def home_area(settings: Settings) -> LonLat:
    """The deployment's area (settings): the home page's list for visitors, and where
    maps open before a place is chosen."""
    return LonLat(settings.home_lon, settings.home_lat)


# The home page is the public listing's search for visitors: limited per client IP
# without a session (api/deps.py, anonymous_search_limit).
@get("/", name="home", include_in_schema=False, opt={ANONYMOUS_SEARCH: True},
     guards=[anonymous_search_limit])  # fmt: skip
async def home(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    """Open posts near the deployment's neighbourhood (settings), or around a signed-in
    person's own public cell (their volunteer profile's, else their latest post's); a
    category from the filter (the query string) narrows the list."""
    me = await me_of(tx, optional_viewer)
    asked = (request.query_params.get("categorie") or "").strip()
    category = asked if asked in LABELS else None
    unknown = bool(asked) and category is None  # the whole list, and a message saying why
    mine = await post_reads.own_area(tx, optional_viewer) if optional_viewer is not None else None
    around_me = mine is not None
    place = mine or home_area(settings)
    nearby = await post_reads.browse(
        tx, optional_viewer, place, radius_km=HOME_RADIUS_KM, cell_size_m=settings.grid_cell_m,
        category=category, kind=None, page=1, per_page=20,
    )  # fmt: skip
    return page(
        request, "home.html", me, status_code=400 if unknown else 200,
        posts=nearby.items, around_me=around_me, category=category,
        area_name=settings.home_area_name,
        category_error=UNKNOWN_CATEGORY if unknown else None,
        centre={"lon": place.lon, "lat": place.lat},
        cells=[{"lon": p.cell.lon, "lat": p.cell.lat} for p in nearby.items],
        demo=await demo_accounts(tx) if settings.environment == "development" and not me else [],
        demo_password=DEMO_PASSWORD,
    )  # fmt: skip


class DemoAccount(msgspec.Struct, frozen=True):
    email: str
    role: str
    code: str | None  # the staff account's current TOTP code


async def demo_accounts(conn: AsyncConnection) -> list[DemoAccount]:
    """In development, when `voisins demo` loaded its neighbourhood, the home page lists
    its accounts so a newcomer can click through every role (with the staff accounts'
    current second-factor code, which their public demo secret gives anyway)."""
    found = set(
        (
            await conn.execute(
                text("SELECT email FROM users WHERE email = ANY(:e)"),
                {"e": [email for email, _, _ in DEMO_ACCOUNTS]},
            )
        ).scalars()
    )
    return [
        DemoAccount(email, role, pyotp.TOTP(secret).now() if secret else None)
        for email, role, secret in DEMO_ACCOUNTS
        if email in found
    ]


DEMO_ACCOUNTS = [
    ("gisele@voisins.demo", N_("habitante"), None),
    ("fatou@voisins.demo", N_("bénévole"), None),
    ("travailleur1@voisins.demo", N_("travailleur social"), DEMO_TOTP["sw1"]),
]


@get("/connexion", name="login_page", include_in_schema=False)
async def login_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Response[Any]:
    # A staff member between password and code (sent here by a page that needs them
    # fully signed in) finishes with the code rather than the password again.
    if optional_viewer is None and (unfinished := await staff.unfinished_sign_in(request, tx)):
        return Redirect(unfinished, status_code=303)
    # Reached from the new-password page (routes/recovery.py) once the password changed.
    changed = request.query_params.get("mot-de-passe") == "change"
    return page(request, "login.html", await me_of(tx, optional_viewer), errors={}, values={},
                suite=safe_next(request.query_params.get("suite")),
                password_changed=changed)  # fmt: skip


@post("/connexion", name="login_submit", include_in_schema=False)
async def login_submit(
    request: Request[Any, Any, Any], tx: Tx, limiter: LimiterDep, settings: SettingsDep
) -> Response[Any]:
    values = await form_values(request)
    suite = safe_next(values.pop("suite", None))
    if not values.get("totp_code"):
        values.pop("totp_code", None)
    errors: dict[str, str] = {}
    retry_s = 0
    try:
        data = convert(values, LoginIn)
        if data.totp_code is None:
            limiter = sparing_known_device(limiter, request)
        # Staff give their code on a page of its own (routes/staff.py), or enrol there.
        result = await sessions.login(
            tx, limiter, data, ip=client_ip(request), ttl_s=settings.session_ttl_s,
            code_later=True,
        )  # fmt: skip
    except FormError as exc:
        errors = exc.fields
    except TooManyRequests as exc:
        errors = {"form": N_("Trop d'essais. Réessayez dans quelques minutes.")}
        retry_s = exc.retry_after_s
    except Unauthenticated:
        # The same words for a wrong password and a wrong code (accounts/sessions.py).
        errors = {"form": N_("E-mail ou mot de passe incorrect.")}
    if errors:
        values.pop("password", None)
        shown = page(request, "login.html", None, status_code=429 if retry_s else 400,
                     errors=errors, values=values, suite=suite)  # fmt: skip
        if retry_s:
            shown.headers["Retry-After"] = str(retry_s)
        return shown
    redirect = Redirect(suite, status_code=303)
    if result.second_factor_required:
        # The device becomes known once the code is given too (routes/staff.py).
        redirect = Redirect(
            staff.second_step(result.user.second_factor_enabled, suite), status_code=303
        )
    else:
        redirect.cookies.append(known_device_cookie(request, data.email, settings))
    redirect.cookies.append(session_cookie(result.token, settings))
    return redirect


@get("/inscription", name="signup_page", include_in_schema=False)
async def signup_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    return page(request, "signup.html", await me_of(tx, optional_viewer), errors={}, values={})


@post("/inscription", name="signup_submit", include_in_schema=False)
async def signup_submit(
    request: Request[Any, Any, Any], tx: Tx, limiter: LimiterDep, settings: SettingsDep,
    action_limits: ActionLimitsDep,
) -> Response[Any]:  # fmt: skip
    values = await form_values(request)
    values["locale"] = values.get("locale") or request.cookies.get(LANG_COOKIE) or "fr"
    if not values.get("phone"):
        values.pop("phone", None)
    try:
        data = convert(values, RegisterIn)
        # Refused: the 429 page (PAGE_ERROR_HANDLERS below), nothing written.
        await action_limits.register(client_ip(request))
        await users.register(tx, data)
        result = await sessions.login(
            tx, limiter, LoginIn(email=data.email, password=data.password),
            ip=client_ip(request), ttl_s=settings.session_ttl_s,
        )  # fmt: skip
    except FormError as exc:
        values.pop("password", None)
        return page(request, "signup.html", None, status_code=400, errors=exc.fields,
                    values=values)  # fmt: skip
    except Invalid as exc:
        if not recovery.too_easy(exc, "password"):
            raise
        values.pop("password", None)
        return page(request, "signup.html", None, status_code=400,
                    errors={"password": recovery.TOO_EASY}, values=values)  # fmt: skip
    except Conflict:
        values.pop("password", None)
        taken = {"email": N_("Un compte existe déjà avec cet e-mail.")}
        return page(request, "signup.html", None, status_code=409, errors=taken, values=values)
    # The account page says a link was sent, and offers to send it again.
    redirect = Redirect("/mon-compte?fait=inscription#adresse", status_code=303)
    redirect.cookies.append(session_cookie(result.token, settings))
    redirect.cookies.append(known_device_cookie(request, data.email, settings))
    return redirect


@post("/deconnexion", name="logout", include_in_schema=False)
async def logout(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Redirect:
    # A staff session still waiting for its code ends too ("Annuler et se déconnecter").
    viewer = optional_viewer or await staff.pending_viewer(request, tx)
    if viewer is not None:
        await sessions.logout(tx, viewer)
    redirect = Redirect("/", status_code=303)
    redirect.cookies.append(ended_session_cookie())
    return redirect


@post("/langue", name="language", include_in_schema=False)
async def language(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Redirect:
    """The language switch: saved on the account when signed in, in a cookie anyway."""
    values = await form_values(request)
    choice = str(values["value"]) if values.get("value") in LOCALES else "fr"
    if optional_viewer is not None:
        await users.set_locale(tx, optional_viewer.id, choice)
    redirect = Redirect(safe_next(values.get("suite")), status_code=303)
    redirect.cookies.append(language_cookie(choice))
    return redirect


@post("/affichage", name="text_size", include_in_schema=False)
async def text_size(request: Request[Any, Any, Any]) -> Redirect:
    """Large text on or off (a cookie; works without JavaScript)."""
    values = await form_values(request)
    large = "1" if values.get("large") == "1" else "0"
    redirect = Redirect(safe_next(values.get("suite")), status_code=303)
    redirect.cookies.append(
        Cookie(key=LARGE_TEXT_COOKIE, value=large, max_age=365 * 86400, path="/", samesite="lax")
    )
    return redirect


async def reset_request_limit(connection: ASGIConnection[Any, Any, Any, Any],
                              handler: BaseRouteHandler) -> None:  # fmt: skip
    """A guard on the recovery pages: asking for a reset link by the form is limited
    per address and per client IP, as the API's request is (api/auth.py)."""
    if handler.name != recovery.forgotten_submit.name or not isinstance(connection, Request):
        return
    email = (await connection.form()).get("email")
    await provide_action_limits(connection.app.state).reset_request(
        email if isinstance(email, str) else None, client_ip(connection)
    )


ROUTES = [
    # A refused limit shows the 429 page, as other pages do (web/problems.py).
    Router(path="/", route_handlers=[
        home, login_page, login_submit, signup_page, signup_submit, logout, language, text_size,
    ], exception_handlers=PAGE_ERROR_HANDLERS),
    Router(path="/", route_handlers=recovery.ROUTES, guards=[reset_request_limit],
           exception_handlers=PAGE_ERROR_HANDLERS),
    *staff.ROUTES,
]  # fmt: skip
