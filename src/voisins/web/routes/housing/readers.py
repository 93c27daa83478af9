"""Who reads the residents' housing pages: residents for themselves; a social worker is
sent to the same page in the centre's workspace, which decides what they may see."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect

from voisins.accounts.access import Viewer
from voisins.errors import Forbidden
from voisins.housing.schemas import Pair, Side


def to_centre(request: Request[Any, Any, Any], viewer: Viewer) -> Redirect | None:
    """Staff read applications and pairs in the centre's workspace, at the same path
    under /centre (which decides what they may see there)."""
    if viewer.is_staff:
        return Redirect(f"/centre{request.url.path}", status_code=303)
    return None


def residents_only(viewer: Viewer) -> None:
    # Social workers record applications for assisted residents in the centre's pages.
    if viewer.role != "resident":
        raise Forbidden("the housing pages are for residents' accounts")


def my_side(viewer: Viewer, pair: Pair) -> Side | None:
    """Which of the pair's two people the viewer is, if either."""
    if pair.host.person is not None and pair.host.person.id == viewer.id:
        return "host"
    if pair.young.person is not None and pair.young.person.id == viewer.id:
        return "young"
    return None
