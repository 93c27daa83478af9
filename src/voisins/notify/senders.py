"""From claimed deliveries to channel calls: the recipient's address, the message's
few template values, and the channel configured for it. A ``SendBatch`` serves the
deliveries of one job: one query for their recipients, one SMTP connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins.accounts import links
from voisins.accounts.addresses import CONFIRM_TTL
from voisins.accounts.users import INVITATION_TTL
from voisins.categories import LABELS
from voisins.geo.bands import public_distance
from voisins.geo.grid import Cell
from voisins.links import page_url
from voisins.notify.channels.base import (
    ContextValue,
    Message,
    PermanentError,
    Scalar,
    TransientError,
)
from voisins.notify.channels.config import SmsConfig, SmtpConfig
from voisins.notify.channels.email import EmailChannel, SmtpSession
from voisins.notify.channels.sms import SmsChannel
from voisins.notify.channels.webhook import WebhookChannel
from voisins.notify.inbox_texts import (
    INBOX_PAGE,
    OUTCOME_COLUMNS,
    link_for,
    moment_label,
    post_facts,
    render,
)
from voisins.notify.safe_urls import AddressPolicy
from voisins.settings import Settings

__all__ = ["PermanentError", "SendBatch", "Senders", "TransientError"]

# What a message says: the event, the request it is about, the recipient's public cell
# (for the distance band). One row per (event, recipient).
_FACT_COLUMNS = f"""
o.topic, o.payload, m.id AS match_id, p.id AS post_id, p.title, p.category, p.cell_key AS post_cell,
v.cell_key AS volunteer_cell, m.review_reason, m.close_reason, m.deadline_at,
m.volunteer_id, p.review_reason AS post_review_reason,
{OUTCOME_COLUMNS.format(topic="o.topic")}
"""
_FACT_JOINS = """
LEFT JOIN matches m ON m.id = CAST(o.payload ->> 'match_id' AS bigint)
LEFT JOIN posts p ON p.id = COALESCE(m.post_id, CAST(o.payload ->> 'post_id' AS bigint))
"""
_FACTS = f"""
SELECT {_FACT_COLUMNS} FROM outbox o {_FACT_JOINS}
LEFT JOIN volunteers v ON v.user_id = :user_id
WHERE o.id = :event_id
"""
# The same for a whole chunk of deliveries, in one query.
_CHUNK_FACTS = f"""
SELECT c.delivery_id, {_FACT_COLUMNS}
FROM unnest(CAST(:deliveries AS bigint[]), CAST(:events AS bigint[]),
            CAST(:users AS bigint[])) AS c(delivery_id, event_id, user_id)
