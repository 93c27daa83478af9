"""Reading posts: one post (exact place for those allowed), one's own, the open posts
near a place; and who may manage a post.

Reads for other people select public columns only (cell centre, bands): the exact
point and address are never even fetched for them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.centres.service import may_see_exact_place
from voisins.errors import Forbidden, Invalid, NotFound
from voisins.geo import sql as geosql
from voisins.geo.bands import band_for_m
from voisins.geo.coordinates import LonLat
from voisins.geo.grid import snap
from voisins.pagination import Page, paginate, window
from voisins.posts.schemas import (
    ExactLocation,
    PostPrivate,
    PostPublic,
    PostView,
    PublicCell,
    Schedule,
)

_PUBLIC_COLUMNS = f"""
    p.id, p.author_id, p.kind, p.category, p.title, p.description, p.skill_tags, p.languages,
    p.language_required, p.schedule_kind, p.starts_at, p.ends_at, p.weekly_days, p.weekly_start,
    p.weekly_end,
    p.volunteers_needed, p.urgency, p.sensitive, p.status, p.expires_at, p.published_at,
    p.cell_key, {geosql.lon_lat("p.cell_centre", "cell_")},
    ARRAY(SELECT pc.centre_id FROM post_centres pc WHERE pc.post_id = p.id ORDER BY 1)
        AS centre_ids
"""
_PRIVATE_COLUMNS = (
    _PUBLIC_COLUMNS
    + f""",
    p.created_by, {geosql.lon_lat("p.point")}, p.address, p.beneficiary_flags,
    p.search_radius_m, p.closed_reason, p.review_reason, p.version, p.edited_at
"""
)


def schedule_of(row: Any) -> Schedule:
    """A post row's schedule columns as the API shows them."""
    if row.schedule_kind == "once":
        return Schedule(type="once", starts_at=row.starts_at, ends_at=row.ends_at)
    return Schedule(
        type="weekly",
        days=list(row.weekly_days),
        start=row.weekly_start.strftime("%H:%M"),
        end=row.weekly_end.strftime("%H:%M"),
    )


def _public_fields(row: Any, viewer: Viewer | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "category": row.category,
        "title": row.title,
        "description": row.description,
        "skill_tags": list(row.skill_tags),
        "languages": list(row.languages),
        "language_required": row.language_required,
        "schedule": schedule_of(row),
        "volunteers_needed": row.volunteers_needed,
        "urgency": row.urgency,
        "sensitive": row.sensitive,
        "status": row.status,
        "expires_at": row.expires_at,
        "published_at": row.published_at,
        "cell": PublicCell(row.cell_key, row.cell_lon, row.cell_lat),
        "is_mine": viewer is not None and viewer.id == row.author_id,
    }


def public_view(row: Any, viewer: Viewer | None) -> PostPublic:
    return PostPublic(**_public_fields(row, viewer))


def private_view(row: Any, viewer: Viewer) -> PostPrivate:
    return PostPrivate(
        **_public_fields(row, viewer),
        author_id=row.author_id,
        created_by=row.created_by,
        centre_ids=list(row.centre_ids),
        without_centre=not row.centre_ids,
        location=ExactLocation(row.lon, row.lat, row.address),
        beneficiary=list(row.beneficiary_flags),
        search_radius_km=row.search_radius_m / 1000,
        closed_reason=row.closed_reason,
        review_reason=row.review_reason,
        version=row.version,
        edited_at=row.edited_at,
    )


async def may_manage_author(conn: AsyncConnection, viewer: Viewer, author_id: int) -> bool:
    return viewer.id == author_id or await can_act_for(conn, viewer, author_id)


async def _may_see_exact(conn: AsyncConnection, viewer: Viewer, row: Any) -> bool:
    """The author, a social worker acting for them, or one of the covering centre's (a
    partner centre's only while acting on the post: centres.service)."""
    if viewer.id == row.author_id:
        return True
    if await may_see_exact_place(conn, viewer, row.id, set(row.centre_ids)):
        return True
    return await can_act_for(conn, viewer, row.author_id)


HIDDEN_STATUSES = frozenset({"draft", "withdrawn", "in_review", "rejected"})


async def fetch_row(
    conn: AsyncConnection, post_id: int, *, private: bool, lock: bool = False
) -> Any:
    columns = _PRIVATE_COLUMNS if private else _PUBLIC_COLUMNS
    suffix = " FOR UPDATE OF p" if lock else ""
    row = (
        await conn.execute(
            text(f"SELECT {columns} FROM posts p WHERE p.id = :id{suffix}"), {"id": post_id}
        )
    ).first()
    if row is None:
        raise NotFound("no such post")
    return row


async def get_post(conn: AsyncConnection, viewer: Viewer | None, post_id: int) -> PostView:
    row = await fetch_row(conn, post_id, private=False)
    if viewer is not None and await _may_see_exact(conn, viewer, row):
        if viewer.id != row.author_id:  # a social worker reads someone's exact place
            await audit.record(conn, viewer, "post.view_private", "post", post_id)
        return private_view(await fetch_row(conn, post_id, private=True), viewer)
    # Drafts, withdrawn posts and posts not (yet) let through review are nobody else's.
    if row.status in HIDDEN_STATUSES:
        raise NotFound("no such post")
    return public_view(row, viewer)


