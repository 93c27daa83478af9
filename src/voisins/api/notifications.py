"""Notifications API: inbox (with live Server-Sent Events), preferences, dead letters."""

from __future__ import annotations

from typing import Any, cast

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import ServerSentEvent, Template
from litestar.types import ExceptionHandlersMap

from voisins.api.deps import READS_ONLY, CurrentViewer, SettingsDep, Tx
from voisins.api.errors import domain_error_handler
from voisins.api.params import PageQuery, PerPageQuery
from voisins.errors import NotFound
from voisins.notify import inbox as service
from voisins.notify import live, webhook_endpoints
from voisins.notify.inbox import DeadLetter, DeadLetters, Inbox, PreferencesIn, PreferencesOut
from voisins.notify.safe_urls import AddressPolicy
from voisins.notify.webhook_endpoints import Webhook, WebhookIn
from voisins.web.pages import page


@get(
    "/me/notifications",
    operation_id="listNotifications",
    summary="My inbox, newest first",
    opt=READS_ONLY,
)
async def list_notifications(
    tx: Tx, viewer: CurrentViewer, page: PageQuery = 1, per_page: PerPageQuery = 20
) -> Inbox:
    return await service.inbox(tx, viewer, page, per_page)


@post(
    "/me/notifications/{notification_id:int}/read",
    operation_id="markNotificationRead",
    summary="Mark a notification read",
    status_code=200,
)
async def mark_read(
    tx: Tx, viewer: CurrentViewer, notification_id: FromPath[int]
) -> dict[str, int]:
    return {"marked": await service.mark_read(tx, viewer, notification_id)}


@post(
    "/me/notifications/read",
    operation_id="markAllNotificationsRead",
    summary="Mark every notification read",
    status_code=200,
)
async def mark_all_read(tx: Tx, viewer: CurrentViewer) -> dict[str, int]:
    return {"marked": await service.mark_read(tx, viewer, None)}


@get(
    "/me/events",
    operation_id="inboxEvents",
    summary="Server-Sent Events: a message each time something reaches my inbox",
)
async def inbox_events(
    viewer: CurrentViewer, channels: NamedDependency[ChannelsPlugin]
) -> ServerSentEvent:
    return ServerSentEvent(live.inbox_stream(cast(live.LiveChannels, channels), viewer.id))


@get(
    "/me/notification-preferences",
    operation_id="getNotificationPreferences",
    summary="My channels, quiet hours, digest and daily cap",
    opt=READS_ONLY,
)
async def get_preferences(tx: Tx, viewer: CurrentViewer) -> PreferencesOut:
    return await service.get_preferences(tx, viewer)


@put(
    "/me/notification-preferences",
    operation_id="putNotificationPreferences",
    summary="Choose channels per kind of event, quiet hours, digest and daily cap",
)
async def put_preferences(
    data: JSONBody[PreferencesIn], tx: Tx, viewer: CurrentViewer
) -> PreferencesOut:
    return await service.put_preferences(tx, viewer, data)


@get(
    "/admin/dead-letters", operation_id="listDeadLetters", summary="Deliveries that failed for good"
)
async def list_dead_letters(
    tx: Tx, viewer: CurrentViewer, page: PageQuery = 1, per_page: PerPageQuery = 20
) -> DeadLetters:
    return await service.dead_letters(tx, viewer, page, per_page)


@post(
    "/admin/dead-letters/{delivery_id:int}/redrive",
    operation_id="redriveDeadLetter",
    summary="Send a dead letter again",
    status_code=200,
)
async def redrive(tx: Tx, viewer: CurrentViewer, delivery_id: FromPath[int]) -> DeadLetter:
    return await service.redrive(tx, viewer, delivery_id)


@post(
    "/centres/{centre_id:int}/webhooks",
    operation_id="addWebhook",
    summary="Send a partner association signed webhooks for a centre's events (admins)",
)
async def add_webhook(
    data: JSONBody[WebhookIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    centre_id: FromPath[int],
) -> Webhook:
    policy = AddressPolicy.from_settings(settings)
    return await webhook_endpoints.add_webhook(tx, viewer, centre_id, data, policy=policy)


@get(
    "/centres/{centre_id:int}/webhooks",
    operation_id="listWebhooks",
    summary="A centre's partner webhooks (admins; secrets are never shown)",
)
async def list_webhooks(tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int]) -> list[Webhook]:
    return await webhook_endpoints.list_webhooks(tx, viewer, centre_id)


@post(
    "/centres/{centre_id:int}/webhooks/{webhook_id:int}/disable",
    operation_id="disableWebhook",
    summary="Stop a partner webhook (admins)",
    status_code=200,
)
async def disable_webhook(
    tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int], webhook_id: FromPath[int]
) -> Webhook:
    return await webhook_endpoints.disable_webhook(tx, viewer, centre_id, webhook_id)


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
UNSUBSCRIBE_ROUTES = [unsubscribe, unsubscribe_page]


router = Router(
    path="/api/v1",
    route_handlers=[
        list_notifications,
        mark_read,
        mark_all_read,
        inbox_events,
        get_preferences,
        put_preferences,
        list_dead_letters,
        redrive,
        add_webhook,
        list_webhooks,
        disable_webhook,
    ],
    tags=["notifications"],
)
