"""Dependencies every handler may ask for: a transaction, the viewer, the limiters; and
who the client is (its IP, behind the proxies the settings trust)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts import known_devices
from voisins.accounts.access import Viewer
from voisins.accounts.quotas import Quotas
from voisins.accounts.ratelimit import ActionLimits, LoginLimiter
from voisins.accounts.sessions import resolve
from voisins.api.refusals import VIEWER_STATE_KEY
from voisins.errors import Forbidden, Unauthenticated
from voisins.geo.geocoder import Geocoder
from voisins.settings import IPNetwork, Settings

SESSION_COOKIE = "voisins_session"
# The known-device tokens (accounts/known_devices.py): sent to the API's login as to
# the pages', so the path is the whole site.
DEVICE_COOKIE = "voisins_appareil"


def session_cookie(token: str, settings: Settings) -> Cookie:
    """The browser session: HTTP-only, SameSite=Lax, Secure where configured."""
    return Cookie(
        key=SESSION_COOKIE, value=token, max_age=settings.session_ttl_s, httponly=True,
        secure=settings.secure_cookies, samesite="lax", path="/",
    )  # fmt: skip


def ended_session_cookie() -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")


def known_device_cookie(request: Request[Any, Any, Any], email: str, settings: Settings) -> Cookie:
    """After a full sign-in: this device now knows the account (kept with the few
    others it knew), which spares it the account's failed-login count."""
    ttl_s = settings.login_known_device_days * 86400
    value = known_devices.remember(
        settings.secret_key, request.cookies.get(DEVICE_COOKIE), email, ttl_s
    )
    return Cookie(
        key=DEVICE_COOKIE, value=value, max_age=ttl_s, httponly=True,
        secure=settings.secure_cookies, samesite="lax", path="/",
    )  # fmt: skip


# Handler parameters name their dependency explicitly (Litestar 3 drops inference).
Tx = NamedDependency[AsyncConnection]
CurrentViewer = NamedDependency[Viewer]
SessionViewer = NamedDependency[Viewer]
SettingsDep = NamedDependency[Settings]
LimiterDep = NamedDependency[LoginLimiter]
ActionLimitsDep = NamedDependency[ActionLimits]
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
        viewer = None
    if viewer is None and token and request.route_handler.opt.get(ANONYMOUS_SEARCH):
        # A made-up token must not slip past the limit that anonymous_search_limit
        # applies to requests without any.
        await provide_action_limits(request.app.state).anonymous_search(client_ip(request))
    return viewer


def provide_geocoder(state: State) -> Geocoder:
    geocoder: Geocoder = state.geocoder
    return geocoder


# Operations limited per account (accounts/ratelimit.py), by operation_id: each call
# is counted before the handler runs, refused or not, so that walking ids is limited
# like filing reports.
LIMITED_PER_ACCOUNT: dict[str, Literal["report", "block", "message"]] = {
    "createReport": "report",
    "blockPerson": "block",
    "sendMessage": "message",
}


async def provide_viewer(
    request: Request[Any, Any, Any], state: State, session_viewer: SessionViewer
) -> Viewer:
    """A fully authenticated viewer: staff must have proven their TOTP second factor."""
    if session_viewer.is_staff and not session_viewer.second_factor:
        raise Forbidden("staff accounts need their second factor (TOTP) first")
    operation = request.route_handler.operation_id
    action = LIMITED_PER_ACCOUNT.get(operation) if isinstance(operation, str) else None
    if action is not None:
        await provide_action_limits(state).by_account(action, session_viewer.id)
    return session_viewer


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_login_limiter(state: State) -> LoginLimiter:
    settings: Settings = state.settings
    return LoginLimiter(
        state.redis, settings.secret_key, settings.login_max_attempts, settings.login_window_s,
        ip_max_attempts=settings.login_ip_max_attempts,
    )  # fmt: skip


def sparing_known_device(limiter: LoginLimiter, request: Request[Any, Any, Any]) -> LoginLimiter:
    """For a password sent without a second-factor code only (the login handlers): the
    limiter spares a known device the account's count (accounts/known_devices.py).
    Codes are always counted per account, whatever the device."""
    limiter.device = request.cookies.get(DEVICE_COOKIE)
    return limiter


def provide_action_limits(state: State) -> ActionLimits:
    settings: Settings = state.settings
    return ActionLimits.from_settings(state.redis, settings)


def provide_quotas(state: State) -> Quotas:
    settings: Settings = state.settings
    return Quotas.from_settings(state.redis, settings)


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address: the peer's, unless the peer is a proxy the settings trust
    (``trusted_proxies``); then the right-most address of X-Forwarded-For that is not a
    trusted proxy (the left part of the header is whatever the client wrote)."""
    peer = connection.client.host if connection.client else "unknown"
    settings: Settings = connection.app.state.settings
    trusted = settings.trusted_proxy_networks
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for header in connection.headers.getall("x-forwarded-for", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop
    # Only proxies: the farthest one is the client as far as we can know.
    return hops[0] if hops else peer


def is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # A dual-stack listener sees an IPv4 proxy as ::ffff:a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted)


# Marks a handler whose anonymous callers are limited per client IP (the public
# listing's search): ``opt={ANONYMOUS_SEARCH: True}`` with ``guards=[anonymous_search_limit]``.
ANONYMOUS_SEARCH = "anonymous_search"


async def anonymous_search_limit(connection: ASGIConnection[Any, Any, Any, Any], _: Any) -> None:
    """A guard: a request that carries no session is counted against its client IP
    before any database connection is taken, so a flood is turned away cheaply. One
    that carries a token is counted once the token proves to be nobody's
    (``provide_optional_viewer``)."""
    assert isinstance(connection, Request)  # guards of HTTP routes get the request
    if token_of(connection) is None:
        await provide_action_limits(connection.app.state).anonymous_search(client_ip(connection))


DEPENDENCIES = {
    "tx": Provide(provide_tx),
    "session_viewer": Provide(provide_session_viewer),
    "viewer": Provide(provide_viewer),
    "optional_viewer": Provide(provide_optional_viewer),
    "geocoder": Provide(provide_geocoder, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "limiter": Provide(provide_login_limiter, sync_to_thread=False),
    "action_limits": Provide(provide_action_limits, sync_to_thread=False),
    "quotas": Provide(provide_quotas, sync_to_thread=False),
}
