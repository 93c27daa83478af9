"""Conversations API: the private conversation of each confirmed match, its live
events, the contacts each side chooses to share; and, for the covering centre, the
conversation a report brings in."""

from __future__ import annotations

from collections import deque
from typing import Annotated, Any, cast

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from voisins import clock
from voisins.accounts import sessions
from voisins.api.deps import READS_ONLY, CurrentViewer, Tx
from voisins.api.params import PageQuery, PerPageQuery
from voisins.conversations import reported, service
from voisins.conversations.schemas import (
    ContactShareIn,
    Conversation,
    ConversationSummary,
    Message,
    MessageIn,
    ReadIn,
    ReportedConversation,
)
from voisins.errors import DomainError, Invalid
from voisins.notify import live

# The bounds stand on the optional type itself: on ``int`` inside ``| None`` Litestar
# documented them but did not check them (the OpenAPI fuzz sent after=-1, answered 200).
# Litestar also reads "?after=null" (or empty) as absent: ``_given`` refuses those.
MessageIdQuery = Annotated[
    int | None,
    QueryParameter(ge=0, le=2**63 - 1, description="A message id (exclusive bound)"),
]
LimitQuery = Annotated[
    int, QueryParameter(ge=1, le=200, description="Messages at most, from 1 to 200")
]

# How many sent ids a conversation stream remembers, to tell a late push from one it
# has read already (see conversation_events).
RECENT_IDS = 200


def _given(request: Request[Any, Any, Any], **bounds: int | None) -> None:
    """A message id bound that is in the query string is a number (not "null")."""
    for name, value in bounds.items():
        if value is None and name in request.query_params:
            raise Invalid.field(name, "a message id (a whole number), or leave it out")


class Unread(msgspec.Struct):
    unread: int


@get(
    "/me/conversations",
    operation_id="listConversations",
    summary="The conversations of my confirmed matches, latest message first",
    opt=READS_ONLY,
)
async def list_conversations(
    tx: Tx, viewer: CurrentViewer, page: PageQuery = 1, per_page: PerPageQuery = 20
) -> list[ConversationSummary]:
    return await service.my_conversations(
        tx, viewer, limit=per_page, offset=(page - 1) * per_page, now=clock.now()
    )


@get(
    "/matches/{match_id:int}/conversation",
    operation_id="getConversation",
    summary="A match's conversation: its state, the other side, the contacts shared",
    opt=READS_ONLY,
)
async def get_conversation(tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]) -> Conversation:
    return await service.get_conversation(tx, viewer, match_id, now=clock.now())


@get(
    "/matches/{match_id:int}/messages",
    operation_id="listMessages",
    summary="Messages, oldest first: after a message, before one, or the latest",
    opt=READS_ONLY,
)
async def list_messages(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: CurrentViewer,
    match_id: FromPath[int],
    after: FromQuery[MessageIdQuery] = None,
    before: FromQuery[MessageIdQuery] = None,
    limit: LimitQuery = 50,
) -> list[Message]:
    _given(request, after=after, before=before)
    return await service.list_messages(
        tx, viewer, match_id, after=after, before=before, limit=limit, now=clock.now()
    )


@post(
    "/matches/{match_id:int}/messages",
    operation_id="sendMessage",
    summary="Write to the other side (the e-mail or SMS they get never carries the text)",
    status_code=201,
)
async def send_message(
    data: JSONBody[MessageIn], tx: Tx, viewer: CurrentViewer, state: State, match_id: FromPath[int]
) -> Response[Message]:
    message = await service.send_message(tx, viewer, match_id, data, now=clock.now())
    pushed = live.conversation_push(state.redis, match_id, "message", message.id)
    return Response(message, status_code=201, background=pushed)


@post(
    "/matches/{match_id:int}/conversation/read",
    operation_id="markConversationRead",
    summary="My side has read up to this message",
    status_code=200,
)
async def mark_read(
    data: JSONBody[ReadIn], tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]
) -> Unread:
    return Unread(await service.mark_read(tx, viewer, match_id, data.up_to, now=clock.now()))


