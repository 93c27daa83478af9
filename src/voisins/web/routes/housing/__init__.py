"""Pages of the two people of intergenerational housing (issue 16), one module per group:
the scheme with my applications and my application (overview.py), the application form
(apply.py), my pairing once the centre social has introduced us, with its documents
(pairing.py); their words in words.py, who may read them in readers.py.

The pages call the services the API calls (voisins.housing): who reads what is decided
there — an application by its person, a pairing by its two people only once they were
introduced, the centre's notes never. Anything else is the same 404 page as an id that
does not exist."""

from __future__ import annotations

from typing import Any

from litestar import Router

from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.housing import apply, overview, pairing

ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[*overview.HANDLERS, *apply.HANDLERS, *pairing.HANDLERS],
        exception_handlers=dict(PAGE_ERROR_HANDLERS.items()),
    )
]
