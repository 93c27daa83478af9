"""Intergenerational housing in the centre's follow-up list, in the housekeeping worker's
cron, and in the centre's statistics (JSON, CSV, page).

Odile (78, assisted) hosts Basile (22) through the Goutte d'Or centre
(tests/support/housing.py). Every date is counted from today (the French day): the
suite passes on any day."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.housing.rules import add_months
from voisins.schedule import paris_today
from voisins.settings import Settings
from voisins.worker import HousekeepingSettings

from .support.burst_worker import run_housekeeping_job
from .support.housing import (
    API,
    Housing,
    end,
    in_days,
    in_trial,
    ok,
    self_applied_pair,
    step,
    sweep,
    young_body,
)
from .support.people import Person
from .support.sign_in import sign_in
from .support.world import World, build_world


def _today() -> date:
    return paris_today(datetime.now(UTC))


def _plain(page: str) -> str:
    """A page's text as typed (entities decoded, French non-breaking spaces plain)."""
    return html.unescape(page).replace("\xa0", " ").replace("\u202f", " ")


async def _open_items(client: AsyncTestClient, who: Person) -> list[dict[str, Any]]:
    listed = await ok(
        await client.get(f"{API}/moderation/followups?open=true", headers=who.headers), 200
    )
    return [i for i in listed["items"] if i["reason"].startswith("housing")]


async def test_an_overdue_visit_is_raised_once_listed_for_its_centre_and_closed_by_the_visit(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    # Moved in 40 days ago: the first visit (after a month) and the end of the one-month
    # trial are both 10 days late.
    housing = await in_trial(client, world, moved_in_days_ago=40)
    moved_in = _today() - timedelta(days=40)
    due = add_months(moved_in, 1)

    assert [await sweep(engine) for _ in range(3)] == [2, 0, 0]
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT reason, period, centre_id FROM followups "
                    "WHERE housing_pair_id = :p ORDER BY reason"
                ),
                {"p": housing.pair},
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("housing_trial_over", due, world.centre_18),
        ("housing_visit_due", due, world.centre_18),
    ]

    # The centre's social worker sees both, with the pair; another centre's sees neither.
    items = {i["reason"]: i for i in await _open_items(client, world.worker_18)}
    assert set(items) == {"housing_visit_due", "housing_trial_over"}
    for item in items.values():
        assert item["housing_pair"] == {
            "id": housing.pair,
            "host_name": "Odile",
            "young_name": "Basile",
            "due_on": due.isoformat(),
        }
        assert item["person"] is None and item["post_id"] is None
    assert await _open_items(client, world.worker_20) == []

    # The page says what is late, since when, and links to the pair.
    day = format_date(due, "d MMMM y", locale="fr")
    sign_in(client, world.worker_18)
    page = _plain((await client.get("/centre/suivi")).text)
    assert f"Visite de suivi à faire depuis le {day}" in page
    assert f"Fin de la période d'essai le {day} : convention à signer ou fin à enregistrer" in page
    assert f'href="/centre/logement/binomes/{housing.pair}"' in page
    assert "Odile et Basile" in page
    switched = await client.patch(
        f"{API}/me", json={"locale": "en"}, headers=world.worker_18.headers
    )
    assert switched.status_code == 200, switched.text
    english = _plain((await client.get("/centre/suivi")).text)
    in_english = format_date(due, "d MMMM y", locale="en")
    assert f"Follow-up visit due since {in_english}" in english
    assert f"Trial period over on {in_english}: agreement to sign or end to record" in english
    assert "Intergenerational housing: Odile and Basile" in english
    client.cookies.clear()
    sign_in(client, world.worker_20)
    other = _plain((await client.get("/centre/suivi")).text)
    assert "Visite de suivi" not in other and "Odile et Basile" not in other
    client.cookies.clear()

    # The visit done today closes its item; the next one is due in three months, so
    # the sweep raises nothing more.
    await step(client, world.worker_18, f"/housing/pairs/{housing.pair}", "followup_visit")
    assert {i["reason"] for i in await _open_items(client, world.worker_18)} == {
        "housing_trial_over"
    }
    assert await sweep(engine) == 0

    # A contact on the trial's item is recorded as for any other item.
    trial_item = items["housing_trial_over"]["id"]
    contacted = await ok(
        await client.post(
            f"{API}/moderation/followups/{trial_item}/contact",
            json={"outcome": "Appel à Odile : la convention se signe la semaine prochaine"},
            headers=world.worker_18.headers,
        ),
        200,
    )
    assert contacted["contacted_by"] == world.worker_18.id
    assert contacted["housing_pair"]["id"] == housing.pair
    assert await _open_items(client, world.worker_18) == []
    refused = await client.post(
        f"{API}/moderation/followups/{trial_item}/contact",
        json={"outcome": "Encore"},
        headers=world.worker_20.headers,
    )
    assert refused.status_code == 404, refused.text


async def test_the_housekeeping_worker_raises_overdue_housing_steps_from_its_cron(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    housing = await in_trial(client, world, moved_in_days_ago=40)
    crons = {job.name for job in HousekeepingSettings.cron_jobs}
    assert "cron:raise_housing_followups" in crons

    # A real arq worker (burst mode) runs the job twice: the second run raises nothing.
    assert await run_housekeeping_job(settings, "raise_housing_followups") == 2
    assert await run_housekeeping_job(settings, "raise_housing_followups") == 0
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                text("SELECT count(*) FROM followups WHERE housing_pair_id = :p"),
                {"p": housing.pair},
            )
        ).scalar_one()
    assert count == 2


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------


