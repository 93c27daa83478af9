"""Posts API: create, read, browse nearby, edit, publish, withdraw, close."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request, Response, Router, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from voisins.api.deps import (
    ANONYMOUS_SEARCH,
    READS_ONLY,
    CurrentViewer,
    GeocoderDep,
    OptionalViewer,
    QuotasDep,
    SettingsDep,
    Tx,
    anonymous_search_limit,
)
from voisins.api.idempotent import IdempotencyKey, idempotent_response
from voisins.api.params import PageQuery, PerPageQuery, RadiusQuery
from voisins.categories import Category
from voisins.errors import Invalid
from voisins.geo.coordinates import validate_point
from voisins.matching import publication
from voisins.pagination import Page
from voisins.posts import editing as post_editing
from voisins.posts import reads as post_reads
from voisins.posts import status as post_status
from voisins.posts.schemas import CloseIn, PostIn, PostPrivate, PostPublic, PostUpdate
from voisins.posts.writing import PostSaved


@post("/posts", operation_id="createPost", summary="Post a request or an offer")
async def create_post(
    request: Request[Any, Any, Any],
    data: JSONBody[PostIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    quotas: QuotasDep,
    idempotency_key: IdempotencyKey = None,
) -> Response[PostSaved]:
    """Texts with a phone number, an e-mail or a street address are refused (422 on the
    field); ``warnings`` tell what else the author may want to change (a person named)."""
    return await idempotent_response(
        tx,
        viewer,
        idempotency_key,
        request,
        data,
        lambda: publication.create_and_match(
            tx, viewer, data, geocoder=geocoder, settings=settings, quotas=quotas
        ),
    )


@get(
    "/posts",
    operation_id="browsePosts",
    summary="Open posts near a place (public cells, 1 km distance bands)",
    # Without signing in, a few searches a second per client IP at most (settings).
    opt={**READS_ONLY, ANONYMOUS_SEARCH: True},
    guards=[anonymous_search_limit],
)
async def browse_posts(
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    near: FromQuery[Literal["point", "me"]] = "point",
    lon: FromQuery[float | None] = None,
    lat: FromQuery[float | None] = None,
    radius_km: RadiusQuery = 5.0,
    category: FromQuery[Category | None] = None,
    kind: FromQuery[Literal["request", "offer"] | None] = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Page[PostPublic]:
    if near == "me":
        if optional_viewer is None:
            raise Invalid.field("near", "'me' needs you to be logged in")
        origin = await post_reads.volunteer_home_cell(tx, optional_viewer)
    elif lon is None or lat is None:
        raise Invalid.field("lon" if lon is None else "lat", "give lon and lat, or near=me")
    else:
        origin = validate_point(lon, lat, field="near")
    return await post_reads.browse(
        tx,
        optional_viewer,
        origin,
        radius_km=radius_km,
        cell_size_m=settings.grid_cell_m,
        category=category,
        kind=kind,
        page=page,
        per_page=per_page,
    )


@get("/me/posts", operation_id="listMyPosts", summary="My posts, newest first", opt=READS_ONLY)
async def my_posts(
    tx: Tx,
    viewer: CurrentViewer,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Page[PostPrivate]:
    return await post_reads.list_mine(tx, viewer, page, per_page)


@get(
    "/posts/{post_id:int}",
    operation_id="getPost",
    summary="A post (exact place only for its author and the centre's social workers)",
)
async def get_post(
    tx: Tx, optional_viewer: OptionalViewer, post_id: FromPath[int]
) -> PostPrivate | PostPublic:
    return await post_reads.get_post(tx, optional_viewer, post_id)


@patch(
    "/posts/{post_id:int}",
    operation_id="updatePost",
    summary="Edit a post's text, schedule or needs (409 once closed or withdrawn, or when "
    "the version given is not the latest)",
)
async def update_post(
    data: JSONBody[PostUpdate], tx: Tx, viewer: CurrentViewer, post_id: FromPath[int]
) -> PostSaved:
    """Only the fields given change. The author, or a social worker acting for them; a
    published post whose text changed may go back to the centre's review; volunteers
    who already said yes are told. Texts are screened as at creation."""
    return await post_editing.update_post(tx, viewer, post_id, data)


@post(
    "/posts/{post_id:int}/publish",
    operation_id="publishPost",
    summary="Publish a draft (or an expired post again)",
    status_code=200,
)
async def publish_post(
    tx: Tx, viewer: CurrentViewer, settings: SettingsDep, quotas: QuotasDep, post_id: FromPath[int]
) -> PostPrivate:
    return await publication.publish_and_match(
        tx, viewer, post_id, settings=settings, quotas=quotas
    )


@post(
    "/posts/{post_id:int}/withdraw",
    operation_id="withdrawPost",
    summary="Withdraw a post",
    status_code=200,
)
async def withdraw_post(
    tx: Tx, viewer: CurrentViewer, settings: SettingsDep, quotas: QuotasDep, post_id: FromPath[int]
) -> PostPrivate:
    return await post_status.withdraw(tx, viewer, post_id, settings=settings, quotas=quotas)


@post(
    "/posts/{post_id:int}/close",
    operation_id="closePost",
    summary="Close a post with a reason",
    status_code=200,
)
async def close_post(
    data: JSONBody[CloseIn], tx: Tx, viewer: CurrentViewer, post_id: FromPath[int]
) -> PostPrivate:
    return await post_status.close(tx, viewer, post_id, data)


router = Router(
    path="/api/v1",
    route_handlers=[
        create_post,
        browse_posts,
        my_posts,
        get_post,
        update_post,
        publish_post,
        withdraw_post,
        close_post,
    ],
    tags=["posts"],
)
