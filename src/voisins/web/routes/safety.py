"""«Signaler» and «Bloquer» in the pages (issue 15): report a post, a proposition, a
match or a message with a short form, block the person behind a match or a post, and
my list of blocks (lift one).

The forms call the services the API calls (moderation/safeguarding.py), counted by the
same per-account limits (a refused try counts too: walking ids through the form is
limited like filing reports). The form's page (GET) only shows the form: whether a
match or a message is the viewer's is told when the form is sent, so a link followed
changes nothing and answers the same for everyone. Nothing shown after a report names
the reporter; nothing shown after a block says whether the person was blocked already
(that would group an author's posts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts.access import Viewer
from voisins.api.deps import Tx, provide_action_limits
from voisins.errors import BadRequest, Invalid, NotFound
from voisins.moderation import safeguarding
from voisins.moderation.safeguarding import BlockIn, ReportIn
from voisins.posts import reads as post_reads
from voisins.posts.schemas import PostPrivate
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, form_values
from voisins.web.pages import Me, page, safe_next
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.signed_in import Person, SignedIn
from voisins.web.url_state import notice, row_id

# The reasons, in plain words (safeguarding.ReportReason), in the order shown.
REASONS = {
    "inappropriate": N_("Des propos ou un contenu déplacés"),
    "unsafe": N_("Je ne me sens pas en sécurité, ou quelqu'un est en danger"),
    "fraud": N_("Une arnaque, une demande d'argent"),
    "no_show": N_("La personne n'est pas venue"),
    "other": N_("Autre chose"),
}
COMMENT_MAX = 1000
FIELD_MESSAGES = {
    "reason": N_("Choisissez une raison."),
    "comment": N_("Le commentaire fait 1 000 caractères au plus."),
}
NOTICES = {"debloque": N_("Le blocage est levé.")}


@dataclass(frozen=True)
class Target:
    """What a form is about, as named in its address (``?annonce=12``)."""

    param: str
    id: int

    @property
    def field(self) -> str:
        """The service's input field."""
        return {"annonce": "post_id", "message": "message_id"}.get(self.param, "match_id")

    @property
    def query(self) -> str:
        return f"{self.param}={self.id}"


Kind = Literal["report", "block"]
# What each form's address may name (a message is reported; one blocks through its
# conversation's match), where it goes once done, and what each target is called.
ALLOWED: dict[Kind, tuple[str, ...]] = {
    "report": ("annonce", "proposition", "mise_en_relation", "message"),
    "block": ("annonce", "proposition", "mise_en_relation"),
}
DONE: dict[Kind, str] = {"report": "/signaler/merci", "block": "/bloquer/fait"}
ABOUT = {
    "annonce": N_("Cette annonce"),
    "proposition": N_("Cette proposition"),
    "mise_en_relation": N_("Cette mise en relation"),
    "message": N_("Ce message"),
}
# When the service says the target is not the viewer's (404): said plainly.
NOT_YOURS = {
    "annonce": N_("Cette annonce n'existe pas, ou n'est plus en ligne."),
    "proposition": N_("Cette proposition n'est pas la vôtre, ou n'existe plus."),
    "mise_en_relation": N_("Cette mise en relation n'est pas la vôtre, ou n'existe plus."),
    "message": N_("Ce message n'existe pas, ou ne vous a pas été écrit."),
}
# When it is the viewer's own (the service's Invalid on the target's field).
YOUR_OWN: dict[Kind, str] = {
    "report": N_("C'est votre propre annonce : vous ne pouvez pas la signaler."),
    "block": N_("C'est votre propre annonce : vous ne pouvez pas vous bloquer vous-même."),
}


def _target(request: Request[Any, Any, Any], allowed: tuple[str, ...]) -> Target:
    """Exactly one of ``allowed`` in the address, naming a row id; else the 400 page."""
    given = [(name, request.query_params.get(name)) for name in allowed]
    present = [(name, value) for name, value in given if value is not None]
    if len(present) != 1:
        raise BadRequest("name exactly one thing to report or block")
    name, value = present[0]
    number = row_id(value)
    if number is None:
        raise BadRequest("not an id")
    return Target(name, number)


async def _not_my_own_post(tx: Tx, viewer: Viewer, target: Target) -> bool:
    """Whether an ``annonce`` target is a post the viewer may read and did not write
    (its public page tells as much); other targets are checked when the form is sent."""
    if target.param != "annonce":
        return True
    shown = await post_reads.get_post(tx, viewer, target.id)  # NotFound: the 404 page
    return not (isinstance(shown, PostPrivate) and shown.is_mine)


