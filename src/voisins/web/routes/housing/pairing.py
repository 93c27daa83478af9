"""My pairing, once the centre social has introduced us: the other person, the steps,
the centre to call, and the charter and the agreement to download."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.centres.service import get_centre
from voisins.errors import NotFound
from voisins.housing import documents, pairs
from voisins.housing.schemas import Pair, Side
from voisins.web.formats import formats_for
from voisins.web.pages import page
from voisins.web.routes.housing.readers import my_side, to_centre
from voisins.web.routes.housing.words import LABELS
from voisins.web.signed_in import Person


async def _my_pair(tx: Tx, viewer: Viewer, pair_id: int) -> tuple[Pair, Side]:
    """A pairing I am one of the two people of (the service shows it only once we were
    introduced); the centre's own reading is on its pages."""
    pair = await pairs.get_pair(tx, viewer, pair_id, today=clock.today())
    side = my_side(viewer, pair)
    if side is None:
        raise NotFound("no such housing pair")
    return pair, side


@get("/logement/binomes/{pair_id:int}", name="housing_pair", operation_id="pageHousingPair",
     include_in_schema=False)  # fmt: skip
async def pair_page(
    request: Request[Any, Any, Any], tx: Tx, person: Person, pair_id: FromPath[int]
) -> Response[Any]:
    me, viewer = person
    if elsewhere := to_centre(request, viewer):
        return elsewhere
    pair, side = await _my_pair(tx, viewer, pair_id)
    other = pair.young if side == "host" else pair.host
    centre = await get_centre(tx, pair.centre_id)
    return page(
        request, "housing/pair.html", me, pair=pair, side=side, other=other, centre=centre,
        fmt=formats_for(request, me), **LABELS,
    )  # fmt: skip


def _attachment(filename: str) -> str:
    """A download's name, plain ASCII for old browsers and UTF-8 for the others."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                    for c in filename)  # fmt: skip
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}"


@get("/logement/binomes/{pair_id:int}/documents/{document_id:int}", name="housing_document",
     operation_id="pageHousingDocument", include_in_schema=False)  # fmt: skip
async def document_download(
    request: Request[Any, Any, Any], tx: Tx, person: Person, pair_id: FromPath[int],
    document_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """The charter or the agreement, as the PDF the centre generated."""
    _me, viewer = person
    if elsewhere := to_centre(request, viewer):
        return elsewhere
    await _my_pair(tx, viewer, pair_id)
    filename, content = await documents.read_document(tx, viewer, pair_id, document_id)
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": _attachment(filename), "Cache-Control": "no-store"},
    )


HANDLERS = [pair_page, document_download]
