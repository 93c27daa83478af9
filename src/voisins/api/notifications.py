"""Notifications API: inbox (with live Server-Sent Events), preferences, dead letters."""

from __future__ import annotations

from typing import cast

from litestar import Router, get, post, put
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import ServerSentEvent

from voisins.api.deps import READS_ONLY, CurrentViewer, SettingsDep, Tx
from voisins.api.params import PageQuery, PerPageQuery
from voisins.notify import inbox as service
from voisins.notify import live, webhook_endpoints
from voisins.notify.inbox import DeadLetter, DeadLetters, Inbox, PreferencesIn, PreferencesOut
from voisins.notify.safe_urls import AddressPolicy
from voisins.notify.webhook_endpoints import Webhook, WebhookIn


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
