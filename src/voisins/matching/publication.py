"""Publishing a post and matching it, in one transaction: the matcher runs as soon as
a post is published, and its proposals commit with it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.accounts.quotas import Quotas
from voisins.geo.geocoder import Geocoder
from voisins.matching.engine import match_post
from voisins.posts import status as post_status
from voisins.posts import writing as post_writing
from voisins.posts.schemas import PostIn, PostPrivate
from voisins.settings import Settings


async def create_and_match(
    conn: AsyncConnection,
    viewer: Viewer,
    data: PostIn,
    *,
    geocoder: Geocoder,
    settings: Settings,
    quotas: Quotas | None = None,
) -> PostPrivate:
    post = await post_writing.create_post(
        conn, viewer, data, geocoder=geocoder, cell_size_m=settings.grid_cell_m, quotas=quotas
    )
    if post.status == "published":
        await match_post(conn, post.id, settings, now=clock.now())
    return post


async def publish_and_match(
    conn: AsyncConnection,
    viewer: Viewer,
    post_id: int,
    *,
    settings: Settings,
    quotas: Quotas | None = None,
) -> PostPrivate:
    post = await post_status.publish(conn, viewer, post_id, quotas=quotas)
    if post.status == "published":  # not when it waits for the centre's review
        await match_post(conn, post.id, settings, now=clock.now())
    return post
