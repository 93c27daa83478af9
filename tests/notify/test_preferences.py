"""Quiet hours, digest, daily cap and channel choice, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, time
from types import SimpleNamespace

from voisins.notify.digest import digest_morning
from voisins.notify.preferences import (
    PARIS,
    Preferences,
    channels_for,
    in_quiet_hours,
    last_end_of_quiet,
    plan,
)


def paris(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=PARIS).astimezone(UTC)


def test_quiet_hours_wrap_around_midnight() -> None:
    prefs = Preferences()
    assert in_quiet_hours(paris(22), prefs)
    assert in_quiet_hours(paris(3), prefs)
    assert not in_quiet_hours(paris(8), prefs)
    assert not in_quiet_hours(paris(20, 59), prefs)


def test_email_waits_for_the_morning_but_the_inbox_does_not() -> None:
    prefs = Preferences()
    at_night = paris(23, 30)
    email = plan("email", prefs, now=at_night, urgent=False, sent_today=0)
    assert email.status == "pending"
    assert email.not_before == datetime(2026, 11, 24, 8, 0, tzinfo=PARIS)
    inbox = plan("inapp", prefs, now=at_night, urgent=False, sent_today=0)
    assert inbox.not_before == at_night


def test_urgent_breaks_quiet_hours_only_for_those_who_opted_in() -> None:
    at_night = paris(2)
    assert plan("sms", Preferences(), now=at_night, urgent=True, sent_today=0).not_before > at_night
    opted_in = Preferences(urgent_breaks_quiet=True)
    assert plan("sms", opted_in, now=at_night, urgent=True, sent_today=0).not_before == at_night


def test_digest_collects_non_urgent_messages() -> None:
    prefs = Preferences(digest=True)
    assert plan("email", prefs, now=paris(14), urgent=False, sent_today=0).status == "digest"
    assert plan("email", prefs, now=paris(14), urgent=True, sent_today=0).status == "pending"


def test_daily_cap_defers_to_the_next_morning() -> None:
    prefs = Preferences(daily_cap=3)
    assert plan("email", prefs, now=paris(15), urgent=False, sent_today=2).not_before == paris(15)
    capped = plan("email", prefs, now=paris(15), urgent=False, sent_today=3)
    assert capped.not_before == datetime(2026, 11, 24, 8, 0, tzinfo=PARIS)


def test_password_reset_goes_at_once_even_at_night() -> None:
    at_night = paris(23)
    reset = plan(
        "email", Preferences(digest=True), now=at_night, urgent=False, sent_today=99,
        transactional=True,
    )  # fmt: skip
    assert (reset.status, reset.not_before) == ("pending", at_night)


def test_channels_follow_choices_and_what_the_person_has() -> None:
    prefs = Preferences(channels={"match.proposed": ["sms", "inapp"]})
    assert channels_for(
        "match.proposed", prefs, has_email=True, email_confirmed=True, has_phone=True
    ) == ["sms", "inapp"]
    assert channels_for(
        "match.proposed", prefs, has_email=True, email_confirmed=True, has_phone=False
    ) == ["inapp"]
    assert channels_for(
        "match.confirmed", prefs, has_email=True, email_confirmed=True, has_phone=True
    ) == [
        "inapp",
        "email",
    ]
    unsubscribed = Preferences(email_unsubscribed=True)
    assert channels_for(
        "match.confirmed", unsubscribed, has_email=True, email_confirmed=True, has_phone=False
    ) == ["inapp"]
    assert channels_for(
        "password.reset_requested",
        unsubscribed,
        has_email=True,
        email_confirmed=True,
        has_phone=False,
    ) == ["email"]


def test_custom_quiet_hours_within_a_day() -> None:
    prefs = Preferences(quiet_start=time(13, 0), quiet_end=time(15, 0))
    assert in_quiet_hours(paris(14), prefs)
    assert not in_quiet_hours(paris(23), prefs)


async def test_one_click_unsubscribe_stops_email_but_not_the_inbox(
    client, engine, settings
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from voisins.notify.signing import unsubscribe_token

    from ..support.people import register

    vera = await register(client, "Vera")
    forged = await client.post("/unsubscribe/not.a-token")
    assert forged.status_code == 404
    done = await client.post(f"/unsubscribe/{unsubscribe_token(settings.secret_key, vera.id)}")
    assert done.status_code == 200
    assert "plus d'e-mails" in done.json()["message"]
    prefs = await client.get("/api/v1/me/notification-preferences", headers=vera.headers)
    assert prefs.json()["email_unsubscribed"] is True
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT email_unsubscribed FROM notification_preferences WHERE user_id = :u"),
                {"u": vera.id},
            )
        ).scalar()
    assert stored is True


def test_the_day_of_messages_starts_when_quiet_hours_end() -> None:
    prefs = Preferences()
    assert last_end_of_quiet(paris(9), prefs) == paris(8)
    assert last_end_of_quiet(paris(8), prefs) == paris(8)
    assert last_end_of_quiet(paris(7, 59), prefs) == datetime(2026, 11, 22, 8, 0, tzinfo=PARIS)
    late_riser = Preferences(quiet_start=time(22, 0), quiet_end=time(10, 30))
    assert last_end_of_quiet(paris(11), late_riser) == paris(10, 30)


def test_a_digest_is_due_once_each_morning_for_what_waited_since_before_it() -> None:
    def row(oldest: datetime, last: datetime | None) -> SimpleNamespace:
        return SimpleNamespace(channels=None, oldest=oldest, last_digest_at=last)

    yesterday_evening = datetime(2026, 11, 22, 19, 0, tzinfo=PARIS)
    assert digest_morning(row(yesterday_evening, None), paris(7)) is None  # still quiet
    assert digest_morning(row(yesterday_evening, None), paris(8, 5)) == paris(8)
    assert digest_morning(row(yesterday_evening, paris(8, 5)), paris(12)) is None  # done today
    assert digest_morning(row(paris(9), None), paris(12)) is None  # arrived this morning
