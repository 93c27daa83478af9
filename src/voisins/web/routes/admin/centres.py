"""Centres and their territories: the list, a new centre, a centre's form (its
territory a GeoJSON file, checked by geo/territory.py and shown on a map)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromPath
from litestar.response import Template

from voisins.api.deps import Tx
from voisins.centres import service as centres
from voisins.centres.schemas import CentreIn, CentreUpdate
from voisins.errors import DomainError
from voisins.web.forms import N_, FormError, convert, explained, form_text
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.admin.common import (
    FIELD_MESSAGES,
    PER_PAGE,
    done,
    refusal_messages,
    render,
    territory_error,
)
from voisins.web.signed_in import Person, SignedIn
from voisins.web.url_state import list_page

# A territory file may hold up to 20,000 positions (geo/territory.py), which pretty-printed
# GeoJSON easily writes in more than the site's usual 1 MB body.
TERRITORY_FORM_MAX_BYTES = 5_000_000

TERRITORY_NEEDED = N_("Choisissez le fichier GeoJSON du territoire.")

TERRITORY_NOT_JSON = N_("Ce fichier n'est pas du GeoJSON lisible (un fichier texte JSON).")


@get("/", name="admin_centres", operation_id="pageAdminCentres", include_in_schema=False)
async def centres_page(request: Request[Any, Any, Any], tx: Tx, admin: Person) -> Template:
    me = admin.me
    number = list_page(request.query_params.get("page"))
    found = await centres.list_centres(tx, number, PER_PAGE)
    return render(
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
        raise FormError({"territory": territory_error("Polygon or MultiPolygon")})
    if parsed.get("type") == "FeatureCollection":
        # What most tools export: one feature holding the territory is accepted.
        features = parsed.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise FormError({"territory": territory_error("Polygon or MultiPolygon")})
        parsed = features[0]
    return parsed if isinstance(parsed, dict) else None


def _centre_values(form: FormMultiDict) -> dict[str, str]:
    return {
        key: form_text(form, key)
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
async def centre_new_page(request: Request[Any, Any, Any], tx: Tx, admin: Person) -> Template:
    me = admin.me
    return render(
        request, "admin/centre_form.html", me, centre=None,
        values={"moderation_level": "sensitive_only"},
    )  # fmt: skip


@post("/centres", name="admin_centre_create", operation_id="pageAdminCentreCreate",
      include_in_schema=False, request_max_body_size=TERRITORY_FORM_MAX_BYTES)  # fmt: skip
async def centre_create(request: Request[Any, Any, Any], tx: Tx, admin: Person) -> Response[Any]:
    me, viewer = admin
    form = await request.form()
    values = _centre_values(form)
    try:
        body = _centre_body(values)
        body["territory"] = await _territory(form, required=True)
        data = convert(body, CentreIn)
        async with tx.begin_nested():
            created = await centres.create_centre(tx, viewer, data)
    except FormError as exc:
        errors, status = explained(exc.fields, FIELD_MESSAGES), 422
    except DomainError as exc:
        errors, status = refusal_messages(exc), exc.status_code
    else:
        return done(f"/admin/centres/{created.id}", "centre-cree")
    return render(
        request, "admin/centre_form.html", me, status_code=status, centre=None, errors=errors,
        values=values,
    )  # fmt: skip


async def _centre_page(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, centre_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    me = admin.me
    centre = await centres.get_centre(tx, centre_id)
    return render(
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
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    return await _centre_page(request, tx, admin, centre_id)


@post("/centres/{centre_id:int}", name="admin_centre_update",
      operation_id="pageAdminCentreUpdate", include_in_schema=False,
      request_max_body_size=TERRITORY_FORM_MAX_BYTES)  # fmt: skip
async def centre_update(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
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
        errors, status = explained(exc.fields, FIELD_MESSAGES), 422
    except DomainError as exc:
        errors, status = refusal_messages(exc), exc.status_code
    else:
        return done(f"/admin/centres/{centre_id}", "centre-modifie")
    return await _centre_page(
        request, tx, admin, centre_id, errors=errors, values=values, status_code=status
    )


ROUTES: list[Any] = [
    Router(
        path="/admin",
        route_handlers=[centres_page, centre_new_page, centre_create, centre_page, centre_update],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
