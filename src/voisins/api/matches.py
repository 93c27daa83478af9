"""Matches API: a volunteer's propositions, accepting and declining, following a
request, reviewing, completing, cancelling, feedback, and a weekly arrangement's visits
and end."""

from __future__ import annotations

import msgspec
from litestar import Router, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from voisins import clock
from voisins.api.deps import READS_ONLY, CurrentViewer, SettingsDep, Tx
from voisins.api.params import PageQuery, PerPageQuery
from voisins.matching import checkins, lifecycle, reads
from voisins.matching.schemas import (
    Feedback,
    FeedbackIn,
    HistoryEntry,
    MatchStatus,
    PostAnswers,
    Proposition,
    ReasonIn,
)
from voisins.moderation import review
from voisins.moderation.review import StaffReasonIn
from voisins.pagination import Page


class MatchState(msgspec.Struct):
    id: int
    status: MatchStatus


@get(
    "/me/propositions",
    operation_id="listPropositions",
    summary="Proposed matches for me (distance bands; no identity before confirmation)",
    opt=READS_ONLY,
)
async def list_propositions(
    tx: Tx,
    viewer: CurrentViewer,
    active: FromQuery[bool] = True,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Page[Proposition]:
    return await reads.list_propositions(
        tx, viewer, active_only=active, page=page, per_page=per_page
    )


@get("/me/propositions/{match_id:int}", operation_id="getProposition", summary="One proposition")
async def get_proposition(tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]) -> Proposition:
    return await reads.get_proposition(tx, viewer, match_id)


@post(
    "/matches/{match_id:int}/accept",
    operation_id="acceptMatch",
    summary="Accept a proposition (confirmed at once, or after review when sensitive)",
    status_code=200,
)
async def accept(tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]) -> MatchState:
    return MatchState(match_id, await lifecycle.accept(tx, viewer, match_id, now=clock.now()))  # type: ignore[arg-type]


@post(
    "/matches/{match_id:int}/decline",
    operation_id="declineMatch",
    summary="Decline a proposition",
    status_code=200,
)
async def decline(
    tx: Tx, viewer: CurrentViewer, settings: SettingsDep, match_id: FromPath[int]
) -> MatchState:
    status = await lifecycle.decline(tx, viewer, match_id, settings, now=clock.now())
    return MatchState(match_id, status)  # type: ignore[arg-type]


@post(
    "/matches/{match_id:int}/approve",
    operation_id="approveMatch",
    summary="Approve a sensitive match after review (covering centre's social workers)",
    status_code=200,
)
async def approve(
    data: JSONBody[StaffReasonIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    match_id: FromPath[int],
) -> MatchState:
    return await _decide(data, tx, viewer, settings, match_id, approve=True)


@post(
    "/matches/{match_id:int}/reject",
    operation_id="rejectMatch",
    summary="Reject a sensitive match after review; the next candidate is proposed",
    status_code=200,
)
async def reject(
    data: JSONBody[StaffReasonIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    match_id: FromPath[int],
) -> MatchState:
    return await _decide(data, tx, viewer, settings, match_id, approve=False)


async def _decide(
    data: StaffReasonIn,
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    match_id: int,
    *,
    approve: bool,
) -> MatchState:
    """The review decision both handlers send: the same reason and message, one flag."""
    status = await review.decide_match(
        tx, viewer, match_id, approve=approve, reason=data.internal(), message=data.outward(),
        settings=settings, now=clock.now(),
    )  # fmt: skip
    return MatchState(match_id, status)  # type: ignore[arg-type]


@post(
    "/matches/{match_id:int}/cancel",
    operation_id="cancelMatch",
    summary="Cancel an accepted or confirmed match, with a reason",
    status_code=200,
)
async def cancel(
    data: JSONBody[ReasonIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    match_id: FromPath[int],
) -> MatchState:
    status = await lifecycle.cancel(tx, viewer, match_id, data.reason, settings, now=clock.now())
    return MatchState(match_id, status)  # type: ignore[arg-type]


@post(
    "/matches/{match_id:int}/complete",
    operation_id="completeMatch",
    summary="Mark the help as done",
    status_code=200,
)
async def complete(tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]) -> MatchState:
    status = await lifecycle.complete(tx, viewer, match_id, now=clock.now())
    return MatchState(match_id, status)  # type: ignore[arg-type]


@post(
    "/matches/{match_id:int}/feedback",
    operation_id="giveFeedback",
    summary="Thank the other side, or report a no-show",
)
async def feedback(
    data: JSONBody[FeedbackIn], tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]
) -> Feedback:
    return await lifecycle.give_feedback(tx, viewer, match_id, data)


@get(
    "/matches/{match_id:int}/history",
    operation_id="matchHistory",
    summary="Every transition of a match: who, when, from, to",
)
async def match_history(
    tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]
) -> list[HistoryEntry]:
    return await reads.history(tx, viewer, match_id)


@get(
    "/matches/{match_id:int}/visits",
    operation_id="listVisits",
    summary="The visits of a weekly arrangement, newest first: day, who, note (its two sides)",
)
async def list_visits(
    tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]
) -> list[checkins.CheckinEntry]:
    return await checkins.list_visits(tx, viewer, match_id)


@post(
    "/matches/{match_id:int}/stop",
    operation_id="stopArrangement",
    summary="End a weekly arrangement for good, with an optional reason (one-off help: 409)",
    status_code=200,
)
async def stop_arrangement(
    data: JSONBody[checkins.StopIn], tx: Tx, viewer: CurrentViewer, match_id: FromPath[int]
) -> MatchState:
    status = await lifecycle.stop_arrangement(tx, viewer, match_id, data.reason, now=clock.now())
    return MatchState(match_id, status)  # type: ignore[arg-type]


@get(
    "/posts/{post_id:int}/matches",
    operation_id="listPostMatches",
    summary="Where my request stands: how many were asked, who said yes",
)
async def post_matches(tx: Tx, viewer: CurrentViewer, post_id: FromPath[int]) -> PostAnswers:
    return await reads.post_matches(tx, viewer, post_id)


router = Router(
    path="/api/v1",
    route_handlers=[
        list_propositions,
        get_proposition,
        accept,
        decline,
        approve,
        reject,
        cancel,
        complete,
        feedback,
        match_history,
        list_visits,
        stop_arrangement,
        post_matches,
    ],
    tags=["matches"],
)
