"""Who reads intergenerational housing: the social workers who are members of an
application's or a pair's centre — not those of a partner centre — and the application's
person or the pair's two people (each service checks which). Everyone else gets the
same 404 as for an id that does not exist."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer, acts_for_any
from voisins.centres.service import own_centres
from voisins.errors import Forbidden


async def as_member(conn: AsyncConnection, viewer: Viewer) -> Viewer:
    """The viewer as housing sees them: a social worker acts for the centres they are a
    member of, not for those centres' partners (which ``Viewer.centre_ids`` adds for
    posts). A pairing is its centre's alone: the issue's «only the centre's social
    workers and the two people see a pair»."""
    if not viewer.is_social_worker:
        return viewer
    return msgspec.structs.replace(viewer, centre_ids=frozenset(await own_centres(conn, viewer)))


def reads_as_centre(viewer: Viewer, centre_id: int) -> bool:
    """Call with a viewer from ``as_member``."""
    return acts_for_any(viewer, {centre_id})


def listing_scope(
    viewer: Viewer, *, centre_column: str, own: str, refused: str
) -> tuple[str, dict[str, object]]:
    """What a list shows a viewer from ``as_member``, as a WHERE condition and its
    parameters: their centres' rows for a social worker, their own (``own``, with
    ``:me``) for a resident; an administrator is refused (``refused``)."""
    if viewer.is_social_worker:
        return f"{centre_column} = ANY(:centres)", {"centres": sorted(viewer.centre_ids)}
    if viewer.is_admin:
        raise Forbidden(refused)
    return own, {"me": viewer.id}
