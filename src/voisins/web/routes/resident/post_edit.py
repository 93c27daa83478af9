"""Changing a post after publication: its text and its schedule, from the version
the form showed (an edit made meanwhile is shown instead of overwritten)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.clock import PARIS
from voisins.errors import Conflict, Forbidden, Invalid
from voisins.posts import editing as post_editing
from voisins.posts import reads as post_reads
from voisins.posts import screening
from voisins.posts.schemas import Description, PostPrivate, PostUpdate, Title
from voisins.web import wizard
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, fits, form_values
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.resident.posts import CONFLICT, post_page_of
from voisins.web.signed_in import Person

NOT_EDITABLE = N_("Cette annonce est close ou retirée : elle ne peut plus être modifiée.")

EDITED_MEANWHILE = N_(
    "Cette annonce a été modifiée entre-temps, peut-être par quelqu'un qui vous aide. "
    "Voici la version actuelle : refaites votre changement."
)


def _schedule_values(post: PostPrivate) -> dict[str, Any]:
    """The schedule as the form shows it (Paris time), the way the wizard asked it."""
    schedule = post.schedule
    if schedule.type == "once" and schedule.starts_at and schedule.ends_at:
        start, end = schedule.starts_at.astimezone(PARIS), schedule.ends_at.astimezone(PARIS)
        return {"schedule_type": "once", "date": start.date().isoformat(),
                "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "days": []}  # fmt: skip
    return {"schedule_type": "weekly", "date": "", "start": schedule.start or "",
            "end": schedule.end or "", "days": [str(d) for d in schedule.days or []]}  # fmt: skip


def _edit_values(post: PostPrivate) -> dict[str, Any]:
    return {"title": post.title, "description": post.description, **_schedule_values(post)}


def _same_schedule(values: dict[str, Any], current: dict[str, Any]) -> bool:
    kind = wizard.text_of(values, "schedule_type")
    if kind != current["schedule_type"]:
        return False
    fields = ("date", "start", "end") if kind == "once" else ("start", "end")
    if any(wizard.text_of(values, f)[: 5 if f != "date" else None] != current[f] for f in fields):
        return False
    return kind == "once" or sorted(wizard.days_of(values)) == sorted(current["days"])


def _schedule_body(values: dict[str, Any]) -> dict[str, Any]:
    """The checked form's schedule (``wizard.check_when``) as the API's."""
    start, end = wizard.text_of(values, "start")[:5], wizard.text_of(values, "end")[:5]
    if wizard.text_of(values, "schedule_type") == "weekly":
        days = sorted({int(d) for d in wizard.days_of(values)})
        return {"type": "weekly", "days": days, "start": start, "end": end}
    day = date.fromisoformat(wizard.text_of(values, "date"))

    def at(clock: str) -> str:
        hours, minutes = (int(part) for part in clock.split(":"))
        return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=PARIS).isoformat()

    return {"type": "once", "starts_at": at(start), "ends_at": at(end)}


def _edit_input(values: dict[str, Any], post: PostPrivate, now: datetime) -> PostUpdate:
    """The form as the API's PATCH body: the text, the schedule only when it changed (a
    past one-off date stays as it was), and the version the form showed."""
    errors: dict[str, str] = {}
    title, description = wizard.text_of(values, "title"), wizard.text_of(values, "description")
    if not fits(title, Title):
        errors["title"] = N_("Écrivez un titre de 3 à 120 caractères.")
    if not fits(description, Description):
        errors["description"] = N_("Le texte est trop long. 4 000 caractères au plus.")
    body: dict[str, Any] = {"title": title, "description": description}
    version = wizard.text_of(values, "version")
    if version.isascii() and version.isdigit() and len(version) < 10:
        body["version"] = int(version)
    if not _same_schedule(values, _schedule_values(post)):
        errors |= wizard.check_when(values, now)
        if not errors:
            body["schedule"] = _schedule_body(values)
    if errors:
        raise FormError(errors)
    return convert(body, PostUpdate)


async def _edit_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    post: PostPrivate,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    warnings: list[screening.TextWarning] | None = None,
) -> Template:
    held, reviewed = await post_editing.edit_outlook(tx, viewer, post)
    return page(
        request, "resident/post_edit.html", me, status_code=status_code, post=post,
        values=values, errors=errors, version=post.version, text_of=wizard.text_of,
        chosen_days=wizard.days_of(values), weekdays=formats_for(request, me).weekdays(),
        holders=held, reviewed=reviewed, warnings=warnings or [],
        names_warning=screening.NAMES_PERSON, names_checked=screening.names_found(warnings or []),
    )  # fmt: skip


async def _editable(tx: Tx, viewer: Viewer, post_id: int) -> PostPrivate | None:
    """The post if this viewer may change it (else 403/404); None when it is over."""
    post = await post_reads.get_post(tx, viewer, post_id)
    if not isinstance(post, PostPrivate) or not await post_reads.may_manage(tx, viewer, post):
        raise Forbidden("only the author (or a social worker acting for them) may change a post")
    return post if post.status in post_editing.EDITABLE else None


@get("/annonces/{post_id:int}/modifier", name="edit_post", operation_id="pageEditPost",
     include_in_schema=False)  # fmt: skip
async def edit_post(
    request: Request[Any, Any, Any], tx: Tx, person: Person, post_id: FromPath[int]
) -> Template:
    """The text and the schedule of a post, to change after publication."""
    me, viewer = person
    post = await _editable(tx, viewer, post_id)
    if post is None:
        return await post_page_of(request, tx, viewer, me, post_id,
                                errors={CONFLICT: NOT_EDITABLE}, status_code=409)  # fmt: skip
    return await _edit_page(request, tx, viewer, me, post, _edit_values(post), {})


@post("/annonces/{post_id:int}/modifier", name="edit_post_save",
      operation_id="pageEditPostSave", include_in_schema=False)  # fmt: skip
async def edit_post_save(
    request: Request[Any, Any, Any], tx: Tx, person: Person, post_id: FromPath[int]
) -> Response[Any]:
    """The same service as PATCH /api/v1/posts/{id}: an edit made from a version that is
    not the latest shows the latest, with a message, instead of overwriting it."""
    me, viewer = person
    post = await _editable(tx, viewer, post_id)
    if post is None:
        return await post_page_of(request, tx, viewer, me, post_id,
                                errors={CONFLICT: NOT_EDITABLE}, status_code=409)  # fmt: skip
    values = await form_values(request)
    try:
        data = _edit_input(values, post, clock.now())
        if viewer.is_staff:  # a social worker writing for a resident: as on the centre's form
            warnings = screening.check(
                screening.PublicTexts(
                    title=wizard.text_of(values, "title"),
                    description=wizard.text_of(values, "description"),
                )
            )
            if warnings and screening.names_found(warnings) != wizard.text_of(
                values, "names_checked"
            ):
                return await _edit_page(
                    request, tx, viewer, me, post, values, {}, warnings=warnings
                )
        async with tx.begin_nested():  # a refusal leaves nothing written
            updated = await post_editing.update_post(tx, viewer, post_id, data)
    except FormError as exc:
        return await _edit_page(request, tx, viewer, me, post, values, exc.fields, status_code=400)
    except screening.ScreeningRefused as exc:  # why, in the screening's own words
        return await _edit_page(request, tx, viewer, me, post, values, exc.fields, status_code=422)
    except Invalid as exc:
        errors = wizard.service_errors(exc)
        if "title" in exc.fields:
            errors.pop("form", None)
            errors["title"] = N_("Écrivez un titre de 3 à 120 caractères.")
        return await _edit_page(request, tx, viewer, me, post, values, errors, status_code=400)
    except Conflict as exc:
        latest = await _editable(tx, viewer, post_id)
        if "version" in exc.fields and latest is not None:
            return await _edit_page(request, tx, viewer, me, latest, _edit_values(latest),
                                    {CONFLICT: EDITED_MEANWHILE}, status_code=409)  # fmt: skip
        return await post_page_of(request, tx, viewer, me, post_id,
                                errors={CONFLICT: NOT_EDITABLE}, status_code=409)  # fmt: skip
    back_in_review = updated.status == "in_review" and post.status != "in_review"
    done = "modifiee_relue" if back_in_review else "modifiee"
    return Redirect(f"/annonces/{post_id}?fait={done}", status_code=303)


ROUTES: list[Any] = [
    Router(
        path="/", route_handlers=[edit_post, edit_post_save], exception_handlers=PAGE_ERROR_HANDLERS
    )
]