def _back(request: Request[Any, Any, Any], target: Target) -> str:
    """Where «Annuler» goes: the page the link was on (this site's only), else the
    post's page or home."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        back = referer.path + (f"?{referer.query}" if referer.query else "")
        if not back.startswith(("/signaler", "/bloquer")):
            return safe_next(back)
    return f"/annonces/{target.id}" if target.param == "annonce" else "/"


def _refused(
    request: Request[Any, Any, Any], me: Me, message: str, status_code: int, kind: Kind
) -> Template:
    return page(
        request, "safety/refused.html", me, status_code=status_code, message=message, kind=kind
    )


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def _report_form(
    request: Request[Any, Any, Any],
    me: Me,
    target: Target,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        request, "safety/report.html", me, status_code=status_code, target=target,
        about=ABOUT[target.param], reasons=REASONS, values=values or {}, errors=errors or {},
        comment_max=COMMENT_MAX, back=_back(request, target),
    )  # fmt: skip


def _report_input(values: dict[str, Any], target: Target) -> ReportIn:
    errors: dict[str, str] = {}
    reason = values.get("reason")
    if not isinstance(reason, str) or reason not in REASONS:
        errors["reason"] = FIELD_MESSAGES["reason"]
    comment = values.get("comment")
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > COMMENT_MAX:
        errors["comment"] = FIELD_MESSAGES["comment"]
    if errors:
        raise FormError(errors)
    return msgspec.convert(
        {"reason": reason, "comment": comment or None, target.field: target.id}, ReportIn
    )


async def _opened(
    request: Request[Any, Any, Any], tx: Tx, person: SignedIn, kind: Kind, *,
    sent: bool = False,
) -> tuple[Me, Viewer, Target, Template | None]:  # fmt: skip
    """Who asks, about what, and the refusal page when it is their own post. A form
    sent is counted before anything is checked, refused or not (as the API's
    createReport and blockPerson)."""
    me, viewer = person
    target = _target(request, ALLOWED[kind])
    if sent:
        await provide_action_limits(request.app.state).by_account(kind, viewer.id)
    refusal = None
    if not await _not_my_own_post(tx, viewer, target):
        refusal = _refused(request, me, YOUR_OWN[kind], 422, kind)
    return me, viewer, target, refusal


async def _carried_out(
    request: Request[Any, Any, Any], tx: Tx, me: Me, target: Target, kind: Kind,
    action: Callable[[], Awaitable[object]],
) -> Response[Any]:  # fmt: skip
    """The service's refusals as pages that say why; done: the confirmation page."""
    try:
        async with tx.begin_nested():
            await action()
    except NotFound:
        return _refused(request, me, NOT_YOURS[target.param], 404, kind)
    except Invalid:
        # The only rule left once the form is whole: one's own post.
        return _refused(request, me, YOUR_OWN[kind], 422, kind)
    return Redirect(DONE[kind], status_code=303)


@get("/signaler", name="report_page", operation_id="pageReport", include_in_schema=False)
async def report_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    """The short form: a reason, a comment if wished."""
    me, _viewer, target, refusal = await _opened(request, tx, person, "report")
    return refusal or _report_form(request, me, target)


@post("/signaler", name="report_send", operation_id="pageReportSend", include_in_schema=False)
async def report_send(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, viewer, target, refusal = await _opened(request, tx, person, "report", sent=True)
    if refusal is not None:
        return refusal
    values = await form_values(request)
    try:
        data = _report_input(values, target)
    except FormError as exc:
        return _report_form(request, me, target, values=values, errors=exc.fields, status_code=422)
    return await _carried_out(
        request, tx, me, target, "report", lambda: safeguarding.file_report(tx, viewer, data)
    )


@get("/signaler/merci", name="report_received", operation_id="pageReportReceived",
     include_in_schema=False)  # fmt: skip
async def report_received(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    """The same page for every report: it names nobody."""
    me, _viewer = person
    return page(request, "safety/reported.html", me)


# ---------------------------------------------------------------------------------------
# Block
# ---------------------------------------------------------------------------------------


@get("/bloquer", name="block_page", operation_id="pageBlock", include_in_schema=False)
async def block_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    """What blocking does, and the button that does it."""
    me, _viewer, target, refusal = await _opened(request, tx, person, "block")
    return refusal or page(
        request, "safety/block.html", me, target=target, about=ABOUT[target.param],
        back=_back(request, target),
    )  # fmt: skip


@post("/bloquer", name="block_send", operation_id="pageBlockSend", include_in_schema=False)
async def block_send(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, viewer, target, refusal = await _opened(request, tx, person, "block", sent=True)
    if refusal is not None:
        return refusal
    data = BlockIn(**{target.field: target.id})
    return await _carried_out(
        request, tx, me, target, "block", lambda: safeguarding.block(tx, viewer, data)
    )


@get("/bloquer/fait", name="block_done", operation_id="pageBlockDone", include_in_schema=False)
async def block_done(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    """The same page whether the person was blocked just now or already was."""
    me, _viewer = person
    return page(request, "safety/blocked.html", me)


@get("/mon-compte/blocages", name="my_blocks", operation_id="pageMyBlocks",
     include_in_schema=False)  # fmt: skip
async def my_blocks(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    me, viewer = person
    blocks = await safeguarding.list_blocks(tx, viewer)
    return page(
        request, "safety/blocks.html", me, blocks=blocks, fmt=formats_for(request, me),
        notice=notice(request, NOTICES),
    )  # fmt: skip


@post("/mon-compte/blocages/{block_id:int}/lever", name="unblock", operation_id="pageUnblock",
      include_in_schema=False)  # fmt: skip
async def unblock(
    request: Request[Any, Any, Any],
    tx: Tx,
    person: Person,
    block_id: FromPath[int],
) -> Response[Any]:
    _me, viewer = person
    await safeguarding.unblock(tx, viewer, block_id)  # NotFound: the 404 page
    return Redirect("/mon-compte/blocages?fait=debloque", status_code=303)


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            report_page, report_send, report_received, block_page, block_send, block_done,
            my_blocks, unblock,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
