"""A housing pair in the centre workspace: both people, the timeline of its steps, what
comes next (meeting → trial → agreement → follow-up visits), the forms that record
each step and the end, the next follow-up visit and whether it is late, and the charter
and agreement (generated as PDF, downloaded as attachments).

Registered by centre/housing.py (its ``ROUTES`` include ``PAIR_ROUTES``)."""

from __future__ import annotations

import re
from typing import Any, cast

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import SettingsDep, Tx
from voisins.housing import documents, pairs
from voisins.housing.schemas import DocumentKind, Pair, PairEndIn, PairStepIn
from voisins.web.forms import N_, form_text
from voisins.web.pages import Me
from voisins.web.routes.centre.housing_words import (
    STEP_NOTICES,
    Refusal,
    attempt,
    form_fields,
    render,
    submit,
)
from voisins.web.signed_in import Person

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
    shown: Pair = await pairs.get_pair(tx, viewer, pair_id, today=clock.today())
    return render(
        request, "centre/housing/pair.html", me, status_code=status_code, pair=shown,
        next_step=NEXT[shown.status], step_forms=STEP_FORMS[shown.status],
        documents_allowed=[k for k, s in documents.ALLOWED.items() if shown.status in s],
        errors=errors or {}, values=values or {},
    )  # fmt: skip


@get("/logement/binomes/{pair_id:int}", name="centre_housing_pair",
     operation_id="pageCentreHousingPair", include_in_schema=False)  # fmt: skip
async def pair_page(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, pair_id: FromPath[int]
) -> Template:
    me, viewer = worker
    return await _pair(request, tx, viewer, me, pair_id)


@post("/logement/binomes/{pair_id:int}/etapes", name="centre_housing_pair_step",
      operation_id="pageCentreHousingPairStep", include_in_schema=False)  # fmt: skip
async def pair_step(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, settings: SettingsDep,
    pair_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """The meeting, the move (start of the trial), the agreement or a follow-up visit."""
    me, viewer = worker
    values = form_fields(await request.form(), STEP_FIELDS)
    kind = values["kind"]

    done = await submit(
        tx, values, PairStepIn,
        lambda data: pairs.record_pair_step(
            tx, viewer, pair_id, data, settings, today=clock.today()
        ),
    )  # fmt: skip
    if isinstance(done, Refusal):
        return await _pair(
            request, tx, viewer, me, pair_id, errors={kind or "step": done.errors},
            values={kind: values}, status_code=done.status,
        )  # fmt: skip
    return Redirect(
        f"{pair_url(pair_id)}?fait={STEP_NOTICES.get(kind, 'etape')}#etapes", status_code=303
    )


@post("/logement/binomes/{pair_id:int}/fin", name="centre_housing_pair_end",
      operation_id="pageCentreHousingPairEnd", include_in_schema=False)  # fmt: skip
async def pair_end(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, pair_id: FromPath[int]
) -> Response[Any]:
    """The end of the pairing, with its reason and both sides' feedback."""
    me, viewer = worker
    values = form_fields(await request.form(), END_FIELDS)

    done = await submit(
        tx, values, PairEndIn,
        lambda data: pairs.end_pair(tx, viewer, pair_id, data, today=clock.today()),
    )  # fmt: skip
    if isinstance(done, Refusal):
        return await _pair(
            request, tx, viewer, me, pair_id, errors={"end": done.errors},
            values={"end": values}, status_code=done.status,
        )  # fmt: skip
    return Redirect(f"{pair_url(pair_id)}?fait=fin", status_code=303)


@post("/logement/binomes/{pair_id:int}/documents", name="centre_housing_generate",
      operation_id="pageCentreHousingGenerateDocument", include_in_schema=False)  # fmt: skip
async def generate(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, pair_id: FromPath[int]
) -> Response[Any]:
    """Draw up the charter or the agreement from the pair as it stands."""
    me, viewer = worker
    kind = form_text(await request.form(), "kind")
    if kind in documents.ALLOWED:
        chosen = cast(DocumentKind, kind)
        done = await attempt(
            tx,
            lambda: documents.generate_document(tx, viewer, pair_id, chosen, today=clock.today()),
        )
    else:
        done = Refusal({"kind": N_("Choisissez la charte ou la convention.")}, 422)
    if isinstance(done, Refusal):
        return await _pair(
            request, tx, viewer, me, pair_id, errors={"documents": done.errors},
            status_code=done.status,
        )  # fmt: skip
    return Redirect(f"{pair_url(pair_id)}?fait=document#document-{done.id}", status_code=303)


@get("/logement/binomes/{pair_id:int}/documents/{document_id:int}",
     name="centre_housing_document", operation_id="pageCentreHousingDocument",
     include_in_schema=False)  # fmt: skip
async def download(
    tx: Tx, worker: Person, pair_id: FromPath[int], document_id: FromPath[int]
) -> Response[bytes]:
    """The PDF, as an attachment; it holds names and the host's address: not cached."""
    name, pdf = await documents.read_document(tx, worker.viewer, pair_id, document_id)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{_UNSAFE.sub("-", name)}"',
            "Cache-Control": "no-store",
        },
    )


PAIR_ROUTES: list[Any] = [pair_page, pair_step, pair_end, generate, download]
