"""Staff accounts: create one, deactivate or reactivate it, suspend or reinstate a
social worker (safeguarding, with an internal note), reset a second factor."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Template

from voisins import clock
from voisins.accounts import second_factor, staffing, users
from voisins.accounts.schemas import StaffUserIn
from voisins.api.deps import SettingsDep, Tx
from voisins.errors import DomainError
from voisins.moderation import safeguarding
from voisins.moderation.safeguarding import SuspendIn
from voisins.web.forms import N_, FormError, convert, explained, form_text
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.admin.common import (
    FIELD_MESSAGES,
    PER_PAGE,
    all_centres,
    done,
    refusal_messages,
    render,
)
from voisins.web.signed_in import Person, SignedIn
from voisins.web.url_state import list_page


async def _staff_page(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    card_errors: dict[int, dict[str, str]] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    number = list_page(request.query_params.get("page"))
    found = await staffing.list_staff(tx, admin.viewer, number, PER_PAGE)
    return render(
        request, "admin/staff.html", admin.me, status_code=status_code, items=found.items,
        page_number=number, has_more=found.has_more, centres=await all_centres(tx),
        errors=errors or {}, values=values or {"role": "social_worker"},
        card_errors=card_errors or {},
    )  # fmt: skip


@get("/equipe", name="admin_staff", operation_id="pageAdminStaff", include_in_schema=False)
async def staff_page(request: Request[Any, Any, Any], tx: Tx, admin: Person) -> Template:
    return await _staff_page(request, tx, admin)


@post("/equipe", name="admin_staff_create", operation_id="pageAdminStaffCreate",
      include_in_schema=False)  # fmt: skip
async def staff_create(request: Request[Any, Any, Any], tx: Tx, admin: Person) -> Response[Any]:
    form = await request.form()
    values = {key: form_text(form, key) for key in ("display_name", "email", "role", "centre_id")}
    try:
        data = convert(
            {
                "display_name": values["display_name"], "email": values["email"],
                "role": values["role"], "centre_id": values["centre_id"] or None,
            },
            StaffUserIn,
        )  # fmt: skip
        async with tx.begin_nested():
            await users.create_staff(tx, admin.viewer, data)
    except FormError as exc:
        errors, status = explained(exc.fields, FIELD_MESSAGES), 422
    except DomainError as exc:
        errors, status = refusal_messages(exc), exc.status_code
        if "email" in exc.fields:
            errors["email"] = N_("Un compte existe déjà avec cette adresse.")
    else:
        return done("/admin/equipe", "compte-cree")
    return await _staff_page(request, tx, admin, errors=errors, values=values, status_code=status)


@post("/equipe/{user_id:int}/desactiver", name="admin_staff_deactivate",
      operation_id="pageAdminStaffDeactivate", include_in_schema=False)  # fmt: skip
async def staff_deactivate(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    await staffing.deactivate(tx, admin.viewer, user_id, now=clock.now())
    return done("/admin/equipe", "desactive")


@post("/equipe/{user_id:int}/reactiver", name="admin_staff_reactivate",
      operation_id="pageAdminStaffReactivate", include_in_schema=False)  # fmt: skip
async def staff_reactivate(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    await staffing.reactivate(tx, admin.viewer, user_id)
    return done("/admin/equipe", "reactive")


async def _note(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, user_id: int, *, shown_at: str
) -> SuspendIn | Template:
    """The internal note of a suspension or of its end (kept, never sent); when it does
    not pass, the staff page with the message on that person's card, at ``shown_at``."""
    await staffing.get_staff(tx, admin.viewer, user_id)
    form = await request.form()
    try:
        return convert({"note": form_text(form, "note")}, SuspendIn)
    except FormError:
        return await _staff_page(
            request, tx, admin, card_errors={user_id: {shown_at: FIELD_MESSAGES["note"]}},
            status_code=422,
        )  # fmt: skip


@post("/equipe/{user_id:int}/suspendre", name="admin_staff_suspend",
      operation_id="pageAdminStaffSuspend", include_in_schema=False)  # fmt: skip
async def staff_suspend(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    settings: SettingsDep, user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """A social worker's suspension (safeguarding), with its internal note (kept, never
    sent): the service's rule says who may (an administrator, for staff)."""
    note = await _note(request, tx, admin, user_id, shown_at="note")
    if isinstance(note, Template):
        return note
    await safeguarding.suspend(tx, admin.viewer, user_id, note, settings=settings, now=clock.now())
    return done("/admin/equipe", "suspendu")


@post("/equipe/{user_id:int}/retablir", name="admin_staff_reinstate",
      operation_id="pageAdminStaffReinstate", include_in_schema=False)  # fmt: skip
async def staff_reinstate(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    note = await _note(request, tx, admin, user_id, shown_at="reinstate")
    if isinstance(note, Template):
        return note
    await safeguarding.reinstate(tx, admin.viewer, user_id, note)
    return done("/admin/equipe", "retabli")


@post("/equipe/{user_id:int}/double-authentification", name="admin_staff_reset_factor",
      operation_id="pageAdminStaffResetFactor", include_in_schema=False)  # fmt: skip
async def staff_reset_factor(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    user_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    await second_factor.reset(tx, admin.viewer, user_id)
    return done("/admin/equipe", "double-facteur")


ROUTES: list[Any] = [
    Router(
        path="/admin",
        route_handlers=[
            staff_page,
            staff_create,
            staff_deactivate,
            staff_reactivate,
            staff_suspend,
            staff_reinstate,
            staff_reset_factor,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