async def _first_pair_ended(client: AsyncTestClient, world: World) -> Housing:
    """Odile and Basile: moved in 40 days ago, agreement signed 30 days ago, ended 10
    days ago because Basile moved away: 30 days together."""
    housing = await in_trial(client, world, moved_in_days_ago=40)
    url = f"/housing/pairs/{housing.pair}"
    await step(client, world.worker_18, url, "agreement", 30)
    await end(
        client, world.worker_18, url, "moved", 10, host_feedback="Un jeune homme charmant",
        young_feedback="Merci Odile",
    )  # fmt: skip
    return housing


async def test_the_statistics_count_started_confirmed_and_ended_pairs_with_reason_and_length(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    await _first_pair_ended(client, world)
    await self_applied_pair(client, world)
    # One more young person waits, Alice.
    await ok(
        await client.post(
            f"{API}/housing/applications",
            json=young_body(world.centre_18, occupation="worker"),
            headers=world.alice.headers,
        )
    )
    period = {"from": in_days(-60), "to": in_days(0)}

    stats = await ok(
        await client.get(
            f"{API}/centres/{world.centre_18}/statistics",
            params=period,
            headers=world.worker_18.headers,
        ),
        200,
    )
    housing = stats["housing"]
    by_reason = {r["reason"]: r["pairs"] for r in housing.pop("ended_by_reason")}
    assert housing == {
        "pairs_started": 2,
        "pairs_in_trial": 1,
        "pairs_confirmed": 1,
        "pairs_ended": 1,
        "average_length_days": 30.0,
        "open_host_applications": 0,
        "open_young_applications": 1,
    }
    assert by_reason == {
        "not_compatible": 0,
        "term_reached": 0,
        "host_request": 0,
        "young_request": 0,
        "health": 0,
        "moved": 1,
        "conflict": 0,
        "other": 0,
    }

    # A period that ends before the first move counts no event; today's figures stay.
    before = await ok(
        await client.get(
            f"{API}/centres/{world.centre_18}/statistics",
            params={"from": in_days(-120), "to": in_days(-61)},
            headers=world.worker_18.headers,
        ),
        200,
    )
    assert (
        before["housing"]["pairs_started"],
        before["housing"]["pairs_confirmed"],
        before["housing"]["pairs_ended"],
        before["housing"]["average_length_days"],
        before["housing"]["pairs_in_trial"],
    ) == (0, 0, 0, None, 1)
    # Another centre has none of it.
    belleville = await ok(
        await client.get(
            f"{API}/centres/{world.centre_20}/statistics",
            params=period,
            headers=world.worker_20.headers,
        ),
        200,
    )
    assert belleville["housing"]["pairs_started"] == belleville["housing"]["pairs_in_trial"] == 0

    # The CSV carries the same figures, in French and in English.
    french = await client.get(
        f"{API}/centres/{world.centre_18}/statistics.csv",
        params={**period, "lang": "fr"},
        headers=world.worker_18.headers,
    )
    assert french.status_code == 200, french.text
    rows = list(csv.reader(io.StringIO(french.content.decode("utf-8-sig")), delimiter=";"))
    values = {(r[3], r[4]): r[5] for r in rows[1:]}
    housing_fr = "Hébergement intergénérationnel"
    assert values[("Binômes de logement commencés (période d'essai)", housing_fr)] == "2"
    assert values[("Binômes de logement en période d'essai aujourd'hui", housing_fr)] == "1"
    assert values[("Binômes de logement confirmés (convention signée)", housing_fr)] == "1"
    assert values[("Binômes de logement terminés", housing_fr)] == "1"
    assert values[("Durée moyenne des binômes de logement terminés (jours)", housing_fr)] == "30,0"
    assert values[("Candidatures d'hôtes ouvertes aujourd'hui", housing_fr)] == "0"
    assert values[("Candidatures de jeunes ouvertes aujourd'hui", housing_fr)] == "1"
    assert values[("Binômes de logement terminés, par motif", "Déménagement")] == "1"
    assert values[("Binômes de logement terminés, par motif", "Santé")] == "0"
    english = await client.get(
        f"{API}/centres/{world.centre_18}/statistics.csv",
        params={**period, "lang": "en"},
        headers=world.worker_18.headers,
    )
    en_rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    en_values = {(r[3], r[4]): r[5] for r in en_rows[1:]}
    housing_en = "Intergenerational housing"
    assert en_values[("Housing pairs started (trial period)", housing_en)] == "2"
    assert en_values[("Average length of the housing pairs ended (days)", housing_en)] == "30.0"
    assert en_values[("Housing pairs ended, by reason", "Moved away")] == "1"
    assert len(en_values) == len(values)

    # The page shows them too.
    sign_in(client, world.worker_18)
    page = _plain(
        (
            await client.get(
                f"/centre/statistiques?centre={world.centre_18}"
                f"&from={period['from']}&to={period['to']}"
            )
        ).text
    )
    assert "Logement intergénérationnel" in page
    assert "binômes commencés (entrée en période d'essai)" in page
    assert "30 jours" in page
    assert "Déménagement" in page
