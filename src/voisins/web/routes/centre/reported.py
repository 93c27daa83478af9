"""The conversation a report brings to the centre (issue 15): the social workers of the
centres the report reached read it from the report's card, every message with the
reported one marked. conversations.service.for_report decides who may (any other
centre: the 404 page) and audits each reading; nothing else of the centre's workspace
ever shows a conversation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.params import FromPath
from litestar.response import Template

from voisins.api.deps import OptionalViewer, Tx
from voisins.conversations import service as conversations
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.centre.common import _render, _worker


@get("/signalements/{report_id:int}/conversation", name="centre_reported_conversation",
     operation_id="pageCentreReportedConversation", include_in_schema=False)  # fmt: skip
async def reported_conversation(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    report_id: FromPath[int],
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    found = await conversations.for_report(tx, viewer, report_id)  # NotFound: the 404 page
    return _render(request, "safety/reported_conversation.html", me, conversation=found)


ROUTES: list[Any] = [
    Router(
        path="/centre",
        route_handlers=[reported_conversation],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
