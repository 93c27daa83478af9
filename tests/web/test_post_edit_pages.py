"""Editing a post from its page (issue 12, "Posts"): over HTTP with real CSRF tokens
(the form, its refusals, an edit made from an old version, a closed post), and in a
real Chromium at a phone's width with axe."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from ..support.browser import axe_violations, check_page, new_page, screenshot
from ..support.csrf import csrf_of
from ..support.matching import match_of
from ..support.sign_in import sign_in
from ..support.world import HOME_ALICE, World, build_world, post_body

API = "/api/v1"


async def save(client: AsyncTestClient, post_id: int, data: dict[str, Any]) -> Any:
    """Open the edit form (its CSRF token and version), then send ``data`` over it."""
    opened = await client.get(f"/annonces/{post_id}/modifier")
    assert opened.status_code == 200, opened.text
    version = re.search(r'name="version" value="(\d+)"', opened.text)
    assert version
    body = {"_csrf_token": csrf_of(opened.text), "version": version.group(1), **data}
    return await client.post(f"/annonces/{post_id}/modifier", data=body, follow_redirects=False)


ONCE = {"schedule_type": "once", "start": "10:00", "end": "12:00"}


async def test_the_author_edits_text_and_schedule_from_the_post_page(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["alice"]
    sign_in(client, world.alice, clear_cookies=True)
    shown = await client.get(f"/annonces/{post_id}")
    assert f'href="/annonces/{post_id}/modifier"' in shown.text
    form = await client.get(f"/annonces/{post_id}/modifier")
    assert 'value="Courses du samedi"' in form.text and 'name="version" value="1"' in form.text
    saved = await save(client, post_id, {
        "title": "Courses du mardi", "description": "Sacs lourds, 3e sans ascenseur.",
        "schedule_type": "weekly", "days": ["2"], "start": "09:00", "end": "11:00",
    })  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/annonces/{post_id}?fait=modifiee"
    after = await client.get(saved.headers["location"])
    assert "Courses du mardi" in after.text and "Vos changements sont enregistrés." in after.text
    post = (await client.get(f"{API}/posts/{post_id}", headers=world.alice.headers)).json()
    assert post["schedule"] == {"type": "weekly", "days": [2], "start": "09:00", "end": "11:00"}
    assert post["version"] == 2
    # Text only, the one-off date untouched: the schedule is not sent again.
    other = await client.post(
        f"{API}/posts", json=post_body(HOME_ALICE, title="Une course"), headers=world.alice.headers
    )
    sign_in(client, world.alice, clear_cookies=True)
    other_id = other.json()["id"]
    opened = await client.get(f"/annonces/{other_id}/modifier")
    day = re.search(r'name="date" type="date" value="([0-9-]+)"', opened.text)
    assert day, opened.text
    kept = await save(client, other_id, {
        "title": "Une course rapide", "description": "", "schedule_type": "once",
        "date": day.group(1), "start": re.search(r'name="start" type="time" value="([0-9:]+)"',
                                                 opened.text).group(1),  # type: ignore[union-attr]
        "end": re.search(r'name="end" type="time" value="([0-9:]+)"',
                         opened.text).group(1),  # type: ignore[union-attr]
    })  # fmt: skip
    assert kept.status_code == 303, kept.text
    assert (await client.get(f"{API}/posts/{other_id}", headers=world.alice.headers)).json()[
        "schedule"
    ] == other.json()["schedule"]


async def test_refusals_show_the_form_again_with_the_field_and_change_nothing(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["alice"]
    sign_in(client, world.alice, clear_cookies=True)
    later = (date.today() + timedelta(days=3)).isoformat()
    short = await save(client, post_id, {"title": "ab", "description": "", **ONCE, "date": later})
    assert short.status_code == 400
    assert 'id="title-error"' in short.text and 'aria-invalid="true"' in short.text
    past = await save(client, post_id, {"title": "Courses", "description": "", **ONCE,
                                        "date": "2020-01-06"})  # fmt: skip
    assert past.status_code == 400 and 'id="date-error"' in past.text
    weekly = await save(client, post_id, {"title": "Courses", "description": "",
                                          "schedule_type": "weekly", "start": "10:00",
                                          "end": "12:00"})  # fmt: skip
    assert weekly.status_code == 400 and 'id="days-error"' in weekly.text
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT title, version FROM posts WHERE id = :p"), {"p": post_id}
            )
        ).one()
    assert tuple(row) == ("Courses du samedi", 1)


async def test_an_edit_from_an_old_version_shows_the_latest_instead_of_overwriting_it(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["odile"]  # a social worker acts for Odile, who has no access
    sign_in(client, world.worker_18, clear_cookies=True)
    opened = await client.get(f"/annonces/{post_id}/modifier")
    assert opened.status_code == 200
    # Meanwhile a colleague changes the title.
    changed = await client.patch(
        f"{API}/posts/{post_id}", json={"title": "Visite du mardi, à 15 h"},
        headers=world.worker_18.headers,
    )  # fmt: skip
    assert changed.status_code == 200
    stale = await client.post(f"/annonces/{post_id}/modifier", follow_redirects=False, data={
        "_csrf_token": csrf_of(opened.text), "version": "1", "title": "Visite du mardi",
        "description": "", "schedule_type": "weekly", "days": ["2"], "start": "14:00",
        "end": "16:00",
    })  # fmt: skip
    assert stale.status_code == 409
    assert "Cette annonce a été modifiée entre-temps" in stale.text
    assert (
        'value="Visite du mardi, à 15 h"' in stale.text and 'name="version" value="2"' in stale.text
    )


async def test_others_cannot_edit_and_a_withdrawn_post_says_why(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    post_id = world.posts["alice"]
    for who in (world.vera, world.worker_20):
        sign_in(client, who, clear_cookies=True)
        assert (
            f"/annonces/{post_id}/modifier" not in (await client.get(f"/annonces/{post_id}")).text
        )
        assert (await client.get(f"/annonces/{post_id}/modifier")).status_code == 403
    assert (
        await client.post(f"{API}/posts/{post_id}/withdraw", headers=world.alice.headers)
    ).status_code == 200
    sign_in(client, world.alice, clear_cookies=True)
    refused = await client.get(f"/annonces/{post_id}/modifier")
    assert refused.status_code == 409
    assert "elle ne peut plus être modifiée" in refused.text
    assert f'href="/annonces/{post_id}/modifier"' not in refused.text


async def test_a_resident_edits_a_post_on_a_phone(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world: World = await build_world(api, engine)
    post_id = world.posts["alice"]
    page = await new_page(browser, live_server)  # 412 px wide
    await page.context.add_cookies(
        [{"name": "voisins_session", "value": world.alice.token, "url": live_server}]
    )
    await page.goto(f"/annonces/{post_id}")
    await page.get_by_role("link", name="Modifier l'annonce").click()
    await expect(page).to_have_url(f"{live_server}/annonces/{post_id}/modifier")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Modifier votre annonce")
    assert await axe_violations(page) == []
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the screen"
    await screenshot(page, "post-edit")

    await page.get_by_label("Un titre court").fill("ab")
    await page.get_by_role("button", name="Enregistrer les changements").click()
    await expect(page.locator("#title-error")).to_be_visible()
    assert await axe_violations(page) == []

    await page.get_by_label("Un titre court").fill("Courses du mardi matin")
    await page.get_by_label("Chaque semaine").check()
    await page.get_by_label("mardi").check()
    await page.get_by_label("À partir de quelle heure ?").fill("09:00")
    await page.get_by_label("Jusqu'à quelle heure ?").fill("11:00")
    await page.get_by_role("button", name="Enregistrer les changements").click()
    await expect(page).to_have_url(re.compile(rf"/annonces/{post_id}\?fait=modifiee"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Courses du mardi matin")
    await expect(page.get_by_role("status")).to_contain_text("Vos changements sont enregistrés.")
    assert await axe_violations(page) == []
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await screenshot(page, "post-edited")


async def test_weekly_visits_and_stopping_on_a_phone(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    weekly = {"type": "weekly", "days": [1, 2, 3, 4, 5, 6, 7], "start": "10:00", "end": "12:00"}
    async with AsyncTestClient(create_app(settings)) as api:
        world: World = await build_world(api, engine)
        created = await api.post(
            f"{API}/posts",
            json=post_body(HOME_ALICE, title="Une visite chaque jour", schedule=weekly),
            headers=world.alice.headers,
        )
        post_id = created.json()["id"]
        match_id = await match_of(engine, post_id, world.vera.id)
        accepted = await api.post(f"{API}/matches/{match_id}/accept", headers=world.vera.headers)
        assert accepted.json()["status"] == "confirmed"

    vera = await new_page(browser, live_server)
    await vera.context.add_cookies(
        [{"name": "voisins_session", "value": world.vera.token, "url": live_server}]
    )
    await vera.goto("/mes-aides")
    card = vera.locator(f"#proposition-{match_id}")
    await expect(card.get_by_role("button", name="C'est fait")).to_have_count(0)
    await check_page(vera, "weekly-arrangement")
    await card.get_by_label("Un mot sur la visite (facultatif)").fill("Café et courses")
    await card.get_by_role("button", name="La visite d'aujourd'hui a eu lieu").click()
    await expect(vera.get_by_role("status").first).to_contain_text("la visite d")
    await expect(vera.locator(f"#proposition-{match_id} .visits")).to_contain_text(
        "Café et courses"
    )
    # The author sees the visit too, and may stop from the post page: it asks first.
    alice = await new_page(browser, live_server)
    await alice.context.add_cookies(
        [{"name": "voisins_session", "value": world.alice.token, "url": live_server}]
    )
    await alice.goto(f"/annonces/{post_id}")
    answer = alice.locator(f"#reponse-{match_id}")
    await expect(answer.locator(".visits")).to_contain_text("Café et courses")
    await check_page(alice, "weekly-arrangement-author")
    await answer.get_by_role("link", name="Arrêter l'accompagnement").click()
    await expect(alice.get_by_role("alert")).to_contain_text("pour de bon")
    await check_page(alice, "weekly-arrangement-author-stop")
    await alice.get_by_role("link", name="Non, continuer").click()
    await expect(alice.get_by_role("alert")).to_have_count(0)

    stop = vera.locator(f"#proposition-{match_id}").get_by_role(
        "link", name="Arrêter l'accompagnement"
    )
    await stop.click()
    await expect(vera.get_by_role("alert")).to_contain_text("pour de bon")
    await check_page(vera, "weekly-arrangement-stop")
    await vera.get_by_label("Pourquoi ? (facultatif)").fill("Je déménage")
    await vera.get_by_role("button", name="Oui, arrêter l'accompagnement").click()
    await expect(vera).to_have_url(re.compile(r"/mes-aides\?fait=arrete"))
    await check_page(vera, "weekly-arrangement-stopped")
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM matches WHERE id = :m"), {"m": match_id})
        ).scalar_one()
    assert status == "completed"
