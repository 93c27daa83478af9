"""When and where a message may go: channels per kind, quiet hours, digest, daily cap.

Pure functions of the preferences and a clock, so they are tested without a database."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import msgspec

from voisins.clock import PARIS

IMMEDIATE_CHANNELS = frozenset({"inapp"})
# What people get when they never chose: the inbox always, e-mail when they have one.
DEFAULT_CHANNELS: dict[str, list[str]] = {
    "password.reset_requested": ["email"],
    "account.email_confirm": ["email"],
    "account.email_change_requested": ["email"],
    "account.password_changed": ["email"],
    "account.staff_invited": ["email"],
    # The digest goes on the channels of the messages it gathers (the event says which).
    "digest": ["email", "sms"],
}
DEFAULT_KIND_CHANNELS = ["inapp", "email"]
# Mails about the account itself, sent whatever the person chose for news (and even
# after an unsubscribe): a reset link, an address to confirm, notices of a change.
ACCOUNT_KINDS = frozenset(
    {
        "password.reset_requested",
        "account.email_confirm",
        "account.email_change_requested",
        "account.password_changed",
        "account.staff_invited",
    }
)
# The only mails an address gets before it is confirmed: the link that confirms it,
# and a reset link asked for on the forgotten-password page (following it proves the
# address). Nothing personal — no news, no contact — goes to an unconfirmed address.
TO_UNCONFIRMED = frozenset({"account.email_confirm", "password.reset_requested"})


class Preferences(msgspec.Struct, frozen=True):
    channels: dict[str, list[str]] = {}
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    urgent_breaks_quiet: bool = False
    digest: bool = False
    daily_cap: int = 20
    email_unsubscribed: bool = False


def preferences_from_row(row: Any) -> Preferences:
    """A person's preferences from a row joined on notification_preferences (all
    columns NULL when the person never chose: the defaults apply)."""
    if row.channels is None:
        return Preferences()
    return msgspec.convert(
        {
            "channels": row.channels,
            "quiet_start": row.quiet_start,
            "quiet_end": row.quiet_end,
            "urgent_breaks_quiet": row.urgent_breaks_quiet,
            "digest": row.digest,
            "daily_cap": row.daily_cap,
            "email_unsubscribed": row.email_unsubscribed,
        },
        Preferences,
    )


def channels_for(
    kind: str, prefs: Preferences, *, has_email: bool, email_confirmed: bool, has_phone: bool
) -> list[str]:
    chosen = prefs.channels.get(kind) or DEFAULT_CHANNELS.get(kind) or DEFAULT_KIND_CHANNELS
    allowed = []
    for channel in chosen:
        if channel == "email" and (
            not has_email
            or (prefs.email_unsubscribed and kind not in ACCOUNT_KINDS)
            or (not email_confirmed and kind not in TO_UNCONFIRMED)
        ):
            continue
        if channel == "sms" and not has_phone:
            continue
        allowed.append(channel)
    return allowed


def in_quiet_hours(moment: datetime, prefs: Preferences) -> bool:
    local = moment.astimezone(PARIS).time()
    start, end = prefs.quiet_start, prefs.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def end_of_quiet(moment: datetime, prefs: Preferences) -> datetime:
    """The next moment quiet hours end (Europe/Paris), after ``moment``."""
    local = moment.astimezone(PARIS)
    candidate = local.replace(
        hour=prefs.quiet_end.hour, minute=prefs.quiet_end.minute, second=0, microsecond=0
    )
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


class Plan(msgspec.Struct, frozen=True):
    status: str  # "pending" or "digest"
    not_before: datetime


def plan(
    channel: str,
    prefs: Preferences,
    *,
    now: datetime,
    urgent: bool,
    sent_today: int,
    transactional: bool = False,
    is_digest: bool = False,
) -> Plan:
    """When a message on ``channel`` may leave. In-app is immediate; e-mail and SMS
    respect the digest, quiet hours (unless urgent and the person opted in) and the
    daily cap. Transactional messages (password reset) go at once. The digest itself
    respects quiet hours only: it is the one message the cap and the digest leave."""
    if channel in IMMEDIATE_CHANNELS or transactional:
        return Plan("pending", now)
    if prefs.digest and not urgent and not is_digest:
        return Plan("digest", now)
    if in_quiet_hours(now, prefs) and not (urgent and prefs.urgent_breaks_quiet):
        return Plan("pending", end_of_quiet(now, prefs))
    if sent_today >= prefs.daily_cap and not is_digest:
        # Over the cap: wait for the next morning (the end of the next quiet hours).
        return Plan("pending", end_of_quiet(now, prefs))
    return Plan("pending", now)


def last_end_of_quiet(moment: datetime, prefs: Preferences) -> datetime:
    """The latest moment quiet hours ended (Europe/Paris), at or before ``moment``:
    the start of the person's current day of messages."""
    upcoming = end_of_quiet(moment, prefs)
    previous = (upcoming.astimezone(PARIS) - timedelta(days=1)).replace(
        hour=prefs.quiet_end.hour, minute=prefs.quiet_end.minute
    )
    return previous
