"""Notifications API: inbox (with live Server-Sent Events), preferences, dead letters."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import msgspec
from litestar import Router, get, post, put
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import ServerSentEvent

from voisins.api.deps import CurrentViewer, SettingsDep, Tx
from voisins.api.params import PageQuery, PerPageQuery
from voisins.notify import inbox as service
from voisins.notify import webhooks
from voisins.notify.inbox import DeadLetter, DeadLetters, Inbox, PreferencesIn, PreferencesOut
from voisins.notify.live import inbox_channel
from voisins.notify.webhooks import Webhook, WebhookIn


@get("/me/notifications", operation_id="listNotifications", summary="My inbox, newest first")
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
    async def stream() -> AsyncGenerator[str, None]:
        async with channels.start_subscription([inbox_channel(viewer.id)]) as subscriber:
            yield "ready"
            async for message in subscriber.iter_events():
                yield message.decode() if isinstance(message, bytes) else str(message)

    return ServerSentEvent(stream(), event_type="inbox")


@get(
    "/me/notification-preferences",
    operation_id="getNotificationPreferences",
    summary="My channels, quiet hours, digest and daily cap",
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
    data: JSONBody[WebhookIn], tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int]
) -> Webhook:
    return await webhooks.add_webhook(tx, viewer, centre_id, data)


@get(
    "/centres/{centre_id:int}/webhooks",
    operation_id="listWebhooks",
    summary="A centre's partner webhooks (admins; secrets are never shown)",
)
async def list_webhooks(tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int]) -> list[Webhook]:
    return await webhooks.list_webhooks(tx, viewer, centre_id)


@post(
    "/centres/{centre_id:int}/webhooks/{webhook_id:int}/disable",
    operation_id="disableWebhook",
    summary="Stop a partner webhook (admins)",
    status_code=200,
)
async def disable_webhook(
    tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int], webhook_id: FromPath[int]
) -> Webhook:
    return await webhooks.disable_webhook(tx, viewer, centre_id, webhook_id)


class Unsubscribed(msgspec.Struct):
    status: str
    message: str


@post(
    "/unsubscribe/{token:str}",
    operation_id="unsubscribe",
    summary="One-click unsubscribe from e-mail (the link in every notification mail)",
    status_code=200,
)
async def unsubscribe(tx: Tx, settings: SettingsDep, token: FromPath[str]) -> Unsubscribed:
    await service.unsubscribe(tx, settings.secret_key, token)
    return Unsubscribed(
        "unsubscribed",
        "Vous ne recevrez plus d'e-mails de voisins. Les messages restent dans votre espace.",
    )


@get(
    "/unsubscribe/{token:str}",
    operation_id="unsubscribePage",
    summary="Unsubscribe from e-mail by following the link",
)
async def unsubscribe_page(tx: Tx, settings: SettingsDep, token: FromPath[str]) -> Unsubscribed:
    await service.unsubscribe(tx, settings.secret_key, token)
    return Unsubscribed(
        "unsubscribed",
        "Vous ne recevrez plus d'e-mails de voisins. Les messages restent dans votre espace.",
    )


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
