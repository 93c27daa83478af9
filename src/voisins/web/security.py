"""Headers every page carries: a strict Content-Security-Policy (scripts and styles
from this server only; map tiles from the configured host), no caching of pages that
show personal data, no framing, no MIME sniffing, no referrer leaving the site."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from voisins.settings import Settings


def content_security_policy(settings: Settings) -> str:
    tiles = urlsplit(settings.map_tile_url.replace("{s}", "a"))
    tile_origin = f"{tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    if "{s}" in settings.map_tile_url:
        tile_origin = f"{tiles.scheme}://*.{tiles.netloc.split('.', 1)[-1]}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {tile_origin}".strip(),
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers_middleware(settings: Settings) -> type:
    policy = content_security_policy(settings)

    class PageHeaders:
        """Adds the headers to every HTML answer; pages seen by a signed-in person
        (the session cookie) are never stored by browsers or proxies."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableScopeHeaders.from_message(message)
                    if headers.get("content-type", "").startswith("text/html"):
                        headers["Content-Security-Policy"] = policy
                        headers["X-Frame-Options"] = "DENY"
                        headers["Cache-Control"] = "no-store"
                    headers.setdefault("X-Content-Type-Options", "nosniff")
                    headers.setdefault("Referrer-Policy", "same-origin")
                await send(message)

            await self.app(scope, receive, send_with_headers)

    return PageHeaders