async def list_mine(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int
) -> Page[PostPrivate]:
    rows = (
        await conn.execute(
            text(
                f"SELECT {_PRIVATE_COLUMNS} FROM posts p WHERE p.author_id = :me "
                "ORDER BY p.created_at DESC, p.id DESC LIMIT :limit OFFSET :offset"
            ),
            {"me": viewer.id, **window(page, per_page)},
        )
    ).all()
    return paginate([private_view(r, viewer) for r in rows], page, per_page)


async def own_area(conn: AsyncConnection, viewer: Viewer) -> LonLat | None:
    """The centre of the person's own public cell: their volunteer profile's, else the
    one of their latest post; None when voisins knows neither."""
    row = (
        await conn.execute(
            text(
                f"SELECT {geosql.lon_lat('cell_centre')} FROM ("
                "  (SELECT cell_centre, 0 AS rank, now() AS at FROM volunteers"
                "   WHERE user_id = :id)"
                "  UNION ALL"
                "  (SELECT cell_centre, 1, created_at FROM posts WHERE author_id = :id"
                "   ORDER BY created_at DESC LIMIT 1)"
                ") mine ORDER BY rank LIMIT 1"
            ),
            {"id": viewer.id},
        )
    ).first()
    return None if row is None else LonLat(row.lon, row.lat)


async def volunteer_home_cell(conn: AsyncConnection, viewer: Viewer) -> LonLat:
    row = (
        await conn.execute(
            text(f"SELECT {geosql.lon_lat('cell_centre')} FROM volunteers WHERE user_id = :id"),
            {"id": viewer.id},
        )
    ).first()
    if row is None:
        raise Invalid.field("near", "'me' needs a volunteer profile; give lon and lat instead")
    return LonLat(row.lon, row.lat)


# Open posts near a cell, built once (the most frequent query of the service). In the
# grid's plane (projected metres of the cell's zone, sql/0010), between cell centres,
# through the GiST index of published posts' cells (EXPLAIN in bench/README.md). Posts
# of another zone of the grid are another territory.
#
# In two steps, so that a dense neighbourhood does not cost a sort of every post within
# the radius (4,000 of them at 2 km in bench.api's data): `bound` walks the index
# nearest-first and stops at the last row the page needs, which gives the distance of
# the farthest post shown; then only posts at most that far are read and ordered
# (distance, then newest). Same rows and order as sorting everything within the
# radius: the rows a page shows are among the nearest `offset + limit`, and every post
# at the same distance as the last of them (the same ring of cells) is ordered with it.
_HERE = geosql.grid_point("cell_x", "cell_y")
_DISTANCE = geosql.nearest_first("p.cell_xy", _HERE)
_OPEN_HERE = """
    p.status = 'published' AND p.expires_at > now()
    AND p.cell_srid = CAST(:cell_srid AS integer)
    AND (CAST(:category AS text) IS NULL OR p.category = :category)
    AND (CAST(:kind AS text) IS NULL OR p.kind = :kind)
"""
_BROWSE = text(
    f"""
    WITH bound AS (
        SELECT max(nearest.distance_m) AS distance_m
        FROM (
            SELECT {_DISTANCE} AS distance_m FROM posts p
            WHERE {_OPEN_HERE}
              AND {geosql.in_box_m("p.cell_xy", _HERE, "CAST(:radius_m AS double precision)")}
            ORDER BY {_DISTANCE}
            LIMIT CAST(:limit AS integer) + CAST(:offset AS integer)
        ) nearest
        WHERE nearest.distance_m <= CAST(:radius_m AS double precision)
    )
    SELECT {_PUBLIC_COLUMNS}, {_DISTANCE} AS distance_m
    FROM posts p, bound
    WHERE {_OPEN_HERE}
      AND {geosql.in_box_m("p.cell_xy", _HERE, "bound.distance_m")}
      AND {_DISTANCE} <= bound.distance_m
    ORDER BY distance_m, p.published_at DESC, p.id DESC
    LIMIT :limit OFFSET :offset
    """
)


async def browse(
    conn: AsyncConnection,
    viewer: Viewer | None,
    near: LonLat,
    *,
    radius_km: float,
    cell_size_m: int,
    category: str | None,
    kind: str | None,
    page: int,
    per_page: int,
) -> Page[PostPublic]:
    """Open posts near a place. The place is snapped to its public cell first, and
    distances run between cell centres, so moving the query point inside a cell changes
    nothing: the answer cannot be used to triangulate anyone."""
    origin = snap(near, cell_size_m)
    rows = (
        await conn.execute(
            _BROWSE,
            {
                "cell_x": origin.centre_xy[0],
                "cell_y": origin.centre_xy[1],
                "cell_srid": origin.srid,
                "radius_m": radius_km * 1000,
                "category": category,
                "kind": kind,
                **window(page, per_page),
            },
        )
    ).all()
    items = []
    for row in rows:
        post = public_view(row, viewer)
        post.distance = band_for_m(row.distance_m)
        items.append(post)
    return paginate(items, page, per_page)


async def lock_managed(conn: AsyncConnection, viewer: Viewer, post_id: int) -> Any:
    row = await fetch_row(conn, post_id, private=True, lock=True)
    if not await may_manage_author(conn, viewer, row.author_id):
        if row.status in HIDDEN_STATUSES:
            raise NotFound("no such post")
        raise Forbidden("only the author (or a social worker acting for them) may change a post")
    return row


async def may_manage(conn: AsyncConnection, viewer: Viewer | None, post: PostView) -> bool:
    """The author, or a social worker acting for them (pages offer them the changes)."""
    if viewer is None or not isinstance(post, PostPrivate):
        return False
    return await may_manage_author(conn, viewer, post.author_id)
