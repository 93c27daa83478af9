"""Right to erasure (RGPD art. 17): everything about one person goes, in PostgreSQL in
one transaction, then in Redis; anonymous statistics stay.

What stays is what a statistic needs and names nobody: the users row as an id with
status 'erased' (the foreign keys of posts, matches, reports and the audit trail point
at it), and posts and matches with their kind, category, dates, status and public
cell. Everything a person wrote or that locates them goes: names and contacts, the
exact point (replaced by the centre of its public cell) and address, titles and
descriptions, every free text they or others wrote about them (conversation texts
included: see ``_CONVERSATIONS``), their sessions, notifications, preferences and stored
responses.

Intergenerational housing: their applications go (birth date, address, exact place,
texts; the steps of the applications with them, by the foreign key's cascade). A pair
they were in stays, anonymous, for the centre's statistics: its link to their
application becomes NULL (the foreign key), and it loses what was written about the
two of them — its documents (the charter and agreement name both and give the host's
address), its steps' notes, both sides' feedback, the follow-up outcomes about it. The
other person's application is theirs and stays as it is. A pair still in progress is
not ended here: the centre ends it with the real reason (its follow-up list keeps
reminding it of the visits due).

Redis holds two things keyed by a person: the login attempt counter of their e-mail
address (an HMAC pseudonym, accounts/ratelimit.py) and the moments of their recent
publications, withdrawals and pauses (by user id, accounts/quotas.py). Their keys are
listed in the erasure's row in the same transaction and deleted after the commit; if
Redis is down, the worker's ``finish_erasures`` sweep deletes them later (they also
expire by themselves at the end of their windows). The per-IP login counters are keyed
by address, not by person, and expire within their window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins.accounts.access import Viewer
from voisins.accounts.quotas import quota_keys
from voisins.accounts.ratelimit import account_key
from voisins.errors import NotFound
from voisins.logs import get_logger
from voisins.matching.lifecycle import close_everything_of
from voisins.schedule import paris_today
from voisins.settings import Settings

log = get_logger(__name__)

ERASED_NAME = "Personne supprimée"
ERASED_TITLE = "Publication supprimée"
# Replaces a free text where a constraint wants one (a cancelled match keeps a reason).
ERASED_TEXT = "[effacé]"
ERASURE_REASON = "compte supprimé (RGPD)"
ERASED_NOTIFICATION = {
    "fr": "Ce contenu a été effacé à la demande de la personne concernée.",
    "en": "This content was erased at the request of the person concerned.",
}
# The reasons the system itself writes into match_history (sql/0003, 0006, this module):
# they name nobody, so they stay for the statistics. Any other reason was typed by
# someone (a review note, a cancellation message) and is blanked.
SYSTEM_REASONS = (
    r"^(places filled|request (closed|withdrawn|expired)"
    r"|volunteer (paused|suspended|erased)|compte supprimé \(RGPD\))$"
)


class Erasure(msgspec.Struct, frozen=True):
    id: int
    user_id: int


async def _subject(conn: AsyncConnection, person_id: int) -> Any:
    row = (
        await conn.execute(
            text(
                "SELECT id, email, phone, display_name, status FROM users WHERE id = :p FOR UPDATE"
            ),
            {"p": person_id},
        )
    ).first()
    if row is None or row.status == "erased":
        raise NotFound("no such account")
    return row


def _json_needles(subject: Any, texts: list[str]) -> list[str]:
    """The person's strings as they appear in a stored JSON response (quoted, escaped)."""
    values = [subject.email, subject.phone, subject.display_name, *texts]
    return sorted({msgspec.json.encode(v).decode() for v in values if v})


async def _forget_stored_responses(
    conn: AsyncConnection, person_id: int, needles: list[str]
) -> None:
    """Idempotency keys replay stored responses: the person's own, and those of the
    social workers who created the person or posted for them, hold personal data."""
    await conn.execute(
        text(
            """
            DELETE FROM idempotency_keys
            WHERE user_id = :p
               OR (body IS NOT NULL AND (
                   EXISTS (SELECT 1 FROM unnest(CAST(:needles AS text[])) AS n(needle)
                           WHERE strpos(convert_from(body, 'UTF8'), n.needle) > 0)
                   OR convert_from(body, 'UTF8') ~ :ids))
            """
        ),
        {"p": person_id, "needles": needles, "ids": f'"(author_id|resident_id)":{person_id}[,}}]'},
    )


