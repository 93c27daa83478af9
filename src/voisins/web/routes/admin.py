"""The administrators' workspace (/admin): centres and their territories (a GeoJSON
file, checked by geo/territory.py, shown on a map), members and their roles,
partnerships, partner webhooks, staff accounts (create, deactivate, suspend, reset the
second factor), and the reports and follow-ups no centre covers.

Every page calls the services the API calls (centres.service, accounts.*,
moderation.*, notify.webhook_endpoints) — their rules and their audit trail — and is refused,
as an audited page, to anyone but an administrator. A form that does not pass comes
back with the field's message and nothing written (each change runs in a savepoint of
the request's transaction).
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts import second_factor, staffing, users
from voisins.accounts.access import Viewer, require_admin
from voisins.accounts.schemas import StaffUserIn
from voisins.api.deps import OptionalViewer, SettingsDep, Tx
from voisins.centres import service as centres
from voisins.centres.schemas import CentreIn, CentreOut, CentreUpdate, MemberIn, PartnerIn
from voisins.errors import DomainError, Invalid, NotFound
from voisins.moderation import followups, safeguarding
from voisins.moderation.followups import ContactIn
from voisins.moderation.safeguarding import ResolveIn, SuspendIn
from voisins.notify import webhook_endpoints
from voisins.notify.safe_urls import AddressPolicy
from voisins.notify.webhook_endpoints import WebhookIn
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, signed_in

PER_PAGE = 20
# A territory file may hold up to 20,000 positions (geo/territory.py), which pretty-printed
# GeoJSON easily writes in more than the site's usual 1 MB body.
TERRITORY_FORM_MAX_BYTES = 5_000_000
# Partnerships and the partner choice list every centre on one page.
ALL_CENTRES = 100

MODERATION_LEVELS = {
    "sensitive_only": N_("Relire les mises en relation sensibles (conseillé)"),
    "all_posts": N_("Relire chaque annonce avant sa publication"),
    "none": N_("Pas de relecture des annonces non sensibles (entre voisins)"),
}
MEMBER_ROLES = {
    "social_worker": N_("Travailleur social"),
    "centre_admin": N_("Responsable du centre"),
}
STAFF_ROLES = {"social_worker": N_("Travailleur social"), "admin": N_("Administrateur")}
STATUSES = {
    "active": N_("Actif"),
    "suspended": N_("Suspendu"),
    "deactivated": N_("Désactivé"),
}
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
REPORT_REASONS = {
    "inappropriate": N_("Contenu inapproprié"),
    "unsafe": N_("Danger pour quelqu'un"),
    "fraud": N_("Arnaque"),
    "no_show": N_("Absence au rendez-vous"),
    "other": N_("Autre raison"),
}
FOLLOWUP_REASONS = {
    "no_response": N_("Demande restée sans réponse"),
    "isolated": N_("Personne isolée, sans activité depuis longtemps"),
    "missed_checkin": N_("Visite régulière non confirmée"),
    "short_lived_posts": N_("Annonces retirées peu après leur publication, plusieurs fois"),
}
NOTICES = {
    "centre-cree": N_("Le centre est créé."),
    "centre-modifie": N_("Les changements sont enregistrés."),
    "membre-ajoute": N_("Le membre est ajouté au centre."),
    "role-change": N_("Le rôle est changé."),
    "membre-retire": N_("Le membre est retiré du centre : il n'agit plus pour lui."),
    "partenariat-cree": N_("Le partenariat est créé."),
    "partenariat-fini": N_("Le partenariat est terminé."),
    "webhook-desactive": N_("Le webhook est désactivé : plus rien ne lui est envoyé."),
    "compte-cree": N_(
        "Le compte est créé. La personne reçoit un e-mail pour choisir son mot de passe ; "
        "à sa première connexion, elle active la double authentification."
    ),
    "desactive": N_("Le compte est désactivé : ses sessions sont fermées."),
    "reactive": N_("Le compte est réactivé."),
    "suspendu": N_("Le compte est suspendu : ses sessions sont fermées."),
    "retabli": N_("La suspension est levée."),
    "double-facteur": N_(
        "La double authentification est réinitialisée : la personne l'active à nouveau à "
        "sa prochaine connexion."
    ),
    "resolu": N_("Le signalement est clos."),
    "contact": N_("Le contact est enregistré."),
}
FIELD_MESSAGES = {
    "name": N_("Un nom de 2 à 120 caractères, que n'a aucun autre centre."),
    "contact_email": N_("Écrivez une adresse e-mail valide, ou laissez vide."),
    "contact_phone": N_("Écrivez un numéro de téléphone, par exemple 01 42 00 00 00."),
    "address": N_("300 caractères au plus."),
    "moderation_level": N_("Choisissez un niveau de relecture."),
    "email": N_("Écrivez une adresse e-mail valide."),
    "member_role": N_("Choisissez un rôle."),
    "partner_id": N_("Choisissez un autre centre."),
    "url": N_("Une adresse qui commence par https:// (ou http://), 500 caractères au plus."),
    "topics": N_("Vérifiez ce choix."),
    "display_name": N_("Écrivez le prénom et le nom (80 caractères au plus)."),
    "password": N_("Un mot de passe provisoire de 10 caractères au moins."),
    "role": N_("Choisissez un rôle."),
    "centre_id": N_("Choisissez un centre (seulement pour un travailleur social)."),
    "note": N_("Écrivez la raison (3 caractères au moins) : elle est gardée, jamais envoyée."),
    "resolution": N_("Écrivez ce qui a été fait (3 caractères au moins)."),
    "outcome": N_("Écrivez ce qui s'est dit (3 caractères au moins)."),
}
# The territory's reason, from geo/territory.py's English, in words for the form.
TERRITORY_MESSAGES = (
    ("Polygon or MultiPolygon", N_("Le fichier doit contenir un Polygon ou un MultiPolygon.")),
    ("not closed", N_("Un contour n'est pas fermé : son dernier point doit répéter le premier.")),
    ("at least 4 positions", N_("Un contour a besoin d'au moins 4 points.")),
    ("too many vertices", N_("Le contour a trop de points (20 000 au plus).")),
    ("invalid geometry", N_("Le contour se croise lui-même ou n'est pas une surface valide.")),
    ("France", N_("Le territoire doit être en France, dans une seule région.")),
    ("area is too", N_("La surface doit être comprise entre 0,01 et 5 000 km².")),
    ("must not be empty", N_("Le contour est vide.")),
)  # fmt: skip
TERRITORY_OTHER = N_(
    "Des coordonnées ne conviennent pas : chaque point s'écrit [longitude, latitude] en degrés."
)
TERRITORY_NEEDED = N_("Choisissez le fichier GeoJSON du territoire.")
TERRITORY_NOT_JSON = N_("Ce fichier n'est pas du GeoJSON lisible (un fichier texte JSON).")
MEMBER_UNKNOWN = N_("Aucun compte n'a cette adresse. Créez d'abord le compte dans « Équipe ».")
MEMBER_NOT_STAFF = N_(
    "Ce compte n'est pas celui d'un travailleur social : seuls eux sont membres d'un centre."
)


def _int(value: Any, default: int) -> int:
    try:
        return max(1, min(int(value), 10_000_000))
    except (TypeError, ValueError):
        return default


def _text(form: FormMultiDict, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _explained(fields: dict[str, str]) -> dict[str, str]:
    return {name: FIELD_MESSAGES.get(name, message) for name, message in fields.items()}


def _territory_error(reason: str) -> str:
    return next((said for key, said in TERRITORY_MESSAGES if key in reason), TERRITORY_OTHER)


def _refusal(exc: DomainError) -> dict[str, str]:
    """A service's refusal as field messages; the territory's reason said in words."""
    if not exc.fields:
        if exc.status_code in (403, 404):
            raise exc
        return {"form": exc.detail}
    errors: dict[str, str] = {}
    for path, reason in exc.fields.items():
        name = path.split(".")[0].split("[")[0]
        errors[name] = (
            _territory_error(reason) if name == "territory" else FIELD_MESSAGES.get(name, reason)
        )
    return errors


async def _admin(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: Viewer | None
) -> tuple[Me, Viewer]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    require_admin(viewer)
    return me, viewer


def _render(
    request: Request[Any, Any, Any], template: str, me: Me, *, status_code: int = 200,
    **context: Any,
) -> Template:  # fmt: skip
    return page(
        request, template, me, status_code=status_code, fmt=formats_for(request, me),
        notice=NOTICES.get(request.query_params.get("fait", "")), errors=context.pop("errors", {}),
        values=context.pop("values", {}), moderation_levels=MODERATION_LEVELS,
        member_roles=MEMBER_ROLES, staff_roles=STAFF_ROLES, statuses=STATUSES, **context,
    )  # fmt: skip


def _done(path: str, what: str) -> Redirect:
    return Redirect(f"{path}?fait={what}", status_code=303)


async def _all_centres(tx: Tx) -> list[CentreOut]:
    return (await centres.list_centres(tx, 1, ALL_CENTRES)).items


# ---------------------------------------------------------------------------------------
# Centres and territories
# ---------------------------------------------------------------------------------------


@get("/", name="admin_centres", operation_id="pageAdminCentres", include_in_schema=False)
async def centres_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, _ = await _admin(request, tx, optional_viewer)
    number = _int(request.query_params.get("page"), 1)
    found = await centres.list_centres(tx, number, PER_PAGE)
    return _render(
        request, "admin/centres.html", me, items=found.items, page_number=number,
        has_more=found.has_more,
    )  # fmt: skip


async def _territory(form: FormMultiDict, *, required: bool) -> dict[str, Any] | None:
    """The uploaded GeoJSON file, parsed; its shape is checked by the service."""
    upload = form.get("territory")
    content = b""
    if isinstance(upload, UploadFile):
        content = await upload.read()
    if not content.strip():
        if required:
            raise FormError({"territory": TERRITORY_NEEDED})
        return None
    try:
        parsed = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise FormError({"territory": TERRITORY_NOT_JSON}) from None
    if not isinstance(parsed, dict):
        raise FormError({"territory": _territory_error("Polygon or MultiPolygon")})
    if parsed.get("type") == "FeatureCollection":
        # What most tools export: one feature holding the territory is accepted.
        features = parsed.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise FormError({"territory": _territory_error("Polygon or MultiPolygon")})
        parsed = features[0]
    return parsed if isinstance(parsed, dict) else None


def _centre_values(form: FormMultiDict) -> dict[str, str]:
    return {
        key: _text(form, key)
        for key in ("name", "contact_email", "contact_phone", "address", "moderation_level")
    }


def _centre_body(values: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "contact_email": values["contact_email"] or None,
        "contact_phone": values["contact_phone"] or None,
        "address": values["address"] or None,
        "moderation_level": values["moderation_level"] or "sensitive_only",
    }


@get("/centres/nouveau", name="admin_centre_new", operation_id="pageAdminCentreNew",
     include_in_schema=False)  # fmt: skip
async def centre_new_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, _ = await _admin(request, tx, optional_viewer)
    return _render(
        request, "admin/centre_form.html", me, centre=None,
        values={"moderation_level": "sensitive_only"},
    )  # fmt: skip


@post("/centres", name="admin_centre_create", operation_id="pageAdminCentreCreate",
      include_in_schema=False, request_max_body_size=TERRITORY_FORM_MAX_BYTES)  # fmt: skip
async def centre_create(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Response[Any]:
    me, viewer = await _admin(request, tx, optional_viewer)
    form = await request.form()
    values = _centre_values(form)
    try:
        body = _centre_body(values)
        body["territory"] = await _territory(form, required=True)
        data = convert(body, CentreIn)
        async with tx.begin_nested():
            created = await centres.create_centre(tx, viewer, data)
    except FormError as exc:
        errors, status = _explained(exc.fields), 422
    except DomainError as exc:
        errors, status = _refusal(exc), exc.status_code
    else:
        return _done(f"/admin/centres/{created.id}", "centre-cree")
    return _render(
        request, "admin/centre_form.html", me, status_code=status, centre=None, errors=errors,
        values=values,
    )  # fmt: skip


async def _centre_page(
    request: Request[Any, Any, Any], tx: Tx, me: Me, centre_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    centre = await centres.get_centre(tx, centre_id)
    return _render(
        request, "admin/centre_form.html", me, status_code=status_code, centre=centre,
        errors=errors or {}, values=values or {
            "name": centre.name, "contact_email": centre.contact_email or "",
            "contact_phone": centre.contact_phone or "", "address": centre.address or "",
            "moderation_level": centre.moderation_level,
        },
    )  # fmt: skip


@get("/centres/{centre_id:int}", name="admin_centre", operation_id="pageAdminCentre",
     include_in_schema=False)  # fmt: skip
async def centre_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    me, _ = await _admin(request, tx, optional_viewer)
    return await _centre_page(request, tx, me, centre_id)


@post("/centres/{centre_id:int}", name="admin_centre_update",
      operation_id="pageAdminCentreUpdate", include_in_schema=False,
      request_max_body_size=TERRITORY_FORM_MAX_BYTES)  # fmt: skip
async def centre_update(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    await centres.get_centre(tx, centre_id)  # an unknown centre is the 404 page
    form = await request.form()
    values = _centre_values(form)
    try:
        body = _centre_body(values)
        territory = await _territory(form, required=False)
        if territory is not None:
            body["territory"] = territory
        data = convert(body, CentreUpdate)
        async with tx.begin_nested():
            await centres.update_centre(tx, viewer, centre_id, data)
    except FormError as exc:
        errors, status = _explained(exc.fields), 422
    except DomainError as exc:
        errors, status = _refusal(exc), exc.status_code
    else:
        return _done(f"/admin/centres/{centre_id}", "centre-modifie")
    return await _centre_page(
        request, tx, me, centre_id, errors=errors, values=values, status_code=status
    )


# ---------------------------------------------------------------------------------------
# Members and roles
# ---------------------------------------------------------------------------------------


async def _members_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, centre_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    role_errors: dict[int, str] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    centre = await centres.get_centre(tx, centre_id)
    return _render(
        request, "admin/members.html", me, status_code=status_code, centre=centre,
        members=await centres.list_members(tx, viewer, centre_id), errors=errors or {},
        values=values or {"member_role": "social_worker"}, role_errors=role_errors or {},
    )  # fmt: skip


@get("/centres/{centre_id:int}/membres", name="admin_members", operation_id="pageAdminMembers",
     include_in_schema=False)  # fmt: skip
async def members_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    return await _members_page(request, tx, viewer, me, centre_id)


def _member_role(value: str) -> Any:
    if value not in MEMBER_ROLES:
        raise FormError({"member_role": FIELD_MESSAGES["member_role"]})
    return value


@post("/centres/{centre_id:int}/membres", name="admin_member_add",
      operation_id="pageAdminMemberAdd", include_in_schema=False)  # fmt: skip
async def member_add(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    form = await request.form()
    values = {"email": _text(form, "email"), "member_role": _text(form, "member_role")}
    try:
        if "@" not in values["email"]:
            raise FormError({"email": FIELD_MESSAGES["email"]})
        role = _member_role(values["member_role"])
        async with tx.begin_nested():
            await centres.add_member_by_email(tx, viewer, centre_id, values["email"], role)
    except FormError as exc:
        errors, status = _explained(exc.fields), 422
    except DomainError as exc:
        if "email" not in exc.fields:
            raise
        errors = {"email": MEMBER_UNKNOWN if exc.status_code == 404 else MEMBER_NOT_STAFF}
        status = exc.status_code
    else:
        return _done(f"/admin/centres/{centre_id}/membres", "membre-ajoute")
    return await _members_page(
        request, tx, viewer, me, centre_id, errors=errors, values=values, status_code=status
    )


@post("/centres/{centre_id:int}/membres/{user_id:int}/role", name="admin_member_role",
      operation_id="pageAdminMemberRole", include_in_schema=False)  # fmt: skip
async def member_role(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int], user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    form = await request.form()
    members = await centres.list_members(tx, viewer, centre_id)
    if not any(m.user_id == user_id for m in members):
        raise NotFound("no such member of this centre")
    try:
        role = _member_role(_text(form, "member_role"))
    except FormError:
        return await _members_page(
            request, tx, viewer, me, centre_id, status_code=422,
            role_errors={user_id: FIELD_MESSAGES["member_role"]},
        )  # fmt: skip
    await centres.add_member(tx, viewer, centre_id, MemberIn(user_id=user_id, member_role=role))
    return _done(f"/admin/centres/{centre_id}/membres", "role-change")


@post("/centres/{centre_id:int}/membres/{user_id:int}/retirer", name="admin_member_remove",
      operation_id="pageAdminMemberRemove", include_in_schema=False)  # fmt: skip
async def member_remove(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int], user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    _, viewer = await _admin(request, tx, optional_viewer)
    await centres.remove_member(tx, viewer, centre_id, user_id)
    return _done(f"/admin/centres/{centre_id}/membres", "membre-retire")


# ---------------------------------------------------------------------------------------
# Partnerships
# ---------------------------------------------------------------------------------------


async def _partners_page(
    request: Request[Any, Any, Any], tx: Tx, me: Me, centre_id: int, *,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    centre = await centres.get_centre(tx, centre_id)
    everyone = await _all_centres(tx)
    names = {c.id: c.name for c in everyone}
    return _render(
        request, "admin/partners.html", me, status_code=status_code, centre=centre,
        partners=[(p, names.get(p, f"n° {p}")) for p in centre.partner_ids],
        choices=[c for c in everyone if c.id != centre_id and c.id not in centre.partner_ids],
        errors=errors or {},
    )  # fmt: skip


@get("/centres/{centre_id:int}/partenariats", name="admin_partners",
     operation_id="pageAdminPartners", include_in_schema=False)  # fmt: skip
async def partners_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    me, _ = await _admin(request, tx, optional_viewer)
    return await _partners_page(request, tx, me, centre_id)


@post("/centres/{centre_id:int}/partenariats", name="admin_partner_add",
      operation_id="pageAdminPartnerAdd", include_in_schema=False)  # fmt: skip
async def partner_add(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    await centres.get_centre(tx, centre_id)
    form = await request.form()
    try:
        data = convert({"partner_id": _text(form, "partner_id")}, PartnerIn)
        async with tx.begin_nested():
            await centres.add_partner(tx, viewer, centre_id, data)
    except FormError as exc:
        errors, status = _explained(exc.fields), 422
    except DomainError as exc:
        if "partner_id" not in exc.fields:
            raise
        errors, status = {"partner_id": FIELD_MESSAGES["partner_id"]}, exc.status_code
    else:
        return _done(f"/admin/centres/{centre_id}/partenariats", "partenariat-cree")
    return await _partners_page(request, tx, me, centre_id, errors=errors, status_code=status)


@post("/centres/{centre_id:int}/partenariats/{partner_id:int}/fin", name="admin_partner_end",
      operation_id="pageAdminPartnerEnd", include_in_schema=False)  # fmt: skip
async def partner_end(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int], partner_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    _, viewer = await _admin(request, tx, optional_viewer)
    centre = await centres.get_centre(tx, centre_id)
    if partner_id not in centre.partner_ids:
        raise NotFound("no such partnership")
    await centres.remove_partner(tx, viewer, centre_id, partner_id)
    return _done(f"/admin/centres/{centre_id}/partenariats", "partenariat-fini")


# ---------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------


async def _webhooks_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, centre_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    created: webhook_endpoints.Webhook | None = None, secret: str | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    centre = await centres.get_centre(tx, centre_id)
    return _render(
        request, "admin/webhooks.html", me, status_code=status_code, centre=centre,
        hooks=await webhook_endpoints.list_webhooks(tx, viewer, centre_id),
        deliveries=await webhook_endpoints.recent_deliveries(tx, viewer, centre_id),
        topics=WEBHOOK_TOPICS, delivery_statuses=DELIVERY_STATUSES, errors=errors or {},
        values=values or {"url": "", "topics": []}, created=created, secret=secret,
    )  # fmt: skip


@get("/centres/{centre_id:int}/webhooks", name="admin_webhooks",
     operation_id="pageAdminWebhooks", include_in_schema=False)  # fmt: skip
async def webhooks_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    return await _webhooks_page(request, tx, viewer, me, centre_id)


@post("/centres/{centre_id:int}/webhooks", name="admin_webhook_add",
      operation_id="pageAdminWebhookAdd", include_in_schema=False)  # fmt: skip
async def webhook_add(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    settings: SettingsDep, centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """The secret is made here and shown on this answer only: the list never shows it."""
    me, viewer = await _admin(request, tx, optional_viewer)
    await centres.get_centre(tx, centre_id)
    form = await request.form()
    values = {"url": _text(form, "url"), "topics": form.getall("topics", [])}
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
        errors = dict(exc.fields) if isinstance(exc, Invalid) else _explained(exc.fields)
        return await _webhooks_page(
            request, tx, viewer, me, centre_id, errors=errors, values=values, status_code=422,
        )  # fmt: skip
    return await _webhooks_page(
        request, tx, viewer, me, centre_id, created=created, secret=secret, status_code=201
    )


@post("/centres/{centre_id:int}/webhooks/{webhook_id:int}/desactiver",
      name="admin_webhook_disable", operation_id="pageAdminWebhookDisable",
      include_in_schema=False)  # fmt: skip
async def webhook_disable(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    centre_id: FromPath[int], webhook_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    _, viewer = await _admin(request, tx, optional_viewer)
    await webhook_endpoints.disable_webhook(tx, viewer, centre_id, webhook_id)
    return _done(f"/admin/centres/{centre_id}/webhooks", "webhook-desactive")


# ---------------------------------------------------------------------------------------
# Staff accounts
# ---------------------------------------------------------------------------------------


async def _staff_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    card_errors: dict[int, dict[str, str]] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    number = _int(request.query_params.get("page"), 1)
    found = await staffing.list_staff(tx, viewer, number, PER_PAGE)
    return _render(
        request, "admin/staff.html", me, status_code=status_code, items=found.items,
        page_number=number, has_more=found.has_more, centres=await _all_centres(tx),
        errors=errors or {}, values=values or {"role": "social_worker"},
        card_errors=card_errors or {},
    )  # fmt: skip


@get("/equipe", name="admin_staff", operation_id="pageAdminStaff", include_in_schema=False)
async def staff_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _admin(request, tx, optional_viewer)
    return await _staff_page(request, tx, viewer, me)


@post("/equipe", name="admin_staff_create", operation_id="pageAdminStaffCreate",
      include_in_schema=False)  # fmt: skip
async def staff_create(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Response[Any]:
    me, viewer = await _admin(request, tx, optional_viewer)
    form = await request.form()
    values = {key: _text(form, key) for key in ("display_name", "email", "role", "centre_id")}
    try:
        data = convert(
            {
                "display_name": values["display_name"], "email": values["email"],
                "role": values["role"], "centre_id": values["centre_id"] or None,
            },
            StaffUserIn,
        )  # fmt: skip
        async with tx.begin_nested():
            await users.create_staff(tx, viewer, data)
    except FormError as exc:
        errors, status = _explained(exc.fields), 422
    except DomainError as exc:
        errors, status = _refusal(exc), exc.status_code
        if "email" in exc.fields:
            errors["email"] = N_("Un compte existe déjà avec cette adresse.")
    else:
        return _done("/admin/equipe", "compte-cree")
    return await _staff_page(
        request, tx, viewer, me, errors=errors, values=values, status_code=status
    )


@post("/equipe/{user_id:int}/desactiver", name="admin_staff_deactivate",
      operation_id="pageAdminStaffDeactivate", include_in_schema=False)  # fmt: skip
async def staff_deactivate(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    _, viewer = await _admin(request, tx, optional_viewer)
    await staffing.deactivate(tx, viewer, user_id, now=clock.now())
    return _done("/admin/equipe", "desactive")


@post("/equipe/{user_id:int}/reactiver", name="admin_staff_reactivate",
      operation_id="pageAdminStaffReactivate", include_in_schema=False)  # fmt: skip
async def staff_reactivate(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    _, viewer = await _admin(request, tx, optional_viewer)
    await staffing.reactivate(tx, viewer, user_id)
    return _done("/admin/equipe", "reactive")


@post("/equipe/{user_id:int}/suspendre", name="admin_staff_suspend",
      operation_id="pageAdminStaffSuspend", include_in_schema=False)  # fmt: skip
async def staff_suspend(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    settings: SettingsDep, user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """A social worker's suspension (safeguarding), with its internal note (kept, never
    sent): the service's rule says who may (an administrator, for staff)."""
    me, viewer = await _admin(request, tx, optional_viewer)
    await staffing.get_staff(tx, viewer, user_id)
    form = await request.form()
    try:
        data = convert({"note": _text(form, "note")}, SuspendIn)
    except FormError:
        return await _staff_page(
            request, tx, viewer, me, card_errors={user_id: {"note": FIELD_MESSAGES["note"]}},
            status_code=422,
        )  # fmt: skip
    await safeguarding.suspend(tx, viewer, user_id, data, settings=settings, now=clock.now())
    return _done("/admin/equipe", "suspendu")


