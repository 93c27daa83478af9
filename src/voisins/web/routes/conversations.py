"""Conversation pages (issue 15): my conversations, and one conversation — its
messages, a form to write, the contacts each side chooses to share.

Every page works without JavaScript: writing and sharing are plain forms that come
back to the page. conversation.js adds the live part: it listens to the conversation's
Server-Sent Events (a read, so the session cookie is enough) and appends each new
message without a reload. Showing the page marks the messages shown as read; the
script posts nothing (writes on the API need a bearer token).

The pages call the service functions the API calls, so who may read and write is
decided in one place (conversations/service.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import Tx, provide_action_limits
from voisins.conversations import service
from voisins.conversations.schemas import (
    MESSAGE_MAX_CHARS,
    ContactShareIn,
    Conversation,
    Message,
    MessageIn,
)
from voisins.errors import Conflict, Invalid
from voisins.notify import live
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.signed_in import Person
from voisins.web.url_state import notice, page_number, row_id

PER_PAGE = 20
# The latest messages shown at once; older ones are a link away (?avant=<id>).
MESSAGES_SHOWN = 50
NOTICES = {
    "contacts": N_("C'est enregistré : l'autre personne voit ce que vous avez choisi de montrer."),
}
FORM_MESSAGES = {
    "text": N_("Écrivez votre message (2 000 caractères au plus)."),
    "phone": N_(
        "Votre compte n'a pas de numéro de téléphone. Ajoutez-le d'abord sur la page "
        "« Mon compte »."
    ),
}
CLOSED = {
    "ended": N_(
        "Cette conversation est fermée : l'aide s'est terminée il y a plus de 30 jours. "
        "Vous pouvez relire les messages, mais plus en écrire. Les coordonnées ne sont "
        "plus montrées."
    ),
    "blocked": N_(
        "Cette conversation est fermée : l'un de vous a bloqué l'autre. Personne ne peut "
        "plus y écrire, et les coordonnées ne sont plus montrées."
    ),
}


@get("/conversations", name="conversations", operation_id="pageConversations",
     include_in_schema=False)  # fmt: skip
async def conversations_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    me, viewer = person
    number = page_number(request)
    # One more than shown tells whether there is a next page.
    found = await service.my_conversations(
        tx, viewer, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE, now=clock.now()
    )
    return page(
        request, "conversations/list.html", me, items=found[:PER_PAGE],
        has_more=len(found) > PER_PAGE, page_number=number, fmt=formats_for(request, me),
    )  # fmt: skip


def _requester_name(conversation: Conversation, me: Me) -> str:
    """The name of the request's side, to sign what a social worker wrote for them."""
    if conversation.my_side == "volunteer":
        return conversation.other_name
    return conversation.acting_for or me.display_name


async def _conversation(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    match_id: int,
    *,
    errors: dict[str, str] | None = None,
    text_value: str = "",
    status_code: int = 200,
) -> Template:
    now = clock.now()
    try:
        conversation = await service.get_conversation(tx, viewer, match_id, now=now)
    except Conflict:
        # A side of a match not confirmed yet: the conversation opens later. (Anyone
        # else got the 404 page: participation says NotFound first.)
        return page(request, "conversations/not_yet.html", me, status_code=409)
    before = row_id(request.query_params.get("avant"))
    shown = await service.messages_of(
        tx, match_id, conversation.my_side, after=None, before=before, limit=MESSAGES_SHOWN + 1
    )
    older = len(shown) > MESSAGES_SHOWN
    messages: list[Message] = shown[1:] if older else shown
    latest = before is None
    if latest and conversation.unread:
        # Shown means read: the other side's notice stops repeating.
        await service.mark_read(tx, viewer, match_id, conversation.last_message_id, now=now)
    return page(
        request, "conversations/conversation.html", me, status_code=status_code,
        conversation=conversation, messages=messages, older=older, latest=latest,
        requester_name=_requester_name(conversation, me), closed=CLOSED,
        errors=errors or {}, text_value=text_value, max_chars=MESSAGE_MAX_CHARS,
        notice=notice(request, NOTICES), fmt=formats_for(request, me),
    )  # fmt: skip


@get("/conversations/{match_id:int}", name="conversation_page", operation_id="pageConversation",
     include_in_schema=False)  # fmt: skip
async def conversation_page(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Template:  # fmt: skip
    me, viewer = person
    return await _conversation(request, tx, viewer, me, match_id)


@post("/conversations/{match_id:int}/messages", name="conversation_send",
      operation_id="pageConversationSend", include_in_schema=False)  # fmt: skip
async def send(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = person
    # The same per-account limit as the API's sendMessage (a 429 page when reached).
    await provide_action_limits(request.app.state).by_account("message", viewer.id)
    values = await form_values(request)
    written = str(values.get("text") or "")
    try:
        data = convert({"text": written}, MessageIn)
        message = await service.send_message(tx, viewer, match_id, data, now=clock.now())
    except (FormError, Invalid):
        errors = {"text": FORM_MESSAGES["text"]}
        return await _conversation(
            request, tx, viewer, me, match_id, errors=errors, text_value=written,
            status_code=422,
        )  # fmt: skip
    except Conflict:
        # Closed meanwhile (blocked, or read-only): the page says why.
        return await _conversation(request, tx, viewer, me, match_id, status_code=409)
    return Redirect(
        f"/conversations/{match_id}#message-{message.id}",
        status_code=303,
        background=live.conversation_push(request.app.state.redis, match_id, "message", message.id),
    )


@post("/conversations/{match_id:int}/coordonnees", name="conversation_contacts",
      operation_id="pageConversationContacts", include_in_schema=False)  # fmt: skip
async def share(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = person
    values = await form_values(request)
    # An unticked box is not sent at all.
    data = ContactShareIn(phone="phone" in values, email="email" in values)
    try:
        await service.share_contacts(tx, viewer, match_id, data, now=clock.now())
    except Invalid:
        errors = {"phone": FORM_MESSAGES["phone"]}
        return await _conversation(request, tx, viewer, me, match_id, errors=errors,
                                   status_code=422)  # fmt: skip
    except Conflict:
        return await _conversation(request, tx, viewer, me, match_id, status_code=409)
    return Redirect(
        f"/conversations/{match_id}?fait=contacts#coordonnees",
        status_code=303,
        background=live.conversation_push(request.app.state.redis, match_id, "contacts", 0),
    )


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[conversations_page, conversation_page, send, share],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
