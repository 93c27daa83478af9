"""GDPR (RGPD): the right of access and portability, the right to erasure — for oneself,
or by the social worker acting for an assisted resident — and the retention of support
records.

- Export: ``gdpr_export.personal_data``; erasure: ``gdpr_erase.erase`` (PostgreSQL, one
  transaction) then ``gdpr_erase.finish_redis`` after the commit.
- Retention, run by the housekeeping jobs of the same names (housekeeping.py):
  ``apply_retention`` daily — support records are anonymised ``support_retention_days``
  (two years by default) after the last contact (``last_contact_at`` in
  sql/0009_gdpr.sql, with housing since sql/0022), conversation texts as long after they
  were written, and the audit trail is purged after 12 months;
  ``finish_erasures`` finishes the Redis part of erasures that met a Redis outage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins import audit, clock
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.errors import Invalid, NotFound
from voisins.moderation import gdpr_erase
from voisins.moderation.gdpr_erase import ERASED_TEXT, SYSTEM_REASONS
from voisins.moderation.gdpr_export import PersonalData, personal_data
from voisins.request_bodies import Input
from voisins.settings import Settings


class ErasureIn(Input):
    """Erasure cannot be undone: the caller says so with ``{"confirm": true}``."""

    confirm: bool = False


class Erased(msgspec.Struct, kw_only=True):
    status: Literal["erased"] = "erased"
    erasure_id: int
    message: str
    message_en: str


def _confirmed(data: ErasureIn) -> None:
    if data.confirm is not True:
        raise Invalid.field("confirm", "must be true: erasure cannot be undone")


async def _acting_for(conn: AsyncConnection, viewer: Viewer, resident_id: int) -> None:
    if not await can_act_for(conn, viewer, resident_id):
        raise NotFound("no such assisted resident in your centres")


async def export_mine(conn: AsyncConnection, viewer: Viewer) -> PersonalData:
    await audit.record(conn, viewer, "gdpr.export", "user", viewer.id)
    return await personal_data(conn, viewer.id, now=clock.now())


async def export_for_resident(
    conn: AsyncConnection, viewer: Viewer, resident_id: int
) -> PersonalData:
    await _acting_for(conn, viewer, resident_id)
    await audit.record(conn, viewer, "gdpr.export", "user", resident_id)
    return await personal_data(conn, resident_id, now=clock.now())


async def erase_mine(
    conn: AsyncConnection, viewer: Viewer, data: ErasureIn, *, settings: Settings
) -> Erased:
    _confirmed(data)
    erasure = await gdpr_erase.erase(
        conn, viewer.id, actor=viewer, settings=settings, now=clock.now()
    )
    await audit.record(conn, viewer, "gdpr.erase", "user", viewer.id)
    return Erased(
        erasure_id=erasure.id,
        message="Votre compte et vos données ont été supprimés. Merci d'avoir aidé vos voisins.",
        message_en="Your account and your data were erased.",
    )


async def erase_for_resident(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, data: ErasureIn, *, settings: Settings
) -> Erased:
    await _acting_for(conn, viewer, resident_id)
    _confirmed(data)
    erasure = await gdpr_erase.erase(
        conn, resident_id, actor=viewer, settings=settings, now=clock.now()
    )
    await audit.record(conn, viewer, "gdpr.erase", "user", resident_id)
    return Erased(
        erasure_id=erasure.id,
        message="Le compte et les données de cette personne ont été supprimés.",
        message_en="This person's account and data were erased.",
    )


async def finish_erasure(engine: AsyncEngine, redis: Redis, erasure_id: int) -> None:
    """After the commit: the Redis part (a background task of the response)."""
    await gdpr_erase.finish_redis(engine, redis, erasure_id)


# ---------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------

# Each statement anonymises one kind of support record once both the record and the
# last contact with the people it concerns are older than the cut-off
# (``support_retention_days``); each skips what is already anonymised, so a run that
# repeats changes nothing.
_RETENTION: dict[str, str] = {
    # A housing pair's item concerns its two people: neither may have been in contact.
    "followup_outcomes": """
        UPDATE followups f SET outcome = NULL
        WHERE f.outcome IS NOT NULL
          AND coalesce(f.contacted_at, f.created_at) < :cutoff
          AND coalesce(last_contact_at(coalesce(
                f.person_id,
                (SELECT author_id FROM posts WHERE id = f.post_id),
                (SELECT p.author_id FROM matches m JOIN posts p ON p.id = m.post_id
                 WHERE m.id = f.match_id))), '-infinity') < :cutoff
          AND NOT EXISTS (
                SELECT 1 FROM housing_pairs hp JOIN housing_applications a
                    ON a.id IN (hp.host_application_id, hp.young_application_id)
                WHERE hp.id = f.housing_pair_id AND last_contact_at(a.person_id) >= :cutoff)
    """,
    # Intergenerational housing: a pair ended before the cut-off (a French day), whose
    # two people have had no contact since, loses its steps' notes, both sides'
    # feedback and its documents; its dates, status and end reason stay for the
    # statistics. (A side erased already has no application: nothing to wait for.)
    "housing_pairs": """
        WITH old AS (
            SELECT hp.id FROM housing_pairs hp
            LEFT JOIN housing_applications ha ON ha.id = hp.host_application_id
            LEFT JOIN housing_applications ya ON ya.id = hp.young_application_id
            WHERE hp.status = 'ended'
              AND hp.ended_on < CAST(CAST(:cutoff AS timestamptz) AT TIME ZONE 'Europe/Paris'
                                     AS date)
              AND (hp.host_feedback IS NOT NULL OR hp.young_feedback IS NOT NULL
                   OR EXISTS (SELECT 1 FROM housing_steps s
                              WHERE s.pair_id = hp.id AND s.note IS NOT NULL)
                   OR EXISTS (SELECT 1 FROM housing_documents d WHERE d.pair_id = hp.id))
              AND (ha.person_id IS NULL OR last_contact_at(ha.person_id) < :cutoff)
              AND (ya.person_id IS NULL OR last_contact_at(ya.person_id) < :cutoff)
        ), notes AS (
            UPDATE housing_steps s SET note = NULL FROM old
            WHERE s.pair_id = old.id AND s.note IS NOT NULL
        ), documents AS (
            DELETE FROM housing_documents d USING old WHERE d.pair_id = old.id
        )
        UPDATE housing_pairs hp SET host_feedback = NULL, young_feedback = NULL
        FROM old WHERE hp.id = old.id
    """,
    # An application withdrawn or closed before the cut-off, its person out of contact
    # since, goes whole: its address, exact place, birth date and habits were asked for
    # a pairing that is over, and its interview notes with it (steps cascade). A pair it
    # was in stays, anonymous, for the statistics (sql/0021: ON DELETE SET NULL).
    "housing_applications": """
        DELETE FROM housing_applications a
        WHERE a.status IN ('withdrawn', 'closed') AND a.updated_at < :cutoff
          AND last_contact_at(a.person_id) < :cutoff
    """,
    "consent_notes": """
        UPDATE consents c SET note = NULL
        WHERE c.note IS NOT NULL
          AND greatest(c.recorded_at, c.withdrawn_at) < :cutoff
          AND last_contact_at(c.resident_id) < :cutoff
    """,
    "report_texts": """
        UPDATE reports r SET comment = NULL,
            resolution = CASE WHEN r.resolution IS NULL THEN NULL ELSE :erased END
        WHERE (r.comment IS NOT NULL OR r.resolution <> :erased)
          AND greatest(r.created_at, r.resolved_at) < :cutoff
          AND (r.reported_id IS NULL OR last_contact_at(r.reported_id) < :cutoff)
          AND (r.reporter_id IS NULL OR last_contact_at(r.reporter_id) < :cutoff)
    """,
    "post_review_reasons": """
        UPDATE posts p SET review_reason = NULL, review_note = NULL
        WHERE (p.review_reason IS NOT NULL OR p.review_note IS NOT NULL)
          AND greatest(p.created_at, p.reviewed_at) < :cutoff
          AND last_contact_at(p.author_id) < :cutoff
    """,
    # A match's typed reasons live on the match and in its history (a review note is
    # also copied into the history of the propositions it caused).
    "match_reasons": """
        WITH old AS (
            SELECT m.id FROM matches m JOIN posts p ON p.id = m.post_id
            WHERE greatest(m.proposed_at, m.responded_at, m.confirmed_at, m.closed_at) < :cutoff
              AND (m.close_reason <> :erased OR m.review_reason <> :erased
                   OR m.close_note <> :erased OR m.review_note <> :erased
                   OR EXISTS (SELECT 1 FROM match_history h WHERE h.match_id = m.id
                              AND h.reason !~ :system))
              AND last_contact_at(m.volunteer_id) < :cutoff
              AND last_contact_at(p.author_id) < :cutoff
        ), history AS (
            UPDATE match_history h SET reason = NULL FROM old
            WHERE h.match_id = old.id AND h.reason !~ :system
        )
        UPDATE matches m SET
            close_reason = CASE WHEN m.close_reason IS NULL THEN NULL ELSE :erased END,
            review_reason = CASE WHEN m.review_reason IS NULL THEN NULL ELSE :erased END,
            close_note = CASE WHEN m.close_note IS NULL THEN NULL ELSE :erased END,
            review_note = CASE WHEN m.review_note IS NULL THEN NULL ELSE :erased END
        FROM old WHERE m.id = old.id
    """,
    # Conversation texts (issue 15): a message keeps its place (side, date, who wrote
    # it) with its text gone, so the other side's thread still reads "message effacé"
    # where it was. The clock is each message's own date, not the match's end: every
    # message is a record of its own, and a weekly visit that goes on for years would
    # otherwise keep years of texts; a conversation still used loses only what is older
    # than the retention period. (It also lets the run walk the partial index on the
    # unerased messages' dates.) A conversation brought to a centre by a report still
    # open keeps its texts until the report is resolved: they are its evidence.
    "conversation_texts": """
        UPDATE conversation_messages c SET body = NULL, erased_at = :now
        WHERE c.body IS NOT NULL
          AND c.created_at < :cutoff
          AND NOT EXISTS (SELECT 1 FROM reports r
                          WHERE r.match_id = c.match_id AND r.resolved_at IS NULL)
    """,
}


async def anonymise_support_records(
    conn: AsyncConnection, *, settings: Settings, now: datetime
) -> dict[str, int]:
    cutoff = (
        await conn.execute(
            text("SELECT CAST(:now AS timestamptz) - make_interval(days => :days)"),
            {"now": now, "days": settings.support_retention_days},
        )
    ).scalar_one()
    params = {
        "cutoff": cutoff,
        "now": now,
        "erased": ERASED_TEXT,
        "system": SYSTEM_REASONS,
    }
    return {
        name: int((await conn.execute(text(sql), params)).rowcount)
        for name, sql in _RETENTION.items()
    }


async def apply_retention(
    conn: AsyncConnection, *, settings: Settings, now: datetime
) -> dict[str, int]:
    """Support records and conversation texts ``support_retention_days`` after the last
    contact (after they were written, for the texts), audit traces after 12 months."""
    counts = await anonymise_support_records(conn, settings=settings, now=now)
    counts["audit_log"] = await audit.purge_expired(conn)
    return counts


async def finish_erasures(engine: AsyncEngine, redis: Redis) -> int:
    """Erasures whose Redis part met an outage: finish them (idempotent)."""
    done = 0
    for erasure_id in await gdpr_erase.pending_redis(engine):
        if not await gdpr_erase.finish_redis(engine, redis, erasure_id):
            break  # Redis is still down: the next run tries again
        done += 1
    return done