_SCRUB_POSTS = """
UPDATE posts SET title = :title, description = '', address = NULL, point = cell_centre,
    skill_tags = '{}', languages = '{}', beneficiary_flags = '{}', review_reason = NULL,
    review_note = NULL,
    closed_reason = CASE WHEN closed_reason IS NULL OR closed_reason = :reason
                         THEN closed_reason ELSE :erased END
WHERE author_id = :p
"""
# Matches on either side: the free texts about them, and the exact distance and score
# components (computed from the person's exact home) rounded away.
_SCRUB_MATCHES = """
UPDATE matches m SET
    close_reason = CASE WHEN m.close_reason IS NULL OR m.close_reason = :reason
                        THEN m.close_reason ELSE :erased END,
    review_reason = CASE WHEN m.review_reason IS NULL THEN NULL ELSE :erased END,
    close_note = CASE WHEN m.close_note IS NULL THEN NULL ELSE :erased END,
    review_note = CASE WHEN m.review_note IS NULL THEN NULL ELSE :erased END,
    distance_m = (m.distance_m / 1000) * 1000,
    score_breakdown = '{}'
WHERE m.id = ANY(:matches)
"""
_SCRUB_HISTORY = """
UPDATE match_history SET reason = NULL
WHERE match_id = ANY(:matches) AND reason IS NOT NULL AND reason !~ :system
"""
# Other people's in-app messages quote the person's post titles.
_SCRUB_OTHERS_NOTIFICATIONS = """
UPDATE notifications n SET body = CASE WHEN u.locale = 'en' THEN :en ELSE :fr END
FROM outbox o, users u
WHERE o.id = n.event_id AND u.id = n.user_id AND n.user_id <> :p
  AND (CAST(o.payload ->> 'post_id' AS bigint) = ANY(:posts)
       OR CAST(o.payload ->> 'match_id' AS bigint) = ANY(:own_matches))
"""
# Conversations (issue 15). Messages are blanked, not deleted: each keeps its place,
# side and date, so the other side's thread still shows "message effacé" where the
# person wrote (a conversation whose replies answer nothing reads as a different
# conversation), and a report naming a message keeps pointing at it. Blanked are the
# messages the person typed (a social worker's, for the residents they acted for too),
# and every message of the person's matches, whoever typed it: for an assisted
# resident, those the social workers wrote for them; from the other side, words written
# to the person, which name them and where they live, as the other side's feedback
# about them goes (above). Their side's shared contacts and read marks go.
_CONVERSATIONS = (
    "UPDATE conversation_messages SET body = NULL, erased_at = :now "
    "WHERE body IS NOT NULL AND (author_id = :p OR match_id = ANY(:matches))",
    "UPDATE conversation_messages SET author_id = NULL WHERE author_id = :p",
    "DELETE FROM contact_shares cs USING matches m JOIN posts p ON p.id = m.post_id "
    "WHERE cs.match_id = m.id AND m.id = ANY(:matches) "
    "AND ((cs.side = 'volunteer' AND m.volunteer_id = :p) "
    "  OR (cs.side = 'requester' AND p.author_id = :p))",
    "DELETE FROM conversation_reads r USING matches m JOIN posts p ON p.id = m.post_id "
    "WHERE r.match_id = m.id AND m.id = ANY(:matches) "
    "AND ((r.side = 'volunteer' AND m.volunteer_id = :p) "
    "  OR (r.side = 'requester' AND p.author_id = :p))",
)
# Housing: the pairs keep their dates, status and end reason for the statistics; what
# was written about the two people goes, then the person's applications (and their
# steps, by the cascade; the pairs' links to them become NULL).
_HOUSING = (
    # A pair still going ends with its person (reason «other», today): the other side's
    # application is free again (closed once they lived together), and the centre's
    # reminders about it go; otherwise it would stay in trial for ever.
    "INSERT INTO housing_steps (pair_id, kind, done_on, outcome) "
    "SELECT id, 'ended', :today, 'noted' FROM housing_pairs "
    "WHERE id = ANY(:housing_pairs) AND status <> 'ended'",
    "UPDATE housing_applications a SET "
    "status = CASE WHEN hp.trial_started_on IS NULL THEN 'open' ELSE 'closed' END, "
    "updated_at = CASE WHEN hp.trial_started_on IS NULL THEN a.updated_at ELSE now() END "
    "FROM housing_pairs hp WHERE hp.id = ANY(:housing_pairs) AND hp.status <> 'ended' "
    "AND a.id IN (hp.host_application_id, hp.young_application_id) "
    "AND a.person_id <> :p AND a.status = 'paired'",
    "UPDATE housing_pairs SET status = 'ended', ended_on = :today, end_reason = 'other' "
    "WHERE id = ANY(:housing_pairs) AND status <> 'ended'",
    "DELETE FROM followups WHERE housing_pair_id = ANY(:housing_pairs) AND contacted_at IS NULL",
    "DELETE FROM housing_documents WHERE pair_id = ANY(:housing_pairs)",
    "UPDATE housing_steps SET note = NULL WHERE pair_id = ANY(:housing_pairs) AND note IS NOT NULL",
    "UPDATE housing_pairs SET host_feedback = NULL, young_feedback = NULL "
    "WHERE id = ANY(:housing_pairs)",
    "UPDATE followups SET outcome = NULL WHERE housing_pair_id = ANY(:housing_pairs) "
    "AND outcome IS NOT NULL",
    "DELETE FROM housing_applications WHERE person_id = :p",
)
_DELETES = (
    "DELETE FROM sessions WHERE user_id = :p",
    "DELETE FROM password_resets WHERE user_id = :p",
    "DELETE FROM notifications WHERE user_id = :p",
    # Before the outbox rows below: a digested delivery names its digest event.
    "DELETE FROM deliveries WHERE user_id = :p",
    "DELETE FROM notification_preferences WHERE user_id = :p",
    # Events addressed to the person alone; reset and confirmation events carry raw tokens.
    "DELETE FROM outbox WHERE topic IN ('password.reset_requested', 'digest', "
    "'account.email_confirm', 'account.email_change_requested', 'account.password_changed', "
    "'account.staff_invited') "
    "AND CAST(payload ->> 'user_id' AS bigint) = :p",
    "DELETE FROM volunteers WHERE user_id = :p",
    "DELETE FROM centre_members WHERE user_id = :p",
    "DELETE FROM blocks WHERE blocker_id = :p OR blocked_id = :p",
)


