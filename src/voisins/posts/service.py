"""Creating, reading, browsing and moving posts through their life.

Reads for other people select public columns only (cell centre, bands): the exact
point and address are never even fetched for them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.accounts.quotas import Action, Quotas
from voisins.categories import is_sensitive
from voisins.centres.service import covering_centres, may_see_exact_place
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.geo import sql as geosql
from voisins.geo.bands import band_for_m
from voisins.geo.coordinates import LonLat
from voisins.geo.geocoder import Geocoder
from voisins.geo.grid import snap
from voisins.locations import resolve
from voisins.outbox import emit
from voisins.pagination import Page, paginate, window
from voisins.posts import screening, short_lived
from voisins.posts.schemas import (
    CloseIn,
    ExactLocation,
    OnceIn,
    PostIn,
    PostPrivate,
    PostPublic,
    PostUpdate,
    PostView,
    PublicCell,
    Schedule,
    ScheduleIn,
)
from voisins.schedule import clock_minutes, once_slots, to_multirange, weekly_slots
from voisins.settings import Settings


class PostSaved(PostPrivate, kw_only=True):
    """What creating or editing a post answers: the post, and what its author may want
    to change in its public texts (it is saved all the same; posts/screening.py)."""

    warnings: list[screening.TextWarning] = []


def _saved(post: PostPrivate, warnings: list[screening.TextWarning]) -> PostSaved:
    return PostSaved(**msgspec.structs.asdict(post), warnings=warnings)


DEFAULT_LIFETIME = timedelta(days=14)
MAX_LIFETIME = timedelta(days=90)
# Tolerance for clocks of phones and for the time a form takes to fill.
CLOCK_SKEW = timedelta(minutes=5)

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


def _public(row: Any, viewer: Viewer | None) -> PostPublic:
    return PostPublic(**_public_fields(row, viewer))


def _private(row: Any, viewer: Viewer) -> PostPrivate:
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


async def _may_manage(conn: AsyncConnection, viewer: Viewer, author_id: int) -> bool:
    return viewer.id == author_id or await can_act_for(conn, viewer, author_id)


async def _may_see_exact(conn: AsyncConnection, viewer: Viewer, row: Any) -> bool:
    """The author, a social worker acting for them, or one of the covering centre's (a
    partner centre's only while acting on the post: centres.service)."""
    if viewer.id == row.author_id:
        return True
    if await may_see_exact_place(conn, viewer, row.id, set(row.centre_ids)):
        return True
    return await can_act_for(conn, viewer, row.author_id)


def _schedule_columns(schedule: ScheduleIn, now: datetime, field: str) -> dict[str, Any]:
    if isinstance(schedule, OnceIn):
        if schedule.ends_at <= schedule.starts_at:
            raise Invalid.field(f"{field}.ends_at", "must be after starts_at")
        if schedule.ends_at < now - CLOCK_SKEW:
            raise Invalid.field(f"{field}.ends_at", "is in the past")
        if schedule.starts_at > now + timedelta(days=365):
            raise Invalid.field(f"{field}.starts_at", "at most one year ahead")
        return {
            "schedule_kind": "once",
            "starts_at": schedule.starts_at,
            "ends_at": schedule.ends_at,
            "weekly_days": None,
            "weekly_start": None,
            "weekly_end": None,
            "slots": to_multirange(once_slots(schedule.starts_at, schedule.ends_at)),
        }
    if clock_minutes(schedule.end) <= clock_minutes(schedule.start):
        raise Invalid.field(f"{field}.end", "must be after start")
    if len(set(schedule.days)) != len(schedule.days):
        raise Invalid.field(f"{field}.days", "each day only once")
    days = sorted(schedule.days)
    return {
        "schedule_kind": "weekly",
        "starts_at": None,
        "ends_at": None,
        "weekly_days": days,
        "weekly_start": time.fromisoformat(schedule.start),
        "weekly_end": time.fromisoformat(schedule.end),
        "slots": to_multirange(weekly_slots(days, schedule.start, schedule.end)),
    }


