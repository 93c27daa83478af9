"""A centre's members and their roles, and its partnerships with other centres."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Template

from voisins.api.deps import Tx
from voisins.centres import service as centres
from voisins.centres.schemas import MemberIn, PartnerIn
from voisins.errors import DomainError, NotFound
from voisins.web.forms import N_, FormError, convert, explained, form_text
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.admin.common import (
    FIELD_MESSAGES,
    MEMBER_ROLES,
    all_centres,
    done,
    render,
)
from voisins.web.signed_in import Person, SignedIn

MEMBER_UNKNOWN = N_("Aucun compte n'a cette adresse. Créez d'abord le compte dans « Équipe ».")

MEMBER_NOT_STAFF = N_(
    "Ce compte n'est pas celui d'un travailleur social : seuls eux sont membres d'un centre."
)


async def _members_page(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, centre_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    role_errors: dict[int, str] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    me, viewer = admin
    centre = await centres.get_centre(tx, centre_id)
    return render(
        request, "admin/members.html", me, status_code=status_code, centre=centre,
        members=await centres.list_members(tx, viewer, centre_id), errors=errors or {},
        values=values or {"member_role": "social_worker"}, role_errors=role_errors or {},
    )  # fmt: skip


@get("/centres/{centre_id:int}/membres", name="admin_members", operation_id="pageAdminMembers",
     include_in_schema=False)  # fmt: skip
async def members_page(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    return await _members_page(request, tx, admin, centre_id)


def _member_role(value: str) -> Any:
    if value not in MEMBER_ROLES:
        raise FormError({"member_role": FIELD_MESSAGES["member_role"]})
    return value


@post("/centres/{centre_id:int}/membres", name="admin_member_add",
      operation_id="pageAdminMemberAdd", include_in_schema=False)  # fmt: skip
async def member_add(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
    form = await request.form()
    values = {"email": form_text(form, "email"), "member_role": form_text(form, "member_role")}
    try:
        if "@" not in values["email"]:
            raise FormError({"email": FIELD_MESSAGES["email"]})
        role = _member_role(values["member_role"])
        async with tx.begin_nested():
            await centres.add_member_by_email(tx, viewer, centre_id, values["email"], role)
    except FormError as exc:
        errors, status = explained(exc.fields, FIELD_MESSAGES), 422
    except DomainError as exc:
        if "email" not in exc.fields:
            raise
        errors = {"email": MEMBER_UNKNOWN if exc.status_code == 404 else MEMBER_NOT_STAFF}
        status = exc.status_code
    else:
        return done(f"/admin/centres/{centre_id}/membres", "membre-ajoute")
    return await _members_page(
        request, tx, admin, centre_id, errors=errors, values=values, status_code=status
    )


@post("/centres/{centre_id:int}/membres/{user_id:int}/role", name="admin_member_role",
      operation_id="pageAdminMemberRole", include_in_schema=False)  # fmt: skip
async def member_role(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int], user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
    form = await request.form()
    members = await centres.list_members(tx, viewer, centre_id)
    if not any(m.user_id == user_id for m in members):
        raise NotFound("no such member of this centre")
    try:
        role = _member_role(form_text(form, "member_role"))
    except FormError:
        return await _members_page(
            request, tx, admin, centre_id, status_code=422,
            role_errors={user_id: FIELD_MESSAGES["member_role"]},
        )  # fmt: skip
    await centres.add_member(tx, viewer, centre_id, MemberIn(user_id=user_id, member_role=role))
    return done(f"/admin/centres/{centre_id}/membres", "role-change")


@post("/centres/{centre_id:int}/membres/{user_id:int}/retirer", name="admin_member_remove",
      operation_id="pageAdminMemberRemove", include_in_schema=False)  # fmt: skip
async def member_remove(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int], user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
    await centres.remove_member(tx, viewer, centre_id, user_id)
    return done(f"/admin/centres/{centre_id}/membres", "membre-retire")


async def _partners_page(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, centre_id: int, *,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    me = admin.me
    centre = await centres.get_centre(tx, centre_id)
    everyone = await all_centres(tx)
    names = {c.id: c.name for c in everyone}
    return render(
        request, "admin/partners.html", me, status_code=status_code, centre=centre,
        partners=[(p, names.get(p, f"n° {p}")) for p in centre.partner_ids],
        choices=[c for c in everyone if c.id != centre_id and c.id not in centre.partner_ids],
        errors=errors or {},
    )  # fmt: skip


@get("/centres/{centre_id:int}/partenariats", name="admin_partners",
     operation_id="pageAdminPartners", include_in_schema=False)  # fmt: skip
async def partners_page(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Template:  # fmt: skip
    return await _partners_page(request, tx, admin, centre_id)


@post("/centres/{centre_id:int}/partenariats", name="admin_partner_add",
      operation_id="pageAdminPartnerAdd", include_in_schema=False)  # fmt: skip
async def partner_add(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
    await centres.get_centre(tx, centre_id)
    form = await request.form()
    try:
        data = convert({"partner_id": form_text(form, "partner_id")}, PartnerIn)
        async with tx.begin_nested():
            await centres.add_partner(tx, viewer, centre_id, data)
    except FormError as exc:
        errors, status = explained(exc.fields, FIELD_MESSAGES), 422
    except DomainError as exc:
        if "partner_id" not in exc.fields:
            raise
        errors, status = {"partner_id": FIELD_MESSAGES["partner_id"]}, exc.status_code
    else:
        return done(f"/admin/centres/{centre_id}/partenariats", "partenariat-cree")
    return await _partners_page(request, tx, admin, centre_id, errors=errors, status_code=status)


@post("/centres/{centre_id:int}/partenariats/{partner_id:int}/fin", name="admin_partner_end",
      operation_id="pageAdminPartnerEnd", include_in_schema=False)  # fmt: skip
async def partner_end(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    centre_id: FromPath[int], partner_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = admin.viewer
    centre = await centres.get_centre(tx, centre_id)
    if partner_id not in centre.partner_ids:
        raise NotFound("no such partnership")
    await centres.remove_partner(tx, viewer, centre_id, partner_id)
    return done(f"/admin/centres/{centre_id}/partenariats", "partenariat-fini")


ROUTES: list[Any] = [
    Router(
        path="/admin",
        route_handlers=[
            members_page,
            member_add,
            member_role,
            member_remove,
            partners_page,
            partner_add,
            partner_end,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
