"""The page of a mail's unsubscribe link, and its one-click POST (RFC 8058).

It sits with the pages because a browser gets a page; a mail client's POST, which asks
for no HTML, keeps the JSON answer the API's error shape also uses. The routes are
registered at the application's root (app.py), outside the page router: the link is
{public_base_url}/unsubscribe/{token}, authenticated by its signed token alone, and the
page is the same for anyone (no header of a signed-in person).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ExceptionHandlersMap

from voisins.api.deps import SettingsDep, Tx
from voisins.api.errors import domain_error_handler
from voisins.errors import NotFound
from voisins.notify import inbox as service
from voisins.web.pages import page


class Unsubscribed(msgspec.Struct):
    status: str
    message: str


UNSUBSCRIBE_PAGE = "unsubscribe.html"


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser (the page's button) gets a page; a mail client's one-click POST, which
    asks for no HTML, keeps the JSON answer."""
    return request.accept.best_match(["application/json", "text/html"]) == "text/html"


# The link authenticates by its signed token alone: the page is the same for anyone
# (no header of a signed-in person), as the other public operations are.
def _link_not_valid(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A forged, mistyped or outdated link: a page saying so to people, JSON to machines."""
    if request.method == "GET" or _wants_page(request):
        return page(request, UNSUBSCRIBE_PAGE, None, status_code=404, state="invalid")
    return domain_error_handler(request, exc)


LINK_ERRORS: ExceptionHandlersMap = {NotFound: _link_not_valid}


@post(
    "/unsubscribe/{token:str}",
    operation_id="unsubscribe",
    summary="Unsubscribe from e-mail: the page's button, or a mail client's one-click POST",
    description="RFC 8058: mail clients POST `List-Unsubscribe=One-Click` and get JSON; "
    "a browser (Accept: text/html) gets the confirmation page.",
    status_code=200,
    exception_handlers=LINK_ERRORS,
    # Mail providers POST it without any cookie; the signed token authenticates it.
    opt={"exclude_from_csrf": True},
)
async def unsubscribe(
    request: Request[Any, Any, Any],
    tx: Tx,
    settings: SettingsDep,
    token: FromPath[str],
) -> Response[Any]:
    await service.unsubscribe(tx, settings.secret_key, token)
    if _wants_page(request):
        return page(request, UNSUBSCRIBE_PAGE, None, state="done")
    return Response(
        Unsubscribed(
            "unsubscribed",
            "Vous ne recevrez plus d'e-mails de voisins. Les messages restent dans votre espace.",
        )
    )


@get(
    "/unsubscribe/{token:str}",
    name="unsubscribe_page",
    operation_id="unsubscribePage",
    summary="The page of a mail's unsubscribe link: one button; opening it changes nothing",
    exception_handlers=LINK_ERRORS,
)
async def unsubscribe_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    settings: SettingsDep,
    token: FromPath[str],
) -> Template:
    # Mail scanners open every link of a mail: only the page's POST unsubscribes.
    stopped = await service.email_stopped_by_link(tx, settings.secret_key, token)
    return page(request, UNSUBSCRIBE_PAGE, None, state="stopped" if stopped else "confirm")


# The link in the mails is {public_base_url}/unsubscribe/{token}: outside /api/v1.
ROUTES = [unsubscribe, unsubscribe_page]