@post("/equipe/{user_id:int}/retablir", name="admin_staff_reinstate",
      operation_id="pageAdminStaffReinstate", include_in_schema=False)  # fmt: skip
async def staff_reinstate(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    await staffing.get_staff(tx, viewer, user_id)
    form = await request.form()
    try:
        data = convert({"note": _text(form, "note")}, SuspendIn)
    except FormError:
        return await _staff_page(
            request, tx, viewer, me,
            card_errors={user_id: {"reinstate": FIELD_MESSAGES["note"]}}, status_code=422,
        )  # fmt: skip
    await safeguarding.reinstate(tx, viewer, user_id, data)
    return _done("/admin/equipe", "retabli")


@post("/equipe/{user_id:int}/double-authentification", name="admin_staff_reset_factor",
      operation_id="pageAdminStaffResetFactor", include_in_schema=False)  # fmt: skip
async def staff_reset_factor(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    _, viewer = await _admin(request, tx, optional_viewer)
    await second_factor.reset(tx, viewer, user_id)
    return _done("/admin/equipe", "double-facteur")


# ---------------------------------------------------------------------------------------
# What no centre covers
# ---------------------------------------------------------------------------------------


async def _uncovered_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, *,
    card_errors: dict[str, dict[str, str]] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    everything = request.query_params.get("tous") == "1"
    # An administrator belongs to no centre: the services give them exactly the items
    # no centre covers.
    reports = await safeguarding.list_reports(
        tx, viewer, open_only=not everything, page=1, per_page=100
    )
    items = await followups.list_followups(
        tx, viewer, open_only=not everything, page=1, per_page=100
    )
    return _render(
        request, "admin/uncovered.html", me, status_code=status_code, reports=reports.items,
        followups=items.items, everything=everything, report_reasons=REPORT_REASONS,
        followup_reasons=FOLLOWUP_REASONS, card_errors=card_errors or {},
    )  # fmt: skip


@get("/hors-territoire", name="admin_uncovered", operation_id="pageAdminUncovered",
     include_in_schema=False)  # fmt: skip
async def uncovered_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _admin(request, tx, optional_viewer)
    return await _uncovered_page(request, tx, viewer, me)


@post("/hors-territoire/signalements/{report_id:int}/resoudre", name="admin_report_resolve",
      operation_id="pageAdminReportResolve", include_in_schema=False)  # fmt: skip
async def report_resolve(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    report_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    form = await request.form()
    try:
        data = convert({"resolution": _text(form, "resolution")}, ResolveIn)
    except FormError:
        return await _uncovered_page(
            request, tx, viewer, me, status_code=422,
            card_errors={f"report-{report_id}": {"resolution": FIELD_MESSAGES["resolution"]}},
        )  # fmt: skip
    await safeguarding.resolve_report(tx, viewer, report_id, data)
    return _done("/admin/hors-territoire", "resolu")


@post("/hors-territoire/suivi/{followup_id:int}/contact", name="admin_followup_contact",
      operation_id="pageAdminFollowupContact", include_in_schema=False)  # fmt: skip
async def followup_contact(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    followup_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await _admin(request, tx, optional_viewer)
    form = await request.form()
    try:
        data = convert({"outcome": _text(form, "outcome")}, ContactIn)
    except FormError:
        return await _uncovered_page(
            request, tx, viewer, me, status_code=422,
            card_errors={f"followup-{followup_id}": {"outcome": FIELD_MESSAGES["outcome"]}},
        )  # fmt: skip
    await followups.record_contact(tx, viewer, followup_id, data, now=clock.now())
    return _done("/admin/hors-territoire", "contact")


ROUTES: list[Any] = [
    Router(
        path="/admin",
        route_handlers=[
            centres_page, centre_new_page, centre_create, centre_page, centre_update,
            members_page, member_add, member_role, member_remove, partners_page, partner_add,
            partner_end, webhooks_page, webhook_add, webhook_disable, staff_page, staff_create,
            staff_deactivate, staff_reactivate, staff_suspend, staff_reinstate,
            staff_reset_factor, uncovered_page, report_resolve, followup_contact,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