def _expiry(expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is None:
        return now + DEFAULT_LIFETIME
    if expires_at <= now:
        raise Invalid.field("expires_at", "is in the past")
    if expires_at > now + MAX_LIFETIME:
        raise Invalid.field("expires_at", "at most 90 days ahead")
    return expires_at


def _tags(tags: list[str]) -> list[str]:
    return sorted({t.strip().lower() for t in tags})


async def create_post(
    conn: AsyncConnection,
    viewer: Viewer,
    data: PostIn,
    *,
    geocoder: Geocoder,
    cell_size_m: int,
    quotas: Quotas | None = None,
) -> PostSaved:
    """``quotas``: None only when no person's request is behind the call (demo data,
    benchmarks); a social worker posting for a resident spends their own quota.

    Public texts with contact details are refused (ScreeningRefused, 422) before
    anything is looked up or written."""
    now = clock.now()
    author_id = viewer.id
    if data.on_behalf_of is not None and data.on_behalf_of != viewer.id:
        if not await can_act_for(conn, viewer, data.on_behalf_of):
            raise Forbidden(
                "you may post only for assisted residents of your centres who consented",
                {"on_behalf_of": "not someone you act for"},
            )
        author_id = data.on_behalf_of
    elif viewer.is_staff:
        raise Forbidden(
            "staff post for residents: name them in on_behalf_of", {"on_behalf_of": "required"}
        )
    warnings = screening.check(
        screening.PublicTexts(
            title=data.title, description=data.description, skill_tags=data.skill_tags
        )
    )
    values: dict[str, Any] = {
        **_schedule_columns(data.schedule, now, "schedule"),
        "expires_at": _expiry(data.expires_at, now),
    }
    place = await resolve(data.location, geocoder, cell_size_m=cell_size_m)
    author_flags = (
        await conn.execute(
            text("SELECT vulnerability FROM users WHERE id = :id"), {"id": author_id}
        )
    ).scalar_one()
    beneficiary = sorted(set(data.beneficiary))
    centre_ids = await covering_centres(conn, place.point)
    status = "draft"
    if data.publish:
        status = "in_review" if await _needs_review(conn, viewer, centre_ids) else "published"
        if quotas is not None:  # after every check that may refuse, before any write
            await quotas.spend(viewer.id, "publish")
    post_id = (
        await conn.execute(
            text(
                f"""
                INSERT INTO posts (
                    author_id, created_by, kind, category, skill_tags, title, description,
                    schedule_kind, starts_at, ends_at, weekly_days, weekly_start, weekly_end,
                    slots, volunteers_needed, languages, language_required, urgency,
                    beneficiary_flags, sensitive,
                    search_radius_m, point, address, cell_key, cell_centre, status, expires_at,
                    published_at)
                VALUES (
                    :author_id, :created_by, :kind, :category, :skill_tags, :title, :description,
                    :schedule_kind, :starts_at, :ends_at, :weekly_days, :weekly_start,
                    :weekly_end, CAST(:slots AS int4multirange), :volunteers_needed, :languages,
                    :language_required, :urgency, :beneficiary, :sensitive, :search_radius_m,
                    {geosql.point_4326("lon", "lat")}, :address, :cell_key,
                    {geosql.point_4326("cell_lon", "cell_lat")}, :status, :expires_at,
                    CASE WHEN :status = 'published' THEN now() END)
                RETURNING id
                """
            ),
            {
                **values,
                **place.params(),
                "author_id": author_id,
                "created_by": viewer.id if author_id != viewer.id else None,
                "kind": data.kind,
                "category": data.category,
                "skill_tags": _tags(data.skill_tags),
                "title": data.title.strip(),
                "description": data.description.strip(),
                "volunteers_needed": data.volunteers_needed,
                "languages": sorted(set(data.languages)),
                "language_required": data.language_required and bool(data.languages),
                "urgency": data.urgency,
                "beneficiary": beneficiary,
                "sensitive": is_sensitive(data.category, beneficiary, list(author_flags)),
                "search_radius_m": round(data.search_radius_km * 1000),
                "status": status,
            },
        )
    ).scalar_one()
    for centre_id in centre_ids:
        await conn.execute(
            text("INSERT INTO post_centres (post_id, centre_id) VALUES (:p, :c)"),
            {"p": post_id, "c": centre_id},
        )
    if status == "published":
        await emit(conn, "post.published", post_id=post_id)
    elif status == "in_review":
        await emit(conn, "post.review_needed", post_id=post_id)
    row = await _fetch(conn, post_id, private=True)
    return _saved(_private(row, viewer), warnings)


HIDDEN_STATUSES = frozenset({"draft", "withdrawn", "in_review", "rejected"})


async def _needs_review(conn: AsyncConnection, viewer: Viewer, centre_ids: list[int]) -> bool:
    """A centre at moderation level all_posts reviews every post on its territory before
    publication — except those its own social workers write for a resident."""
    if viewer.is_social_worker and viewer.centre_ids & set(centre_ids):
        return False
    return bool(
        (
            await conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM centres WHERE id = ANY(:ids) "
                    "AND moderation_level = 'all_posts')"
                ),
                {"ids": centre_ids},
            )
        ).scalar()
    )


