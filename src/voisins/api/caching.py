"""No browser or proxy keeps an API answer: ``Cache-Control: no-store`` on every one.

The rule is the API as a whole rather than a list of personal endpoints: most answers
depend on who asks (an account, its posts, its inbox, the residents a social worker
assists, even public listings mark the viewer's own posts), logging in returns a token,
and a list kept by hand misses the next endpoint. An endpoint that one day wants to be
cached says so with its own Cache-Control, which is left as it is. Pages already carry
no-store (``voisins.web.security``)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/"


def no_store_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await app(scope, receive, send)
            return

        async def send_not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                    # For HTTP/1.0 caches, which know only this one.
                    headers["Pragma"] = "no-cache"
            await send(message)

        await app(scope, receive, send_not_stored)

    return middleware