@put(
    "/matches/{match_id:int}/contacts",
    operation_id="shareContacts",
    summary="Show or stop showing my phone number and e-mail to the other side",
)
async def share_contacts(
    data: JSONBody[ContactShareIn],
    tx: Tx,
    viewer: CurrentViewer,
    state: State,
    match_id: FromPath[int],
) -> Response[Conversation]:
    shown = await service.share_contacts(tx, viewer, match_id, data, now=clock.now())
    return Response(shown, background=live.conversation_push(state.redis, match_id, "contacts", 0))


def _last_event_id(request: Request[Any, Any, Any], after: int | None) -> int | None:
    """Where a stream starts: the browser's Last-Event-ID when it reconnects."""
    header = request.headers.get("last-event-id", "")
    if header.isdecimal() and len(header) <= 18:
        return int(header)
    return after


@get(
    "/matches/{match_id:int}/conversation/events",
    operation_id="conversationEvents",
    summary="Server-Sent Events: each new message (event 'message', id = its id) and "
    "each change of the shared contacts (event 'contacts')",
    opt=READS_ONLY,
)
async def conversation_events(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: CurrentViewer,
    state: State,
    channels: NamedDependency[ChannelsPlugin],
    match_id: FromPath[int],
    after: FromQuery[MessageIdQuery] = None,
) -> ServerSentEvent:
    _given(request, after=after)
    # The viewer's part is checked now; the stream then reads with connections of its
    # own (this one goes back to the pool when the handler returns).
    part = await service.participation(tx, viewer, match_id, now=clock.now())
    since = _last_event_id(request, after)
    engine = state.engine
    # The ids this stream sent lately. Ids are taken at INSERT and pushed after COMMIT:
    # when both sides write at once, a message can be committed after a later one that
    # this stream already read, and its push then names an id below ``since``. It is
    # sent then (once), instead of being skipped for good.
    recent: deque[int] = deque(maxlen=RECENT_IDS)

    async def forward(event: bytes | None) -> list[ServerSentEventMessage] | None:
        nonlocal since
        out: list[ServerSentEventMessage] = []
        late: int | None = None
        if event is None:
            out.append(ServerSentEventMessage(event="ready", data="ready"))
            if since is None:
                # No starting point: what comes from now on (not the whole history).
                async with engine.connect() as conn:
                    since = await service.last_message_id(conn, match_id)
                return out
        else:
            pushed = msgspec.json.decode(event)
            if pushed.get("type") == "contacts":
                return [ServerSentEventMessage(event="contacts", data="changed")]
            ref = pushed.get("id")
            if isinstance(ref, int) and since is not None and ref <= since:
                if ref in recent:
                    return []  # read already, with an earlier push
                late = ref
        async with engine.connect() as conn:
            # Statements that write nothing: no BEGIN and ROLLBACK around them (as
            # READS_ONLY handlers).
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            # The viewer's part and session are checked again at each event: a consent
            # withdrawn, a sign-out or a suspension since the stream opened ends it (the
            # browser's reconnection is then refused).
            if viewer.session_id is not None and not await sessions.is_live(
                conn, viewer.session_id
            ):
                return None
            try:
                await service.participation(conn, viewer, match_id, now=clock.now())
            except DomainError:
                return None
            if late is not None:
                messages = await service.messages_of(
                    conn, match_id, part.side, after=late - 1, before=None, limit=1
                )
                messages = [m for m in messages if m.id == late]
            else:
                messages = await service.messages_of(
                    conn, match_id, part.side, after=since or 0, before=None, limit=200
                )
        for message in messages:
            since = max(since or 0, message.id)
            recent.append(message.id)
            out.append(
                ServerSentEventMessage(
                    event="message", id=str(message.id), data=msgspec.json.encode(message).decode()
                )
            )
        return out

    stream = live.live_stream(
        cast(live.LiveChannels, channels), live.conversation_channel(match_id), forward
    )
    return ServerSentEvent(stream)


@get(
    "/moderation/reports/{report_id:int}/conversation",
    operation_id="reportedConversation",
    summary="The conversation a report names, for the centres it reached (audited)",
)
async def reported_conversation(
    tx: Tx, viewer: CurrentViewer, report_id: FromPath[int]
) -> ReportedConversation:
    return await reported.for_report(tx, viewer, report_id)


router = Router(
    path="/api/v1",
    route_handlers=[
        list_conversations,
        get_conversation,
        list_messages,
        send_message,
        mark_read,
        share_contacts,
        conversation_events,
        reported_conversation,
    ],
    tags=["conversations"],
)