JOIN outbox o ON o.id = c.event_id {_FACT_JOINS}
LEFT JOIN volunteers v ON v.user_id = c.user_id
"""


@dataclass
class Senders:
    """The channels this worker can use; e-mail and SMS are off until configured."""

    settings: Settings
    email: EmailChannel | None
    sms: SmsChannel | None
    webhook: WebhookChannel

    @classmethod
    def from_settings(cls, settings: Settings) -> Senders:
        email = None
        if settings.smtp_host:
            email = EmailChannel(
                SmtpConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username or None,
                    password=settings.smtp_password or None,
                    starttls=settings.smtp_starttls,
                    sender=settings.smtp_sender,
                    timeout_s=settings.smtp_timeout_s,
                    helo_name="voisins",
                ),
                settings.public_base_url,
                settings.secret_key,
            )
        sms = None
        if settings.sms_url:
            sms = SmsChannel(
                SmsConfig(url=settings.sms_url, token=settings.sms_token or None,
                          sender=settings.sms_sender)
            )  # fmt: skip
        webhook = WebhookChannel(policy=AddressPolicy.from_settings(settings))
        return cls(settings, email, sms, webhook)

    @property
    def enabled(self) -> frozenset[str]:
        channels = {"inapp", "webhook"}
        if self.email:
            channels.add("email")
        if self.sms:
            channels.add("sms")
        return frozenset(channels)

    async def _context(
        self,
        engine: AsyncEngine,
        claim: Any,
        locale: str,
        facts: Any = None,
        token: str | None = None,
    ) -> dict[str, ContextValue]:
        """The template values of ``claim``'s message; ``facts`` when the caller read
        them already (a chunk reads all its facts in one query); ``token``: the link's,
        minted for this mail (``LINK_KINDS``)."""
        if facts is None:
            async with engine.connect() as conn:
                facts = (
                    await conn.execute(
                        text(_FACTS), {"event_id": claim.event_id, "user_id": claim.user_id}
                    )
                ).first()
        if facts is None:
            raise PermanentError("event gone")
        if claim.kind == "digest":
            return await self._digest_context(engine, claim, locale)
        base = self.settings.public_base_url.rstrip("/")
        labels = LABELS.get(facts.category or "", ("", ""))
        page = link_for(claim.kind, facts._mapping, claim.user_id)
        context: dict[str, ContextValue] = {
            "title": facts.title or "",
            "category_label": labels[0] if locale == "fr" else labels[1],
            "url": f"{base}{page or '/'}",
        }
        if claim.kind == "match.proposed" and facts.volunteer_cell and facts.post_cell:
            band = public_distance(
                Cell.from_key(facts.volunteer_cell), Cell.from_key(facts.post_cell)
            )
            context["band_label"] = band.label_fr if locale == "fr" else band.label_en
        elif claim.kind == "match.proposed":
            context["band_label"] = ""
        if claim.kind in ("match.proposed", "reminder") and facts.deadline_at is not None:
            context["deadline_label"] = moment_label(facts.deadline_at, locale)
        if claim.kind == "match.rejected" and facts.review_reason:
            context["reason"] = facts.review_reason
        if claim.kind == "match.cancelled" and facts.close_reason:
            context["reason"] = facts.close_reason
        if claim.kind == "post.rejected" and facts.post_review_reason:
            context["reason"] = facts.post_review_reason
        if claim.kind == "match.offer_proposed":
            context["count"] = int(facts.offer_requests or 0)
        if (
            claim.kind in ("post.offer_nearby", "post.unanswered", "conversation.to_requester")
            and facts.for_assisted
        ):
            context["for_assisted"] = 1
        if claim.kind == "post.unanswered" and facts.covered:
            context["covered"] = 1
        if claim.kind == "report.filed":
            context = {"url": context["url"]}
        if claim.kind in LINK_KINDS:
            if token is None:
                raise PermanentError("no token minted for this link")
            context = _link_context(claim.kind, base, token)
        if claim.kind in ("account.email_change_requested", "account.password_changed"):
            # A notice: its one link leads to the forgotten-password form, acting on nothing.
            context = {"url": page_url(base, "password_forgotten_page")}
        return context

    async def _digest_context(
        self, engine: AsyncEngine, claim: Any, locale: str
    ) -> dict[str, ContextValue]:
        """The messages this digest gathered for this person on this channel, in the
        words of the inbox."""
        async with engine.connect() as conn:
            gathered = (
                await conn.execute(
                    text(
                        "SELECT d.kind, o.payload FROM deliveries d "
                        "JOIN outbox o ON o.id = d.event_id WHERE d.digest_id = :event "
                        "AND d.user_id = :user AND d.channel = :channel "
                        "ORDER BY d.id"
                    ),
                    {"event": claim.event_id, "user": claim.user_id, "channel": claim.channel},
                )
            ).all()
            items: list[dict[str, Scalar]] = []
            for row in gathered:
                facts = await post_facts(conn, row.payload, row.kind)
                title, summary = render(row.kind, locale, facts)
                url = link_for(row.kind, facts, claim.user_id) or INBOX_PAGE
                items.append({"title": title, "summary": summary, "url": url})
        if not items:
            raise PermanentError("digest empty")
        return {"items": items, "url": INBOX_PAGE}

    async def _webhook(self, engine: AsyncEngine, claim: Any) -> None:
        """Partners get ids and public facts only: what happened, to which request."""
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT w.url, w.secret, w.centre_id, o.topic, o.payload, o.created_at "
                        "FROM webhooks w, outbox o WHERE w.id = :w AND o.id = :e"
                    ),
                    {"w": claim.webhook_id, "e": claim.event_id},
                )
            ).first()
        if row is None:
            raise PermanentError("webhook gone")
        event = {
            "kind": row.topic,
            "event_id": claim.event_id,
            "delivery_id": claim.id,
            "centre_id": row.centre_id,
            "occurred_at": row.created_at.isoformat(),
            **{k: v for k, v in row.payload.items() if k in ("post_id", "match_id", "batch")},
        }
        await self.webhook.send(row.url, row.secret, event, delivery_id=claim.id)

    def batch(self, conn: AsyncConnection) -> SendBatch:
        """Many deliveries in a row on ``conn`` (best in AUTOCOMMIT: it only reads):
        ``async with senders.batch(conn) as batch``."""
        return SendBatch(self, conn)

    async def aclose(self) -> None:
        await self.webhook.aclose()
        if self.sms is not None:
            await self.sms.aclose()


# Messages that carry a single-use link, and the payload key naming it: its token is
# minted as the mail is sent (accounts/links.py), never stored in clear.
LINK_KINDS = {
    "password.reset_requested": "reset_id",
    "account.staff_invited": "reset_id",
    "account.email_confirm": "link_id",
}


def _link_context(kind: str, base: str, token: str) -> dict[str, ContextValue]:
    """The template values of a message carrying a single-use link (``LINK_KINDS``)."""
    if kind == "password.reset_requested":
        return {"reset_url": page_url(base, "password_new_page", {"jeton": token})}
    if kind == "account.email_confirm":
        # The page shows one button; only its POST confirms (mail scanners open links).
        return {
            "url": page_url(base, "email_confirm_page", {"jeton": token}),
            "expires_minutes": int(CONFIRM_TTL.total_seconds()) // 60,
        }
    return {
        "url": page_url(base, "password_new_page", {"jeton": token}),
        "expires_days": INVITATION_TTL.days,
    }


_RECIPIENTS = text(
    "SELECT id, email, phone, locale, display_name FROM users "
    "WHERE id = ANY(:ids) AND status = 'active'"
)
# A confirmation link goes to the address it confirms (a new address is not yet the
# account's).
_LINK_ADDRESS = text("SELECT email FROM password_resets WHERE id = :id")


class _ConnectionAsEngine:
    """All that ``Senders._context`` and ``_webhook`` use of an engine, ``connect()``,
    answered with the batch's open connection: a message's facts then cost one query
    instead of a pool checkout, a ping, BEGIN, the query and ROLLBACK, which at
    hundreds of messages a second is most of a worker's time. (They only read.)"""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        yield self._conn


