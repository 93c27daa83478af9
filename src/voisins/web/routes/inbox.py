"""My messages (the in-app inbox), for every signed-in person: unread first, mark one
or all read. The list refreshes itself: app.js triggers ``refresh`` on ``#inbox-list``
when the Server-Sent Events stream says a message arrived, and htmx fetches the
fragment. Marking read works as plain forms without JavaScript; with htmx, the answer
is the list alone."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.notify import inbox as service
from voisins.web.formats import formats_for
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, is_htmx
from voisins.web.signed_in import Person
from voisins.web.url_state import page_number
from voisins.web.wording import link_label, page_link

PER_PAGE = 20
LIST_FRAGMENT = "resident/_inbox_list.html"


async def _render(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, template: str, number: int
) -> Template:
    box = await service.inbox(tx, viewer, number, PER_PAGE, unread_first=True)
    return page(request, template, me, box=box, page_number=number, page_link=page_link,
                link_label=link_label, fmt=formats_for(request, me))  # fmt: skip


@get("/messages", name="inbox", operation_id="pageInbox", include_in_schema=False)
async def inbox_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    me, viewer = person
    return await _render(request, tx, viewer, me, "resident/inbox.html", page_number(request))


@get("/messages/liste", name="inbox_list", operation_id="pageInboxList", include_in_schema=False)
async def inbox_list(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    """The list alone (its first page), for htmx."""
    me, viewer = person
    return await _render(request, tx, viewer, me, LIST_FRAGMENT, 1)


async def _after_marking(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me
) -> Response[Any]:
    if is_htmx(request):
        return await _render(request, tx, viewer, me, LIST_FRAGMENT, 1)
    return Redirect("/messages", status_code=303)


@post("/messages/{notification_id:int}/lu", name="inbox_read", operation_id="pageMarkRead",
      include_in_schema=False)  # fmt: skip
async def mark_read(
    request: Request[Any, Any, Any],
    tx: Tx,
    person: Person,
    notification_id: FromPath[int],
) -> Response[Any]:
    me, viewer = person
    await service.mark_read(tx, viewer, notification_id)  # NotFound: the 404 page
    return await _after_marking(request, tx, viewer, me)


@post("/messages/tout-lu", name="inbox_read_all", operation_id="pageMarkAllRead",
      include_in_schema=False)  # fmt: skip
async def mark_all_read(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, viewer = person
    await service.mark_read(tx, viewer, None)
    return await _after_marking(request, tx, viewer, me)


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[inbox_page, inbox_list, mark_read, mark_all_read],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
