"""A housing pair in the centre workspace: both people, the timeline of its steps, what
comes next (meeting → trial → agreement → follow-up visits), the forms that record
each step and the end, the next follow-up visit and whether it is late, and the charter
and agreement (generated as PDF, downloaded as attachments).

Registered by centre_housing.py (its ``ROUTES`` include ``PAIR_ROUTES``)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts.access import Viewer
from voisins.api.deps import OptionalViewer, SettingsDep, Tx
from voisins.errors import DomainError
from voisins.housing import documents, pairs
from voisins.housing.schemas import Pair, PairEndIn, PairStepIn
from voisins.web.forms import N_, FormError, convert
from voisins.web.pages import Me
from voisins.web.routes.centre.common import _text, _worker
from voisins.web.routes.centre.housing_words import (
    STEP_NOTICES,
    refusal,
    refused,
    render,
    today,
)

# What each status waits for, said on the pair's page.
NEXT = {
    "proposed": N_(
        "Organisez la rencontre des deux personnes avec le centre. Elles ne se voient "
        "dans voisins qu'après une rencontre favorable."
    ),
    "introduced": N_(
        "Préparez la charte. L'emménagement ouvre la période d'essai : il faut la visite "
        "du logement et les références, favorables."
    ),
    "trial": N_(
        "Période d'essai jusqu'au %(day)s : faites signer la convention, ou terminez le binôme."
    ),
    "confirmed": N_("Cohabitation en cours : une visite de suivi tous les trois mois."),
    "ended": N_("Ce binôme est terminé."),
}
# The forms each status offers: the step that moves it on, and the follow-up visits.
STEP_FORMS = {
    "proposed": ("meeting",),
    "introduced": ("trial",),
    "trial": ("agreement", "followup_visit"),
    "confirmed": ("followup_visit",),
    "ended": (),
}
DOCUMENTS_ALLOWED = {
    "charter": ("introduced", "trial", "confirmed"),
    "agreement": ("trial", "confirmed"),
}
STEP_FIELDS = ("kind", "done_on", "outcome", "note")
END_FIELDS = ("reason", "ended_on", "host_feedback", "young_feedback", "note")
# A file name for the Content-Disposition header: plain characters only.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def pair_url(pair_id: int) -> str:
    return f"/centre/logement/binomes/{pair_id}"


async def _pair(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, pair_id: int, *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    """``errors`` and ``values`` are by form: a step's kind, ``end`` or ``documents``."""
    shown: Pair = await pairs.get_pair(tx, viewer, pair_id, today=today())
    return render(
        request, "centre/housing/pair.html", me, status_code=status_code, pair=shown,
        next_step=NEXT[shown.status], step_forms=STEP_FORMS[shown.status],
        documents_allowed=[k for k, s in DOCUMENTS_ALLOWED.items() if shown.status in s],
        errors=errors or {}, values=values or {},
    )  # fmt: skip


@get("/logement/binomes/{pair_id:int}", name="centre_housing_pair",
     operation_id="pageCentreHousingPair", include_in_schema=False)  # fmt: skip
async def pair_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    pair_id: FromPath[int],
) -> Template:  # fmt: skip
    me, viewer = await _worker(request, tx, optional_viewer)
    return await _pair(request, tx, viewer, me, pair_id)


@post("/logement/binomes/{pair_id:int}/etapes", name="centre_housing_pair_step",
      operation_id="pageCentreHousingPairStep", include_in_schema=False)  # fmt: skip
async def pair_step(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    settings: SettingsDep, pair_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """The meeting, the move (start of the trial), the agreement or a follow-up visit."""
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    values = {key: _text(form, key) for key in STEP_FIELDS}
    kind = values["kind"]
    try:
        data = convert({k: v for k, v in values.items() if v}, PairStepIn)
        async with tx.begin_nested():
            await pairs.record_pair_step(tx, viewer, pair_id, data, settings, today=today())
    except (FormError, DomainError) as exc:
        errors, status = refused(exc)
    else:
        done = STEP_NOTICES.get(data.kind, "etape")
        return Redirect(f"{pair_url(pair_id)}?fait={done}#etapes", status_code=303)
    return await _pair(
        request, tx, viewer, me, pair_id, errors={kind or "step": errors},
        values={kind: values}, status_code=status,
    )  # fmt: skip


@post("/logement/binomes/{pair_id:int}/fin", name="centre_housing_pair_end",
      operation_id="pageCentreHousingPairEnd", include_in_schema=False)  # fmt: skip
async def pair_end(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    pair_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """The end of the pairing, with its reason and both sides' feedback."""
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    values = {key: _text(form, key) for key in END_FIELDS}
    try:
        data = convert({k: v for k, v in values.items() if v}, PairEndIn)
        async with tx.begin_nested():
            await pairs.end_pair(tx, viewer, pair_id, data, today=today())
    except (FormError, DomainError) as exc:
        errors, status = refused(exc)
    else:
        return Redirect(f"{pair_url(pair_id)}?fait=fin", status_code=303)
    return await _pair(
        request, tx, viewer, me, pair_id, errors={"end": errors}, values={"end": values},
        status_code=status,
    )  # fmt: skip


@post("/logement/binomes/{pair_id:int}/documents", name="centre_housing_generate",
      operation_id="pageCentreHousingGenerateDocument", include_in_schema=False)  # fmt: skip
async def generate(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    pair_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """Draw up the charter or the agreement from the pair as it stands."""
    me, viewer = await _worker(request, tx, optional_viewer)
    kind = _text(await request.form(), "kind")
    try:
        if kind not in DOCUMENTS_ALLOWED:
            raise FormError({"kind": N_("Choisissez la charte ou la convention.")})
        async with tx.begin_nested():
            made = await documents.generate_document(
                tx, viewer, pair_id, kind,  # type: ignore[arg-type]  # checked just above
                today=today(),
            )  # fmt: skip
    except FormError as exc:
        errors, status = exc.fields, 422
    except DomainError as exc:
        if exc.status_code not in (409, 422):
            raise
        errors, status = refusal(exc), exc.status_code
    else:
        return Redirect(f"{pair_url(pair_id)}?fait=document#document-{made.id}", status_code=303)
    return await _pair(
        request, tx, viewer, me, pair_id, errors={"documents": errors}, status_code=status
    )


@get("/logement/binomes/{pair_id:int}/documents/{document_id:int}",
     name="centre_housing_document", operation_id="pageCentreHousingDocument",
     include_in_schema=False)  # fmt: skip
async def download(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    pair_id: FromPath[int], document_id: FromPath[int],
) -> Response[bytes]:  # fmt: skip
    """The PDF, as an attachment; it holds names and the host's address: not cached."""
    _me, viewer = await _worker(request, tx, optional_viewer)
    name, pdf = await documents.read_document(tx, viewer, pair_id, document_id)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{_UNSAFE.sub("-", name)}"',
            "Cache-Control": "no-store",
        },
    )


PAIR_ROUTES: list[Any] = [pair_page, pair_step, pair_end, generate, download]