class SendBatch:
    """The deliveries of one job, on one database connection: their recipients read in
    one query, their e-mails sent over one SMTP connection (opened at the first e-mail,
    closed on exit). The connection is in AUTOCOMMIT: the one write, a link's minted
    token (``LINK_KINDS``), must be committed before its mail goes out."""

    def __init__(self, senders: Senders, conn: AsyncConnection) -> None:
        self._senders = senders
        self._conn = conn
        self._engine = cast(AsyncEngine, _ConnectionAsEngine(conn))
        self._people: dict[int, Any] = {}
        self._facts: dict[int, Any] = {}
        self._mail: SmtpSession | None = None

    async def __aenter__(self) -> SendBatch:
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._mail is not None:
            await self._mail.aclose()

    async def _mint(self, link_id: int) -> str:
        """A fresh token for the link of a message (accounts/links.py), committed at
        once (the connection is in AUTOCOMMIT)."""
        token = await links.mint(self._conn, link_id)
        if token is None:
            raise PermanentError("link used or expired")
        return token

    async def load(self, claims: Sequence[Any]) -> None:
        """Read the active recipients of ``claims``; the others are "recipient gone"."""
        ids = sorted({claim.user_id for claim in claims if claim.user_id is not None})
        if ids:
            rows = await self._conn.execute(_RECIPIENTS, {"ids": ids})
            self._people.update((row.id, row) for row in rows)
        personal = [claim for claim in claims if claim.user_id is not None]
        if personal:
            rows = await self._conn.execute(
                text(_CHUNK_FACTS),
                {
                    "deliveries": [claim.id for claim in personal],
                    "events": [claim.event_id for claim in personal],
                    "users": [claim.user_id for claim in personal],
                },
            )
            self._facts.update((row.delivery_id, row) for row in rows)

    async def send(self, claim: Any) -> None:
        senders = self._senders
        if claim.channel == "webhook":
            await senders._webhook(self._engine, claim)
            return
        person = self._people.get(claim.user_id)
        if person is None:
            raise PermanentError("recipient gone")
        locale = person.locale
        facts = self._facts.get(claim.id)
        link_id, token = None, None
        if claim.kind in LINK_KINDS:
            if facts is None:
                raise PermanentError("event gone")
            link_id = int(facts.payload[LINK_KINDS[claim.kind]])
            token = await self._mint(link_id)
        message = Message(
            delivery_id=claim.id,
            recipient_id=claim.user_id,
            kind=claim.kind,
            locale=locale,
            recipient_name=person.display_name,
            context=await senders._context(self._engine, claim, locale, facts, token),
        )
        if claim.channel == "email":
            address = person.email
            if claim.kind == "account.email_confirm":
                found = await self._conn.execute(_LINK_ADDRESS, {"id": link_id})
                address = found.scalar()
            if senders.email is None or not address:
                raise PermanentError("email unavailable")
            if self._mail is None:
                self._mail = senders.email.session()
            await self._mail.send(message, address)
        elif claim.channel == "sms":
            if senders.sms is None or not person.phone:
                raise PermanentError("sms unavailable")
            await senders.sms.send(message, person.phone)
        else:
            raise PermanentError(f"no sender for {claim.channel}")