async def _fetch(conn: AsyncConnection, post_id: int, *, private: bool, lock: bool = False) -> Any:
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
    row = await _fetch(conn, post_id, private=False)
    if viewer is not None and await _may_see_exact(conn, viewer, row):
        if viewer.id != row.author_id:  # a social worker reads someone's exact place
            await audit.record(conn, viewer, "post.view_private", "post", post_id)
        return _private(await _fetch(conn, post_id, private=True), viewer)
    # Drafts, withdrawn posts and posts not (yet) let through review are nobody else's.
    if row.status in HIDDEN_STATUSES:
        raise NotFound("no such post")
    return _public(row, viewer)


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
    return paginate([_private(r, viewer) for r in rows], page, per_page)


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
        post = _public(row, viewer)
        post.distance = band_for_m(row.distance_m)
        items.append(post)
    return paginate(items, page, per_page)


async def _managed(conn: AsyncConnection, viewer: Viewer, post_id: int) -> Any:
    row = await _fetch(conn, post_id, private=True, lock=True)
    if not await _may_manage(conn, viewer, row.author_id):
        if row.status in HIDDEN_STATUSES:
            raise NotFound("no such post")
        raise Forbidden("only the author (or a social worker acting for them) may change a post")
    return row


# A post can be edited until it is over: closed and withdrawn posts are history.
EDITABLE = ("draft", "in_review", "rejected", "published", "matched", "expired")
# What the volunteers who said yes agreed to: a change of these is told to them.
_AGREED = ("title", "description", "schedule_kind", "starts_at", "ends_at", "weekly_days",
           "weekly_start", "weekly_end")  # fmt: skip


async def may_manage(conn: AsyncConnection, viewer: Viewer | None, post: PostView) -> bool:
    """The author, or a social worker acting for them (pages offer them the changes)."""
    if viewer is None or not isinstance(post, PostPrivate):
        return False
    return await _may_manage(conn, viewer, post.author_id)


async def edit_outlook(
    conn: AsyncConnection, viewer: Viewer, post: PostPrivate
) -> tuple[int, bool]:
    """What an edit of ``post`` would set off, for the form to say it first: how many
    volunteers said yes (they will be told), and whether a new text goes back to the
    centre's review."""
    held = await _places_held(conn, post.id)
    review = post.status == "published" and await _review_again(
        conn, viewer, post.id, post.centre_ids, post.sensitive
    )
    return held, review


