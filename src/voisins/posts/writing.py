"""Writing a new post: its checks (schedule, expiry, tags, text screening), its place
and covering centres, whether it waits for review, and the outbox row of its
publication. Editing is posts/editing.py; moving it through its life, posts/status.py.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.accounts.quotas import Quotas
from voisins.categories import is_sensitive
from voisins.centres.service import covering_centres
from voisins.errors import Forbidden, Invalid
from voisins.geo import sql as geosql
from voisins.geo.geocoder import Geocoder
from voisins.locations import resolve
from voisins.outbox import emit
from voisins.posts import screening
from voisins.posts.reads import fetch_row, private_view
from voisins.posts.schemas import OnceIn, PostIn, PostPrivate, ScheduleIn
from voisins.schedule import clock_minutes, once_slots, to_multirange, weekly_slots


class PostSaved(PostPrivate, kw_only=True):
    """What creating or editing a post answers: the post, and what its author may want
    to change in its public texts (it is saved all the same; posts/screening.py)."""

    warnings: list[screening.TextWarning] = []


def saved(post: PostPrivate, warnings: list[screening.TextWarning]) -> PostSaved:
    return PostSaved(**msgspec.structs.asdict(post), warnings=warnings)


DEFAULT_LIFETIME = timedelta(days=14)
MAX_LIFETIME = timedelta(days=90)
# Tolerance for clocks of phones and for the time a form takes to fill.
CLOCK_SKEW = timedelta(minutes=5)


def schedule_columns(schedule: ScheduleIn, now: datetime, field: str) -> dict[str, Any]:
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


def expiry(expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is None:
        return now + DEFAULT_LIFETIME
    if expires_at <= now:
        raise Invalid.field("expires_at", "is in the past")
    if expires_at > now + MAX_LIFETIME:
        raise Invalid.field("expires_at", "at most 90 days ahead")
    return expires_at


def normalised_tags(tags: list[str]) -> list[str]:
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
        **schedule_columns(data.schedule, now, "schedule"),
        "expires_at": expiry(data.expires_at, now),
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
        status = "in_review" if await needs_review(conn, viewer, centre_ids) else "published"
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
                "skill_tags": normalised_tags(data.skill_tags),
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
    row = await fetch_row(conn, post_id, private=True)
    return saved(private_view(row, viewer), warnings)


async def needs_review(conn: AsyncConnection, viewer: Viewer, centre_ids: list[int]) -> bool:
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
