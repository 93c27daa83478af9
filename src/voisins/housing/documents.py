"""The pair's documents: the charter and the agreement of the *cohabitation
intergénérationnelle solidaire* (ELAN law 2018, CASF art. L.118-1), generated as PDF
from the pair's data, in French, ready to sign.

They are the pair's: kept with it (``housing_documents``) and erased with it (the rows
cascade on the pair's delete). The centre's social workers generate them; the two
people, once introduced, download them. The PDF holds names, birth dates and the
host's address: nothing of it is logged, and the file is read only through
``read_document``, which applies the pair's rule (``pairs.pair_row``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, NoReturn

import anyio
import jinja2
from babel.dates import format_date
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.errors import Conflict, Forbidden, NotFound
from voisins.housing import rules
from voisins.housing.access import as_member, reads_as_centre
from voisins.housing.pairs import pair_row, shows_documents
from voisins.housing.schemas import DocumentInfo, DocumentKind
from voisins.typography import french_spaces

TEMPLATES = Path(__file__).parent / "templates"
FILENAME = {
    "charter": "charte-binome-{pair_id}.pdf",
    "agreement": "convention-binome-{pair_id}.pdf",
}
TITLE = {
    "charter": "Charte de la cohabitation intergénérationnelle solidaire",
    "agreement": "Convention de cohabitation intergénérationnelle solidaire",
}
# The charter can be read and signed from the introduction on; the agreement sets the
# terms of a cohabitation that has begun, so it waits for the trial period.
ALLOWED = {"charter": ("introduced", "trial", "confirmed"), "agreement": ("trial", "confirmed")}

FORMULAS = {
    "free_presence": "Hébergement gratuit contre une présence bienveillante le soir",
    "solidarity": "Contribution solidaire aux charges du logement",
    "modest_rent": "Loyer modeste",
}
SERVICES = {
    "evening_presence": "présence le soir",
    "shopping": "courses",
    "meals": "partage ou préparation de repas",
    "company": "compagnie et conversation",
    "digital_help": "aide au numérique",
    "small_repairs": "petit bricolage",
    "gardening": "jardinage",
    "pet_care": "soin des animaux",
    "paperwork": "aide aux démarches administratives",
}
OCCUPATIONS = {
    "student": "étudiant·e",
    "apprentice": "apprenti·e",
    "worker": "en activité professionnelle",
    "other": "autre situation",
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# WeasyPrint's layout is not documented as safe across threads (fontconfig, Pango):
# one document at a time per process, off the event loop.
_render_limiter = anyio.CapacityLimiter(1)
# WeasyPrint reports each layout step at INFO: nine lines a document, of no use in the
# service's logs (they hold no personal data; its warnings still come through).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    # The templates need no outside resource; the pair's data is escaped, but a PDF
    # renderer that fetches nothing cannot be made to.
    raise ValueError("housing documents load no external resource")


def _pdf_of(html: str) -> bytes:
    # Imported here: loading Pango takes a moment, and only this needs it.
    from weasyprint import HTML

    pdf = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def _day(value: date | None) -> str:
    """A date as French contracts write it: « 1er mars 2027 », « 2 mars 2027 »."""
    if value is None:
        return ""
    written = str(format_date(value, "d MMMM y", locale="fr"))
    if value.day == 1:
        written = "1er" + written[1:]
    # One piece: a line never ends on « 1er » with the month on the next.
    return written.replace(" ", "\u00a0")


def _euros(amount: int) -> str:
    return f"{amount} €"


@dataclass(frozen=True)
class _Party:
    name: str
    birth_date: str
    age: int


async def _context(conn: AsyncConnection, row: Any, today: date) -> dict[str, Any]:
    if row.host_application_id is None or row.young_application_id is None:
        # One of the two people erased their data: there is nobody left to sign.
        raise Conflict("one of the two people has left; no document can be drawn up")
    apps = {
        a.side: a
        for a in await conn.execute(
            text(
                "SELECT side, birth_date, address, room_m2, floor, lift, private_bathroom, "
                "furnished, formulas, monthly_eur, services, occupation, occupation_detail, "
                "available_until FROM housing_applications WHERE id IN (:h, :y)"
            ),
            {"h": row.host_application_id, "y": row.young_application_id},
        )
    }
    host, young = apps["host"], apps["young"]
    centre = (
        await conn.execute(
            text("SELECT name, address FROM centres WHERE id = :c"), {"c": row.centre_id}
        )
    ).one()
    formula = host.formulas[0]
    # The services the host hopes for that the young person offers; if none match, the
    # host's wishes, to be agreed when signing.
    agreed = [s for s in SERVICES if s in host.services and s in young.services]
    services = [SERVICES[s] for s in (agreed or [s for s in SERVICES if s in host.services])]
    return {
        "pair_id": row.id,
        "today": _day(today),
        "host": _Party(row.host_name, _day(host.birth_date), rules.age_on(host.birth_date, today)),
        "young": _Party(
            row.young_name, _day(young.birth_date), rules.age_on(young.birth_date, today)
        ),
        "host_address": host.address or "",
        "room": {
            "size_m2": host.room_m2,
            "floor": host.floor,
            "lift": host.lift,
            "private_bathroom": host.private_bathroom,
            "furnished": host.furnished,
        },
        "formula": FORMULAS[formula],
        "formula_key": formula,
        "monthly": _euros(host.monthly_eur),
        "monthly_eur": host.monthly_eur,
        "services": services,
        "services_agreed": bool(agreed),
        "occupation": OCCUPATIONS.get(young.occupation or "", ""),
        "occupation_detail": young.occupation_detail or "",
        "until": _day(young.available_until),
        "introduced_on": _day(row.introduced_on),
        "trial_started_on": _day(row.trial_started_on),
        "trial_ends_on": _day(row.trial_ends_on),
        "agreement_signed_on": _day(row.agreement_signed_on),
        "centre_name": centre.name,
        "centre_address": centre.address or "",
    }


def _render_html(kind: DocumentKind, context: dict[str, Any]) -> str:
    html = _environment.get_template(f"{kind}.html").render(title=TITLE[kind], **context)
    return french_spaces(html)


async def generate_document(
    conn: AsyncConnection,
    viewer: Viewer,
    pair_id: int,
    kind: Literal["charter", "agreement"],
    *,
    today: date,
) -> DocumentInfo:
    """Draw up the pair's charter or agreement as PDF and keep it with the pair.

    The row is locked while the PDF is made, so that the document states the pair as
    it stands when stored (a step recorded meanwhile waits)."""
    viewer = await as_member(conn, viewer)
    row = await pair_row(conn, viewer, pair_id, for_update=True)
    if not reads_as_centre(viewer, row.centre_id):
        raise Forbidden("only the centre's social workers draw up the pair's documents")
    if row.status == "ended":
        raise Conflict("this pairing has ended", {"kind": kind})
    if row.status not in ALLOWED[kind]:
        if kind == "agreement":
            raise Conflict("no agreement before a trial period", {"kind": kind})
        raise Conflict("no charter before the two people are introduced", {"kind": kind})
    html = _render_html(kind, await _context(conn, row, today))
    async with _render_limiter:
        pdf = await anyio.to_thread.run_sync(_pdf_of, html)
    digest = hashlib.sha256(pdf).hexdigest()
    stored = (
        await conn.execute(
            text(
                "INSERT INTO housing_documents (pair_id, kind, pdf, sha256, generated_by) "
                "VALUES (:p, :k, :pdf, :sha, :by) RETURNING id, kind, generated_at, sha256"
            ),
            {"p": row.id, "k": kind, "pdf": pdf, "sha": digest, "by": viewer.id},
        )
    ).one()
    await audit.record(conn, viewer, "housing_document.generate", "housing_document", stored.id)
    return DocumentInfo(**dict(stored._mapping))


async def read_document(
    conn: AsyncConnection, viewer: Viewer, pair_id: int, document_id: int
) -> tuple[str, bytes]:
    """The file name and the PDF, for the centre's social workers and the two people
    once introduced and until the pair ends (pairs.shows_documents); anyone else, and
    a document of another pair, get ``NotFound``."""
    viewer = await as_member(conn, viewer)
    row = await pair_row(conn, viewer, pair_id)
    document = (
        await conn.execute(
            text("SELECT id, kind, pdf FROM housing_documents WHERE id = :d AND pair_id = :p"),
            {"d": document_id, "p": row.id},
        )
    ).first()
    if document is None or not shows_documents(viewer, row):
        raise NotFound("no such document for this pair")
    await audit.record(conn, viewer, "housing_document.read", "housing_document", document.id)
    return FILENAME[document.kind].format(pair_id=row.id), bytes(document.pdf)
