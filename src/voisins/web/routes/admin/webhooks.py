"""A centre's partner webhooks: the list with the recent deliveries, a new one (its
secret shown once), disabling one."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Template

from voisins.api.deps import SettingsDep, Tx
from voisins.centres import service as centres
from voisins.errors import Invalid
from voisins.notify import webhook_endpoints
from voisins.notify.safe_urls import AddressPolicy
from voisins.notify.webhook_endpoints import WebhookIn
from voisins.web.forms import N_, FormError, convert, explained, form_text
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.admin.common import FIELD_MESSAGES, done, render
from voisins.web.signed_in import Person, SignedIn

DELIVERY_STATUSES = {
    "pending": N_("En attente"),
    "sending": N_("En cours d'envoi"),
    "sent": N_("Reçu par le partenaire"),
    "dead": N_("Échec définitif"),
    "cancelled": N_("Annulé"),
    "digest": N_("En attente"),
}

WEBHOOK_TOPICS = {
    "post.review_needed": N_("Annonce à relire"),
    "match.review_needed": N_("Mise en relation à valider"),
    "match.confirmed": N_("Mise en relation confirmée"),
    "match.cancelled": N_("Mise en relation annulée"),
    "post.no_response": N_("Demande restée sans réponse"),
    "report.filed": N_("Signalement reçu"),
}


async def _webhooks_page(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, centre_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    created: webhook_endpoints.Webhook | None = None, secret: str | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    me, viewer = admin
    centre = await centres.get_centre(tx, centre_id)
    return render(
        request, "admin/webhooks.html", me, status_code=status_code, centre=centre,
        hooks=await webhook_endpoints.list_webhooks(tx, viewer, centre_id),
        deliveries=await webhook_endpoints.recent_deliveries(tx, viewer, centre_id),
        topics=WEBHOOK_TOPICS, delivery_statuses=DELIVERY_STATUSES, errors=errors or {},
        values=values or {"url": "", "topics": []}, created=created, secret=secret,
    )  # fmt: skip


@get("/centres/{centre_id:int}/webhooks", name="admin_webhooks",
     operation_id="pageAdminWebhooks", include_in_schema=False)  # fmt: skip
async def webhooks_page(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    return await _webhooks_page(request, tx, admin, centre_id)


@post("/centres/{centre_id:int}/webhooks", name="admin_webhook_add",
      operation_id="pageAdminWebhookAdd", include_in_schema=False)  # fmt: skip
async def webhook_add(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    settings: SettingsDep, centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """The secret is made here and shown on this answer only: the list never shows it."""
    viewer = admin.viewer
    await centres.get_centre(tx, centre_id)
    form = await request.form()
    values = {"url": form_text(form, "url"), "topics": form.getall("topics", [])}
    secret = webhook_endpoints.new_secret()
    try:
        if any(t not in WEBHOOK_TOPICS for t in values["topics"]):
            raise FormError({"topics": FIELD_MESSAGES["topics"]})
        data = convert({"url": values["url"], "secret": secret, "topics": values["topics"]},
                       WebhookIn)  # fmt: skip
        async with tx.begin_nested():
            created = await webhook_endpoints.add_webhook(
                tx, viewer, centre_id, data, policy=AddressPolicy.from_settings(settings)
            )
    except (FormError, Invalid) as exc:
        # The address check says why in its own words (notify/safe_urls.py).
        errors = (
            dict(exc.fields) if isinstance(exc, Invalid) else explained(exc.fields, FIELD_MESSAGES)
        )
        return await _webhooks_page(
            request, tx, admin, centre_id, errors=errors, values=values, status_code=422,
        )  # fmt: skip
    return await _webhooks_page(
        request, tx, admin, centre_id, created=created, secret=secret, status_code=201
    )


@post("/centres/{centre_id:int}/webhooks/{webhook_id:int}/desactiver",
      name="admin_webhook_disable", operation_id="pageAdminWebhookDisable",
      include_in_schema=False)  # fmt: skip
async def webhook_disable(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int], webhook_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
    await webhook_endpoints.disable_webhook(tx, viewer, centre_id, webhook_id)
    return done(f"/admin/centres/{centre_id}/webhooks", "webhook-desactive")


ROUTES: list[Any] = [
    Router(
        path="/admin",
        route_handlers=[webhooks_page, webhook_add, webhook_disable],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