async def erase(
    conn: AsyncConnection, person_id: int, *, actor: Viewer, settings: Settings, now: datetime
) -> Erasure:
    """Erase ``person_id`` in the caller's transaction; the caller has checked who may
    ask. Call ``finish_redis`` after the commit."""
    subject = await _subject(conn, person_id)
    own_posts = list(
        (
            await conn.execute(text("SELECT id FROM posts WHERE author_id = :p"), {"p": person_id})
        ).scalars()
    )
    texts = [
        t
        for row in (
            await conn.execute(
                text(
                    "SELECT title, description, address FROM posts WHERE author_id = :p "
                    "UNION ALL SELECT NULL, NULL, address FROM volunteers WHERE user_id = :p "
                    "UNION ALL SELECT about, occupation_detail, address "
                    "FROM housing_applications WHERE person_id = :p"
                ),
                {"p": person_id},
            )
        ).all()
        for t in row
        if t
    ]

    # First the status: the triggers withdraw their propositions and cancel their pending
    # deliveries, and the searches below no longer find them.
    await conn.execute(
        text(
            "UPDATE users SET status = 'erased', email = NULL, phone = NULL, display_name = :name, "
            "password_hash = NULL, totp_secret = NULL, totp_enabled_at = NULL, "
            "vulnerability = '{}', suspension_reason = NULL WHERE id = :p"
        ),
        {"p": person_id, "name": ERASED_NAME},
    )
    # Their matches end as after any cancellation (the other side told, requests that
    # lose their volunteer search again), their open posts are withdrawn.
    await close_everything_of(
        conn, person_id, actor_id=actor.id, reason=ERASURE_REASON, settings=settings, now=now
    )
    matches = list(
        (
            await conn.execute(
                text(
                    "SELECT m.id FROM matches m JOIN posts p ON p.id = m.post_id "
                    "WHERE m.volunteer_id = :p OR p.author_id = :p"
                ),
                {"p": person_id},
            )
        ).scalars()
    )
    own_matches = list(
        (
            await conn.execute(
                text("SELECT id FROM matches WHERE post_id = ANY(:posts)"), {"posts": own_posts}
            )
        ).scalars()
    )
    housing_pairs = list(
        (
            await conn.execute(
                text(
                    # Locked first: a document drawn up or a step recorded at the same
                    # time waits for the erasure, or the erasure waits for it and then
                    # sees it (otherwise its PDF or note would outlive the person).
                    "SELECT hp.id FROM housing_applications a JOIN housing_pairs hp "
                    "ON a.id IN (hp.host_application_id, hp.young_application_id) "
                    "WHERE a.person_id = :p ORDER BY hp.id FOR UPDATE OF hp"
                ),
                {"p": person_id},
            )
        ).scalars()
    )
    params: dict[str, Any] = {
        "p": person_id,
        "housing_pairs": housing_pairs,
        "today": paris_today(now),
        "posts": own_posts,
        "matches": matches,
        "own_matches": own_matches,
        "title": ERASED_TITLE,
        "erased": ERASED_TEXT,
        "reason": ERASURE_REASON,
        "system": SYSTEM_REASONS,
        "fr": ERASED_NOTIFICATION["fr"],
        "en": ERASED_NOTIFICATION["en"],
        "now": now,
    }
    await _forget_stored_responses(conn, person_id, _json_needles(subject, texts))
    for statement in (
        _SCRUB_POSTS,
        _SCRUB_MATCHES,
        _SCRUB_HISTORY,
        _SCRUB_OTHERS_NOTIFICATIONS,
        # Comments on their matches: theirs, and the other side's about them.
        "UPDATE feedback SET comment = NULL WHERE comment IS NOT NULL "
        "AND (author_id = :p OR match_id = ANY(:matches))",
        # Reports they filed keep their reason; reports about them lose every text.
        "UPDATE reports SET comment = NULL WHERE reporter_id = :p AND comment IS NOT NULL",
        "UPDATE reports SET comment = NULL, "
        "resolution = CASE WHEN resolution IS NULL THEN NULL ELSE :erased END "
        "WHERE reported_id = :p OR post_id = ANY(:posts)",
        # A consent outlives the account as proof (who, when, how), without its note.
        "UPDATE consents SET note = NULL, withdrawn_at = coalesce(withdrawn_at, :now) "
        "WHERE resident_id = :p",
        "UPDATE followups SET outcome = NULL WHERE outcome IS NOT NULL "
        "AND (person_id = :p OR post_id = ANY(:posts) OR match_id = ANY(:matches))",
        *_CONVERSATIONS,
        *_HOUSING,
        *_DELETES,
    ):
        await conn.execute(text(statement), params)

    redis_keys = [account_key(settings.secret_key, subject.email)] if subject.email else []
    redis_keys += quota_keys(person_id, settings)
    erasure_id = (
        await conn.execute(
            text(
                "INSERT INTO erasures (user_id, requested_by, erased_at, redis_keys, "
                "redis_done_at) VALUES (:p, :by, :now, :keys, "
                "CASE WHEN cardinality(CAST(:keys AS text[])) = 0 THEN CAST(:now AS timestamptz) "
                "END) RETURNING id"
            ),
            {"p": person_id, "by": actor.id, "now": now, "keys": redis_keys},
        )
    ).scalar_one()
    return Erasure(id=int(erasure_id), user_id=person_id)


async def finish_redis(engine: AsyncEngine, redis: Redis, erasure_id: int) -> bool:
    """Delete the erasure's Redis keys, then mark it done. Idempotent; False when Redis
    is unavailable (the worker's sweep tries again)."""
    async with engine.connect() as conn:
        keys = (
            await conn.execute(
                text("SELECT redis_keys FROM erasures WHERE id = :id AND redis_done_at IS NULL"),
                {"id": erasure_id},
            )
        ).scalar()
    if keys is None:
        return True
    if keys:
        try:
            await redis.delete(*keys)
        except RedisError as exc:
            log.warning("erasure left for the Redis sweep", error=type(exc).__name__)
            return False
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE erasures SET redis_keys = '{}', redis_done_at = now() "
                "WHERE id = :id AND redis_done_at IS NULL"
            ),
            {"id": erasure_id},
        )
    return True


async def pending_redis(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text("SELECT id FROM erasures WHERE redis_done_at IS NULL ORDER BY id")
                )
            ).scalars()
        )
