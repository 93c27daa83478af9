"""The centre social workspace: review queue, post review, vetting record, follow-up
list, reports, blocks, suspension, and check-ins of recurring visits."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from voisins import clock
from voisins.api.deps import CurrentViewer, SettingsDep, Tx
from voisins.api.idempotent import IdempotencyKey, idempotent_response
from voisins.api.params import PageQuery, PerPageQuery
from voisins.moderation import followups, review, safeguarding
from voisins.moderation.followups import Checkin, CheckinIn, ContactIn, Followup
from voisins.moderation.review import QueueItem, ReviewDecisionIn
from voisins.moderation.safeguarding import (
    Block,
    Blocked,
    BlockIn,
    Report,
    ReportFiled,
    ReportIn,
    ResolveIn,
    SuspendIn,
    Suspension,
)
from voisins.pagination import Page
from voisins.schedule import paris_today


class PostDecision(msgspec.Struct):
    id: int
    status: str


@get(
    "/moderation/queue",
    operation_id="listReviewQueue",
    summary="Matches and posts waiting for my review, oldest first (social workers)",
)
async def review_queue(
    tx: Tx, viewer: CurrentViewer, page: PageQuery = 1, per_page: PerPageQuery = 20
) -> Page[QueueItem]:
    return await review.review_queue(tx, viewer, page=page, per_page=per_page)


@post(
    "/moderation/posts/{post_id:int}/approve",
    operation_id="approvePost",
    summary="Let a post through review: it is published and matched (social workers)",
    status_code=200,
)
async def approve_post(
    data: JSONBody[ReviewDecisionIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    post_id: FromPath[int],
) -> PostDecision:
    status = await review.approve_post(
        tx, viewer, post_id, data.internal(), settings=settings, now=clock.now(),
        message=data.outward(),
    )  # fmt: skip
    return PostDecision(post_id, status)


@post(
    "/moderation/posts/{post_id:int}/reject",
    operation_id="rejectPost",
    summary="Refuse a post: an internal note (never sent) and, if any, a message the author "
    "reads (social workers)",
    status_code=200,
)
async def reject_post(
    data: JSONBody[ReviewDecisionIn], tx: Tx, viewer: CurrentViewer, post_id: FromPath[int]
) -> PostDecision:
    status = await review.reject_post(
        tx, viewer, post_id, data.internal(), now=clock.now(), message=data.outward()
    )
    return PostDecision(post_id, status)


@get(
    "/moderation/followups",
    operation_id="listFollowups",
    summary="People my centres should reach out to (aller-vers), open ones first",
)
async def list_followups(
    tx: Tx,
    viewer: CurrentViewer,
    open: FromQuery[bool] = True,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Page[Followup]:
    return await followups.list_followups(tx, viewer, open_only=open, page=page, per_page=per_page)


@post(
    "/moderation/followups/{followup_id:int}/contact",
    operation_id="recordFollowupContact",
    summary="Record that someone was contacted: when, by me, with what outcome",
    status_code=200,
)
async def record_contact(
    data: JSONBody[ContactIn], tx: Tx, viewer: CurrentViewer, followup_id: FromPath[int]
) -> Followup:
    return await followups.record_contact(tx, viewer, followup_id, data, now=clock.now())


@post(
    "/matches/{match_id:int}/checkins",
    operation_id="recordCheckin",
    summary="Say that a visit of a recurring match took place",
)
async def record_checkin(
    request: Request[Any, Any, Any],
    data: JSONBody[CheckinIn],
    tx: Tx,
    viewer: CurrentViewer,
    match_id: FromPath[int],
    idempotency_key: IdempotencyKey = None,
) -> Response[Checkin]:
    today = paris_today(clock.now())
    return await idempotent_response(
        tx, viewer, idempotency_key, request, data,
        lambda: followups.record_checkin(tx, viewer, match_id, data, today=today),
    )  # fmt: skip


@post(
    "/reports",
    operation_id="createReport",
    summary="Report a post or the other side of one of my matches",
)
async def create_report(
    request: Request[Any, Any, Any],
    data: JSONBody[ReportIn],
    tx: Tx,
    viewer: CurrentViewer,
    idempotency_key: IdempotencyKey = None,
) -> Response[ReportFiled]:
    return await idempotent_response(
        tx, viewer, idempotency_key, request, data,
        lambda: safeguarding.file_report(tx, viewer, data),
    )  # fmt: skip


@get(
    "/moderation/reports",
    operation_id="listReports",
    summary="Reports that reached my centres (social workers)",
)
async def list_reports(
    tx: Tx,
    viewer: CurrentViewer,
    open: FromQuery[bool] = True,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Page[Report]:
    return await safeguarding.list_reports(tx, viewer, open_only=open, page=page, per_page=per_page)


@post(
    "/moderation/reports/{report_id:int}/resolve",
    operation_id="resolveReport",
    summary="Close a report with what was done (social workers)",
    status_code=200,
)
async def resolve_report(
    data: JSONBody[ResolveIn], tx: Tx, viewer: CurrentViewer, report_id: FromPath[int]
) -> Report:
    return await safeguarding.resolve_report(tx, viewer, report_id, data)


@post(
    "/me/blocks",
    operation_id="blockPerson",
    summary="Block the other side of a match or a post's author: nothing more either way "
    "(the same answer whether they were blocked already)",
)
async def block_person(
    request: Request[Any, Any, Any],
    data: JSONBody[BlockIn],
    tx: Tx,
    viewer: CurrentViewer,
    idempotency_key: IdempotencyKey = None,
) -> Response[Blocked]:
    return await idempotent_response(
        tx, viewer, idempotency_key, request, data,
        lambda: safeguarding.block(tx, viewer, data),
    )  # fmt: skip


@get("/me/blocks", operation_id="listBlocks", summary="People I blocked")
async def list_blocks(tx: Tx, viewer: CurrentViewer) -> list[Block]:
    return await safeguarding.list_blocks(tx, viewer)


@delete("/me/blocks/{block_id:int}", operation_id="unblockPerson", summary="Lift a block")
async def unblock_person(tx: Tx, viewer: CurrentViewer, block_id: FromPath[int]) -> None:
    await safeguarding.unblock(tx, viewer, block_id)


@post(
    "/moderation/people/{person_id:int}/suspend",
    operation_id="suspendPerson",
    summary="Suspend a person: propositions, notifications and open matches end at once",
    status_code=200,
)
async def suspend_person(
    data: JSONBody[SuspendIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    person_id: FromPath[int],
) -> Suspension:
    return await safeguarding.suspend(
        tx, viewer, person_id, data, settings=settings, now=clock.now()
    )


@post(
    "/moderation/people/{person_id:int}/reinstate",
    operation_id="reinstatePerson",
    summary="Lift a suspension (social workers)",
    status_code=200,
)
async def reinstate_person(
    data: JSONBody[SuspendIn], tx: Tx, viewer: CurrentViewer, person_id: FromPath[int]
) -> Suspension:
    return await safeguarding.reinstate(tx, viewer, person_id, data)


router = Router(
    path="/api/v1",
    route_handlers=[
        review_queue,
        approve_post,
        reject_post,
        list_followups,
        record_contact,
        record_checkin,
        create_report,
        list_reports,
        resolve_report,
        block_person,
        list_blocks,
        unblock_person,
        suspend_person,
        reinstate_person,
    ],
)