async def _review_again(
    conn: AsyncConnection, viewer: Viewer, post_id: int, centre_ids: list[int], sensitive: bool
) -> bool:
    """Whether a published post whose text changed goes back to the centre's review: when
    its centre reviews every post (the text it let through is not the one online any
    more), or when it is sensitive and a social worker already approved it or one of
    its matches on the strength of its text. A covering centre's own social worker
    editing needs no review (as at publication, ``_needs_review``)."""
    if viewer.is_social_worker and viewer.centre_ids & set(centre_ids):
        return False
    if await _needs_review(conn, viewer, centre_ids):
        return True
    if not sensitive:
        return False
    return bool(
        (
            await conn.execute(
                text(
                    "SELECT reviewed_at IS NOT NULL OR EXISTS (SELECT 1 FROM matches m "
                    "WHERE m.post_id = p.id AND m.reviewed_by IS NOT NULL "
                    "AND m.status IN ('approved', 'confirmed', 'completed')) "
                    "FROM posts p WHERE p.id = :id"
                ),
                {"id": post_id},
            )
        ).scalar()
    )


async def update_post(
    conn: AsyncConnection, viewer: Viewer, post_id: int, data: PostUpdate
) -> PostSaved:
    """Edit a post after (or before) publication: its text, its schedule, its needs.

    The row is locked first, so concurrent edits queue; an edit that names the
    ``version`` it read is refused when another edit came in between (409), so no edit
    is lost silently. A published post whose text changed may go back to the centre's
    review (``_review_again``); volunteers who already said yes are told of any change
    to what they agreed to (outbox ``post.updated``)."""
    row = await _managed(conn, viewer, post_id)
    if row.status not in EDITABLE:
        raise Conflict(
            f"a {row.status} post can no longer be edited", {"status": f"is {row.status}"}
        )
    if data.version is not UNSET and data.version != row.version:
        raise Conflict(
            "this post was changed meanwhile: read it again, then make your change",
            {"version": f"is now {row.version}"},
        )
    warnings = screening.check(
        screening.PublicTexts(
            title=None if data.title is UNSET else data.title,
            description=None if data.description is UNSET else data.description,
            skill_tags=None if data.skill_tags is UNSET else data.skill_tags,
        )
    )
    now = clock.now()
    changes: dict[str, Any] = {}
    for field in ("title", "description", "volunteers_needed", "urgency", "language_required"):
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = value.strip() if isinstance(value, str) else value
    if "title" in changes and len(changes["title"]) < 3:
        raise Invalid.field("title", "at least 3 characters besides spaces")
    if data.skill_tags is not UNSET:
        changes["skill_tags"] = _tags(data.skill_tags)
    if data.languages is not UNSET:
        changes["languages"] = sorted(set(data.languages))
    if data.expires_at is not UNSET:
        changes["expires_at"] = _expiry(data.expires_at, now)
    if data.schedule is not UNSET:
        changes.update(_schedule_columns(data.schedule, now, "schedule"))
    changes = {k: v for k, v in changes.items() if k == "slots" or _differs(getattr(row, k), v)}
    if set(changes) == {"slots"}:  # the same schedule, written again
        changes = {}
    if not changes:
        return _saved(_private(row, viewer), warnings)
    held = await _places_held(conn, post_id)
    if changes.get("volunteers_needed", held) < held:
        raise Invalid.field("volunteers_needed", f"{held} volunteer(s) already said yes")
    status = row.status
    if (
        row.status == "published"
        and ("title" in changes or "description" in changes)
        and await _review_again(conn, viewer, post_id, list(row.centre_ids), row.sensitive)
    ):
        status = "in_review"
    assignments = ", ".join(
        f"{k} = CAST(:{k} AS int4multirange)" if k == "slots" else f"{k} = :{k}" for k in changes
    )
    await conn.execute(
        text(
            f"UPDATE posts SET {assignments}, status = :status, version = version + 1, "
            "edited_at = :now, edited_by = :editor WHERE id = :id"
        ),
        {**changes, "status": status, "now": now, "editor": viewer.id, "id": post_id},
    )
    if status != row.status:
        await emit(conn, "post.review_needed", post_id=post_id)
    if held and any(k in changes for k in _AGREED):
        await emit(conn, "post.updated", post_id=post_id, version=row.version + 1)
    return _saved(_private(await _fetch(conn, post_id, private=True), viewer), warnings)


def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, list | tuple) and isinstance(new, list | tuple):
        return list(current) != list(new)
    return bool(current != new)


