"""The follow-up list of the centre's workspace (aller-vers): the people the centre
should reach out to (moderation/followups.py says who and why), and the contact a
social worker records on each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.clock import PARIS
from voisins.errors import Invalid
from voisins.moderation import followups
from voisins.moderation.followups import ContactIn, Followup
from voisins.web.forms import FormError, convert, domain_fields, explained, form_text
from voisins.web.pages import Me
from voisins.web.problems import is_htmx
from voisins.web.routes.centre.common import (
    ALREADY_DONE,
    FIELD_MESSAGES,
    PER_PAGE,
    decide_first,
    first_of,
    open_or_all_list,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import list_page
from voisins.web.wording import FOLLOWUP_REASONS


async def _followups(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    return await open_or_all_list(
        request, tx, viewer, me, "centre/followups.html", followups.list_followups,
        status_code=status_code, errors=errors or {}, values=values or {},
        reasons=FOLLOWUP_REASONS,
    )  # fmt: skip


@get("/suivi", name="centre_followups", operation_id="pageCentreFollowups", include_in_schema=False)
async def followups_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
    return await _followups(request, tx, viewer, me)


def _contacted_at(value: str) -> str | None:
    """``<input type="datetime-local">`` is Paris time without an offset."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=PARIS).isoformat()
    except ValueError:
        raise FormError({"contacted_at": FIELD_MESSAGES["contacted_at"]}) from None


@post(
    "/suivi/{followup_id:int}/contact",
    name="centre_followup_contact",
    operation_id="pageCentreFollowupContact",
    include_in_schema=False,
)
async def followup_contact(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, followup_id: FromPath[int]
) -> Response[Any]:
    me, viewer = worker
    form = await request.form()
    values = {
        "outcome": form_text(form, "outcome"),
        "contacted_at": form_text(form, "contacted_at"),
    }
    try:
        data = convert(
            {"outcome": values["outcome"], "contacted_at": _contacted_at(values["contacted_at"])},
            ContactIn,
        )
        done: Followup | None = await decide_first(
            lambda: followups.record_contact(tx, viewer, followup_id, data, now=clock.now()),
            request,
            tx,
        )
    except FormError as exc:
        errors = explained(exc.fields, FIELD_MESSAGES)
    except Invalid as exc:
        errors = explained(domain_fields(exc), FIELD_MESSAGES)
    else:
        if not is_htmx(request):
            return Redirect("/centre/suivi?fait=contact", status_code=303)
        return workspace_page(
            request, "centre/_followup.html", me, item=done, reasons=FOLLOWUP_REASONS,
            item_errors={}, item_values={}, message=None if done else ALREADY_DONE, alone=True,
        )  # fmt: skip
    if is_htmx(request):
        listed = await followups.list_followups(
            tx, viewer, open_only=True, page=list_page(form.get("page")), per_page=PER_PAGE
        )
        item = first_of(listed.items, lambda f: f.id == followup_id)
        if item is not None:
            return workspace_page(
                request, "centre/_followup.html", me, item=item, reasons=FOLLOWUP_REASONS,
                item_errors=errors, item_values=values,
            )  # fmt: skip
    return await _followups(
        request, tx, viewer, me, errors={followup_id: errors}, values={followup_id: values},
        status_code=422,
    )  # fmt: skip


ROUTES = [workspace_router(followups_page, followup_contact)]
