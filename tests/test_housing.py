"""Intergenerational housing (issue 16) through the API: the law's ages, each step's
order (no introduction without both interviews, no agreement before a trial), who reads
an application and a pair, the candidates the social worker is shown and why, and the
overdue follow-up visits raised once on the centre's list.

Over 400 lines: the scheme's rules, step by step, through one API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.errors import Invalid
from voisins.housing import rules
from voisins.housing.overdue import raise_overdue_steps
from voisins.schedule import paris_today

from .support.housing import (
    API,
    applications,
    host_body,
    in_days,
    in_trial,
    ok,
    propose,
    proposed,
    step,
    years_ago,
    young_body,
)
from .support.world import build_world


async def post(client: AsyncTestClient, url: str, body: dict[str, Any], who: Any) -> Any:
    return await client.post(API + url, json=body, headers=who.headers)


async def test_the_law_s_ages_are_refused_naming_birth_date(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    too_young_host = await post(
        client,
        "/housing/applications",
        host_body(world.centre_18, world.odile_id, birth_date=years_ago(60, days=-2)),
        world.worker_18,
    )
    assert too_young_host.status_code == 422, too_young_host.text
    assert "birth_date" in too_young_host.json()["fields"]
    too_old_young = await post(
        client,
        "/housing/applications",
        young_body(world.centre_18, birth_date=years_ago(30, days=2)),
        world.basile,
    )
    assert too_old_young.status_code == 422
    assert "birth_date" in too_old_young.json()["fields"]
    # Two days before their 30th birthday a young person may still apply; a host two days
    # past their 60th may. (Two days' margin: the server reads its own clock, which may
    # have passed midnight since the test counted; the exact day is the next test's.)
    await ok(
        await post(
            client,
            "/housing/applications",
            young_body(world.centre_18, birth_date=years_ago(30, days=-2)),
            world.basile,
        )
    )
    await ok(
        await post(
            client,
            "/housing/applications",
            host_body(world.centre_18, world.odile_id, birth_date=years_ago(60, days=2)),
            world.worker_18,
        )
    )
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM housing_applications"))).scalar()
    assert count == 2


def test_the_law_s_ages_to_the_day() -> None:
    """The exact birthdays, on a given day (the rule reads no clock)."""
    day = date(2027, 3, 1)
    assert rules.check_age("host", date(1967, 3, 1), day) == 60
    assert rules.check_age("young", date(1997, 3, 2), day) == 29
    for side, born in (("host", date(1967, 3, 2)), ("young", date(1997, 3, 1))):
        with pytest.raises(Invalid) as refused:
            rules.check_age(side, born, day)
        assert list(refused.value.fields) == ["birth_date"]
    # Born on 29 February: 30 on 1 March of a common year.
    assert rules.age_on(date(1996, 2, 29), date(2026, 2, 28)) == 29
    assert rules.age_on(date(1996, 2, 29), date(2026, 3, 1)) == 30
    assert rules.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)


async def test_no_introduction_without_both_interviews_and_no_agreement_before_a_trial(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    host = await ok(
        await post(
            client,
            "/housing/applications",
            host_body(world.centre_18, world.odile_id),
            world.worker_18,
        )
    )
    young = await ok(
        await post(client, "/housing/applications", young_body(world.centre_18), world.basile)
    )
    await step(client, world.worker_18, f"/housing/applications/{host['id']}", "interview", 3)
    pair_body = {"host_application_id": host["id"], "young_application_id": young["id"]}
    refused = await post(client, "/housing/pairs", pair_body, world.worker_18)
    assert refused.status_code == 409, refused.text
    assert list(refused.json()["fields"]) == ["young_application_id"]
    await step(client, world.worker_18, f"/housing/applications/{young['id']}", "interview", 2)
    pair = await ok(await post(client, "/housing/pairs", pair_body, world.worker_18))
    url = f"/housing/pairs/{pair['id']}"
    early = await post(
        client, f"{url}/steps", {"kind": "agreement", "done_on": in_days(0)}, world.worker_18
    )
    assert early.status_code == 409 and "trial" in early.json()["detail"]
    await step(client, world.worker_18, url, "meeting", 1)
    # The trial waits for the home visit and the references.
    waiting = await post(
        client, f"{url}/steps", {"kind": "trial", "done_on": in_days(0)}, world.worker_18
    )
    assert waiting.status_code == 409
    assert set(waiting.json()["fields"]) == {"host_application_id", "young_application_id"}
    await step(client, world.worker_18, f"/housing/applications/{host['id']}", "home_visit", 2)
    await step(client, world.worker_18, f"/housing/applications/{young['id']}", "references", 2)
    trial = await step(client, world.worker_18, url, "trial", 0)
    assert trial["status"] == "trial" and trial["trial_ends_on"] > in_days(27)
    signed = await step(client, world.worker_18, url, "agreement", 0)
    assert signed["status"] == "confirmed"


async def test_only_the_centre_and_the_two_introduced_people_read_a_pair(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, _, pair_id = await proposed(client, engine)
    url = f"{API}/housing/pairs/{pair_id}"
    unknown = await client.get(f"{API}/housing/pairs/{pair_id + 1000}", headers=world.alice.headers)
    # Before the meeting, Basile does not know of the proposal.
    for who in (world.basile, world.alice, world.worker_20, world.admin, world.vera):
        refused = await client.get(url, headers=who.headers)
        assert refused.status_code == 404 and refused.content == unknown.content, who.role
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 0)
    seen = await ok(await client.get(url, headers=world.basile.headers), 200)
    assert seen["host"]["person"]["display_name"] == "Odile"
    assert all(s["note"] is None for s in seen["steps"])
    for who in (world.alice, world.worker_20, world.admin):
        assert (await client.get(url, headers=who.headers)).status_code == 404


async def test_candidates_are_ranked_with_their_reasons_and_exclusions(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await applications(client, world)
    # A smoker the host will not have, and a second young person who fits.
    await ok(
        await post(
            client,
            "/housing/applications",
            young_body(world.centre_18, habits={"smokes": True}),
            world.alice,
        )
    )
    found = await ok(
        await client.get(
            f"{API}/housing/applications/{housing.host_application}/candidates",
            headers=world.worker_18.headers,
        ),
        200,
    )
    assert [c["application"]["id"] for c in found] == [housing.young_application]
    fit = found[0]["fit"]
    assert set(fit["shared_services"]) == {"digital_help", "evening_presence"}
    assert fit["formula"] == "solidarity" and fit["budget_margin_eur"] == 100
    assert fit["distance"]["max_km"] >= 6
    # Basile reads his own application, not the candidates for it.
    refused = await client.get(
        f"{API}/housing/applications/{housing.young_application}/candidates",
        headers=world.basile.headers,
    )
    assert refused.status_code == 403, refused.text


async def test_an_overdue_follow_up_visit_is_raised_once(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await in_trial(client, world, moved_in_days_ago=40)
    today = paris_today(datetime.now(UTC))
    for _ in range(3):
        async with engine.begin() as conn:
            await raise_overdue_steps(conn, today=today)
    async with engine.connect() as conn:
        items = (
            (
                await conn.execute(
                    text("SELECT reason FROM followups WHERE housing_pair_id = :p ORDER BY reason"),
                    {"p": housing.pair},
                )
            )
            .scalars()
            .all()
        )
    assert items == ["housing_trial_over", "housing_visit_due"]


async def test_a_proposal_is_not_told_to_its_people_and_ends_if_one_withdraws(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await applications(client, world)
    mine = f"{API}/housing/applications/{housing.young_application}"
    before = await ok(await client.get(mine, headers=world.basile.headers), 200)
    await propose(client, world, housing)
    # Proposed, not yet introduced: Basile's application reads exactly as before.
    during = await ok(await client.get(mine, headers=world.basile.headers), 200)
    assert (during["status"], during["pair_id"]) == ("open", None)
    assert {k: v for k, v in during.items() if k != "steps"} == {
        k: v for k, v in before.items() if k != "steps"
    }
    listed = await ok(
        await client.get(f"{API}/housing/applications", headers=world.basile.headers), 200
    )
    assert [a["status"] for a in listed] == ["open"]
    centre_view = await ok(await client.get(mine, headers=world.worker_18.headers), 200)
    assert centre_view["status"] == "paired" and centre_view["pair_id"] == housing.pair
    # He withdraws: the proposal ends, Odile's application is open again.
    withdrawn = await ok(await client.post(f"{mine}/withdraw", headers=world.basile.headers), 200)
    assert withdrawn["status"] == "withdrawn"
    pair = await ok(
        await client.get(f"{API}/housing/pairs/{housing.pair}", headers=world.worker_18.headers),
        200,
    )
    assert (pair["status"], pair["end_reason"]) == ("ended", "young_request")
    host = await ok(
        await client.get(
            f"{API}/housing/applications/{housing.host_application}",
            headers=world.worker_18.headers,
        ),
        200,
    )
    assert host["status"] == "open"


async def test_an_introduced_pair_must_end_before_a_withdrawal_and_the_young_stay_under_30(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, housing, pair_id = await proposed(client, engine)
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 0)
    mine = f"{API}/housing/applications/{housing.young_application}"
    refused = await client.post(f"{mine}/withdraw", headers=world.basile.headers)
    assert refused.status_code == 409 and "pairing" in refused.json()["detail"]
    # Basile turned 30 since he applied: the trial cannot start.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE housing_applications SET birth_date = :b WHERE id = :id"),
            {"b": date.fromisoformat(years_ago(30)), "id": housing.young_application},
        )
    late = await post(
        client,
        f"/housing/pairs/{pair_id}/steps",
        {"kind": "trial", "done_on": in_days(0)},
        world.worker_18,
    )
    assert late.status_code == 422 and "done_on" in late.json()["fields"], late.text


async def test_a_birth_date_more_than_120_years_ago_is_a_slip_named_as_such(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    slip = await post(
        client, "/housing/applications",
        host_body(world.centre_18, world.odile_id, birth_date="1848-05-12"), world.worker_18,
    )  # fmt: skip
    assert slip.status_code == 422 and "birth_date" in slip.json()["fields"], slip.text


async def test_housing_is_its_centre_s_alone_not_its_partners(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """Partner centres work on each other's posts; a housing pair is one centre's."""
    world = await build_world(client, engine)
    partnered = await client.post(
        f"{API}/centres/{world.centre_20}/partners",
        json={"partner_id": world.centre_18},
        headers=world.admin.headers,
    )
    assert partnered.status_code in (200, 201), partnered.text
    housing = await in_trial(client, world, moved_in_days_ago=40)
    async with engine.begin() as conn:
        await raise_overdue_steps(conn, today=paris_today(datetime.now(UTC)))
    partner = world.worker_20.headers
    for url in (
        f"/housing/applications/{housing.host_application}",
        f"/housing/applications/{housing.young_application}/candidates",
        f"/housing/pairs/{housing.pair}",
    ):
        assert (await client.get(API + url, headers=partner)).status_code == 404, url
    for url in ("/housing/applications", "/housing/pairs"):
        assert (await ok(await client.get(API + url, headers=partner), 200)) == [], url
    items = await ok(await client.get(f"{API}/moderation/followups", headers=partner), 200)
    assert not [i for i in items["items"] if i.get("housing_pair")], items
    refused = await post(
        client, f"/housing/pairs/{housing.pair}/steps",
        {"kind": "followup_visit", "done_on": in_days(0)}, world.worker_20,
    )  # fmt: skip
    assert refused.status_code == 404
    # Nor may one centre pair its host with another centre's young person.
    young_20 = await ok(
        await post(client, "/housing/applications", young_body(world.centre_20), world.alice)
    )
    await step(client, world.worker_20, f"/housing/applications/{young_20['id']}", "interview")
    host = await ok(
        await post(
            client, "/housing/applications",
            host_body(world.centre_18, world.basile.id, birth_date=years_ago(70)), world.basile,
        )
    )  # fmt: skip
    await step(client, world.worker_18, f"/housing/applications/{host['id']}", "interview")
    across = await post(
        client, "/housing/pairs",
        {"host_application_id": host["id"], "young_application_id": young_20["id"]},
        world.worker_18,
    )  # fmt: skip
    assert across.status_code == 422 and "young_application_id" in across.json()["fields"]


async def test_steps_keep_their_order_and_dates_stay_plausible(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await applications(client, world)
    pair = f"/housing/pairs/{await propose(client, world, housing)}"

    async def refused(url: str, body: dict[str, Any], field: str) -> None:
        answer = await post(client, url, body, world.worker_18)
        assert answer.status_code == 422, answer.text
        assert list(answer.json()["fields"]) == [field], answer.text

    await refused(f"{pair}/steps", {"kind": "meeting", "done_on": "1950-01-01"}, "done_on")
    await step(client, world.worker_18, pair, "meeting", 30)
    await step(client, world.worker_18, pair, "trial", 25)
    await step(client, world.worker_18, pair, "followup_visit", 5)
    # A visit older than the last one would move the next one back.
    await refused(f"{pair}/steps", {"kind": "followup_visit", "done_on": in_days(-10)}, "done_on")
    await refused(f"{pair}/end", {"reason": "moved", "ended_on": in_days(-6)}, "ended_on")
    ended = await ok(
        await post(client, f"{pair}/end", {"reason": "moved", "ended_on": in_days(-5)},
                   world.worker_18),
        200,
    )  # fmt: skip
    assert ended["status"] == "ended"
    far = young_body(world.centre_18, available_from="9999-12-30", available_until="9999-12-31")
    answer = await post(client, "/housing/applications", far, world.alice)
    assert answer.status_code == 422 and "available_from" in answer.json()["fields"]


async def test_a_young_person_moves_in_as_an_adult(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, housing, pair_id = await proposed(client, engine)
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 400)
    # Basile turned 18 a year ago: a move two years ago would have made him a minor.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE housing_applications SET birth_date = :b WHERE id = :id"),
            {"b": date.fromisoformat(years_ago(19)), "id": housing.young_application},
        )
    minor = await post(
        client, f"/housing/pairs/{pair_id}/steps", {"kind": "trial", "done_on": in_days(-390)},
        world.worker_18,
    )  # fmt: skip
    assert minor.status_code == 422 and "done_on" in minor.json()["fields"], minor.text


async def test_erasing_one_person_ends_their_live_pair_and_frees_the_other(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await in_trial(client, world, moved_in_days_ago=40)
    async with engine.begin() as conn:
        await raise_overdue_steps(conn, today=paris_today(datetime.now(UTC)))
    erased = await client.post(
        f"{API}/me/erasure", json={"confirm": True}, headers=world.basile.headers
    )
    assert erased.status_code in (200, 202), erased.text
    pair = await ok(
        await client.get(f"{API}/housing/pairs/{housing.pair}", headers=world.worker_18.headers),
        200,
    )
    assert (pair["status"], pair["end_reason"], pair["young"]["person"]) == ("ended", "other", None)
    host = await ok(
        await client.get(
            f"{API}/housing/applications/{housing.host_application}",
            headers=world.worker_18.headers,
        ),
        200,
    )
    assert host["status"] == "closed"
    async with engine.connect() as conn:
        reminders = (
            await conn.execute(
                text("SELECT count(*) FROM followups WHERE housing_pair_id = :p"),
                {"p": housing.pair},
            )
        ).scalar()
        # A sweep after the erasure raises nothing about the ended pair.
        assert await raise_overdue_steps(conn, today=paris_today(datetime.now(UTC))) == 0
    assert reminders == 0