async def _places_held(conn: AsyncConnection, post_id: int) -> int:
    return int(
        (
            await conn.execute(
                text(
                    "SELECT count(*) FROM matches WHERE post_id = :p AND match_holds_place(status)"
                ),
                {"p": post_id},
            )
        ).scalar_one()
    )


async def _move(
    conn: AsyncConnection,
    viewer: Viewer,
    post_id: int,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str | None = None,
    quotas: Quotas | None = None,
) -> PostPrivate:
    row = await _managed(conn, viewer, post_id)
    if row.status not in allowed_from:
        raise Conflict(f"a {row.status} post cannot become {to}")
    if quotas is not None:  # once the move is allowed, before anything is written
        await quotas.spend(viewer.id, *_quota_actions(row, to))
    await conn.execute(
        text(
            "UPDATE posts SET status = :to, closed_reason = COALESCE(:reason, closed_reason), "
            "published_at = CASE WHEN :to = 'published' THEN now() ELSE published_at END, "
            "expires_at = CASE WHEN :to = 'published' AND expires_at <= now() "
            "THEN now() + make_interval(days => 14) ELSE expires_at END, "
            "withdrawn_at = CASE WHEN :to = 'withdrawn' THEN now() ELSE withdrawn_at END, "
            "withdrawn_by = CASE WHEN :to = 'withdrawn' THEN CAST(:actor AS bigint) "
            "ELSE withdrawn_by END "
            "WHERE id = :id"
        ),
        {"to": to, "reason": reason, "id": post_id, "actor": viewer.id},
    )
    if to == "published":
        await emit(conn, "post.published", post_id=post_id)
    elif to == "in_review":
        await emit(conn, "post.review_needed", post_id=post_id)
    elif to in ("withdrawn", "closed"):
        await emit(conn, f"post.{to}", post_id=post_id)
    return _private(await _fetch(conn, post_id, private=True), viewer)


def _quota_actions(row: Any, to: str) -> tuple[Action, ...]:
    if to == "withdrawn":
        return ("withdraw",)
    if to in ("published", "in_review"):
        # A post that was online before and goes out again is what a prober repeats.
        return ("publish", "republish") if row.published_at is not None else ("publish",)
    return ()


async def publish(
    conn: AsyncConnection, viewer: Viewer, post_id: int, *, quotas: Quotas | None = None
) -> PostPrivate:
    """Publish, or submit for review where a covering centre reviews every post (a
    rejected post, once edited, may be submitted again)."""
    centre_ids = list(
        (
            await conn.execute(
                text("SELECT centre_id FROM post_centres WHERE post_id = :p"), {"p": post_id}
            )
        ).scalars()
    )
    to = "in_review" if await _needs_review(conn, viewer, centre_ids) else "published"
    return await _move(conn, viewer, post_id, ("draft", "expired", "rejected"), to, quotas=quotas)


async def withdraw(
    conn: AsyncConnection,
    viewer: Viewer,
    post_id: int,
    *,
    settings: Settings,
    quotas: Quotas | None = None,
) -> PostPrivate:
    """Withdraw a post; the acting account's withdrawals of posts just published may
    put it on the follow-up list (posts/short_lived.py)."""
    post = await _move(
        conn,
        viewer,
        post_id,
        ("draft", "in_review", "rejected", "published", "matched", "expired"),
        "withdrawn",
        quotas=quotas,
    )
    await short_lived.note_withdrawal(conn, viewer.id, post_id, settings)
    return post


async def close(conn: AsyncConnection, viewer: Viewer, post_id: int, data: CloseIn) -> PostPrivate:
    return await _move(conn, viewer, post_id, ("published", "matched"), "closed", data.reason)


async def expire_due(conn: AsyncConnection) -> int:
    """Published posts past their expiry become expired (run by a worker cron job)."""
    rows = (
        await conn.execute(
            text(
                "UPDATE posts SET status = 'expired' WHERE status = 'published' "
                "AND expires_at <= now() RETURNING id"
            )
        )
    ).all()
    for row in rows:
        await emit(conn, "post.expired", post_id=row.id)
    return len(rows)
