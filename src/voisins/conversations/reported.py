"""A conversation read through a report: the one way anybody but its two sides reads
it — the social workers of the centres a report reached, or the administrators for a
report no centre covers — as it stood when the report was filed, audited.

The two sides' own reading and writing is conversations/service.py's.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.conversations.schemas import Message, ReportedConversation
from voisins.conversations.service import messages_of
from voisins.errors import Forbidden, NotFound

# How many messages a report brings in at most: the most recent ones.
REPORT_MESSAGES = 500


async def for_report(conn: AsyncConnection, viewer: Viewer, report_id: int) -> ReportedConversation:
    """The conversation a report names, as it stood when the report was filed, for the
    social workers of the centres the report reached (the administrators for a report no
    centre covers) — never for the reported person, a social worker who wrote for an
    assisted resident. What is written after the report stays the two sides' own: a
    report brings in what it is about, not the conversation for good. Audited: each
    reading is a trace with the report's id."""
    if not (viewer.is_social_worker or viewer.is_admin):
        raise Forbidden("only social workers and administrators handle reports")
    row = (
        await conn.execute(
            text(
                "SELECT r.id, r.match_id, r.message_id, m.post_id, "
                "a.display_name AS requester_name, v.display_name AS volunteer_name, "
                "EXISTS (SELECT 1 FROM report_centres rc WHERE rc.report_id = r.id "
                "        AND rc.centre_id = ANY(:centres)) AS ours, "
                "NOT EXISTS (SELECT 1 FROM report_centres rc WHERE rc.report_id = r.id) "
                "    AS nobody_covers, "
                "(SELECT max(c.id) FROM conversation_messages c WHERE c.match_id = r.match_id "
                "    AND c.created_at <= r.created_at) AS last_before "
                "FROM reports r JOIN matches m ON m.id = r.match_id "
                "JOIN posts p ON p.id = m.post_id JOIN users a ON a.id = p.author_id "
                "JOIN users v ON v.id = m.volunteer_id "
                "WHERE r.id = :r AND r.match_id IS NOT NULL "
                "AND r.reported_id IS DISTINCT FROM :me"
            ),
            {"r": report_id, "centres": list(viewer.centre_ids), "me": viewer.id},
        )
    ).first()
    allowed = row is not None and (
        (viewer.is_social_worker and row.ours) or (viewer.is_admin and row.nobody_covers)
    )
    if row is None or not allowed:
        raise NotFound("no conversation attached to this report for you")
    await audit.record(conn, viewer, "conversation.read_for_report", "report", report_id)
    messages: list[Message] = []
    if row.last_before is not None:
        messages = await messages_of(
            conn, row.match_id, None, after=None, before=row.last_before + 1, limit=REPORT_MESSAGES
        )
    return ReportedConversation(
        report_id=row.id,
        match_id=row.match_id,
        post_id=row.post_id,
        reported_message_id=row.message_id,
        requester_name=row.requester_name,
        volunteer_name=row.volunteer_name,
        messages=messages,
    )
