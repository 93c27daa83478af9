"""Dependencies every handler may ask for: a transaction, the viewer, the limiters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.accounts.quotas import Quotas
from voisins.accounts.ratelimit import LoginLimiter
from voisins.accounts.sessions import resolve
from voisins.api.refusals import VIEWER_STATE_KEY
from voisins.errors import Forbidden, Unauthenticated
from voisins.geo.geocoder import Geocoder
from voisins.settings import Settings

SESSION_COOKIE = "voisins_session"


def session_cookie(token: str, settings: Settings) -> Cookie:
    """The browser session: HTTP-only, SameSite=Lax, Secure where configured."""
    return Cookie(
        key=SESSION_COOKIE, value=token, max_age=settings.session_ttl_s, httponly=True,
        secure=settings.secure_cookies, samesite="lax", path="/",
    )  # fmt: skip


def ended_session_cookie() -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")


# Handler parameters name their dependency explicitly (Litestar 3 drops inference).
Tx = NamedDependency[AsyncConnection]
CurrentViewer = NamedDependency[Viewer]
SessionViewer = NamedDependency[Viewer]
SettingsDep = NamedDependency[Settings]
LimiterDep = NamedDependency[LoginLimiter]
QuotasDep = NamedDependency[Quotas]
OptionalViewer = NamedDependency[Viewer | None]
GeocoderDep = NamedDependency[Geocoder]


# A handler that only reads, and is called often, says so with ``opt=READS_ONLY``: its
# connection runs each statement on its own, without the BEGIN and COMMIT round trips
# (in READ COMMITTED each statement reads its own snapshot anyway). tests/test_reads.py
# checks that every such handler writes nothing.
READS_ONLY = {"reads_only": True}


async def provide_tx(
    request: Request[Any, Any, Any], state: State
) -> AsyncIterator[AsyncConnection]:
    """One connection and one transaction per request: committed when the handler
    returns, rolled back when it raises, so nothing is ever half-written. A handler
    marked ``READS_ONLY`` gets its connection without a transaction (it writes nothing)."""
    if request.route_handler.opt.get("reads_only"):
        async with state.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
        return
    async with state.engine.begin() as conn:
        yield conn


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_of(request: Request[Any, Any, Any]) -> str | None:
    """The bearer token, or the session cookie. On the API, the cookie authenticates
    reads only: a write needs the bearer token, so a page of another site cannot make
    a browser write through the API (the web pages have their own CSRF-checked forms)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if request.url.path.startswith("/api/") and request.method not in SAFE_METHODS:
        return None
    return request.cookies.get(SESSION_COOKIE)


async def provide_session_viewer(request: Request[Any, Any, Any], tx: Tx) -> Viewer:
    """Any live session, even a staff one still waiting for its second factor."""
    token = token_of(request)
    viewer = await resolve(tx, token) if token else None
    if viewer is None:
        raise Unauthenticated("log in first (session cookie or bearer token)")
    # Who asked, for the audit trace of a refusal (api/refusals.py).
    request.state[VIEWER_STATE_KEY] = viewer
    return viewer


async def provide_optional_viewer(request: Request[Any, Any, Any], tx: Tx) -> Viewer | None:
    """For public reads: the viewer when fully authenticated, otherwise anonymous."""
    token = token_of(request)
    viewer = await resolve(tx, token) if token else None
    if viewer is not None and viewer.is_staff and not viewer.second_factor:
        return None
    return viewer


def provide_geocoder(state: State) -> Geocoder:
    geocoder: Geocoder = state.geocoder
    return geocoder


async def provide_viewer(session_viewer: SessionViewer) -> Viewer:
    """A fully authenticated viewer: staff must have proven their TOTP second factor."""
    if session_viewer.is_staff and not session_viewer.second_factor:
        raise Forbidden("staff accounts need their second factor (TOTP) first")
    return session_viewer


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_login_limiter(state: State) -> LoginLimiter:
    settings: Settings = state.settings
    return LoginLimiter(
        state.redis, settings.secret_key, settings.login_max_attempts, settings.login_window_s
    )


def provide_quotas(state: State) -> Quotas:
    settings: Settings = state.settings
    return Quotas.from_settings(state.redis, settings)


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


DEPENDENCIES = {
    "tx": Provide(provide_tx),
    "session_viewer": Provide(provide_session_viewer),
    "viewer": Provide(provide_viewer),
    "optional_viewer": Provide(provide_optional_viewer),
    "geocoder": Provide(provide_geocoder, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "limiter": Provide(provide_login_limiter, sync_to_thread=False),
    "quotas": Provide(provide_quotas, sync_to_thread=False),
}
