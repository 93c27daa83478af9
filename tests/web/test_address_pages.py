"""Typed addresses in the pages: the suggestions endpoint, the wizard and the volunteer
profile geocoding a typed address on the server (the self-hosted addok index, filled
from the shipped sample), and the journeys in a real Chromium: a resident posts a
request by typing an address only, picking a suggestion or not; a volunteer saves a
profile with a typed address."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.clock import PARIS
from voisins.geo.addresses import import_file, sample_file
from voisins.settings import Settings, load_settings

from ..support.browser import check_page, signed_in_page
from ..support.csrf import csrf_of
from ..support.people import Person, register
from ..support.world import build_world

STEP_1 = {"kind": "request", "category": "courses", "title": "Courses du samedi",
          "description": "Porter les sacs."}  # fmt: skip


def sample_point(street: str, number: str) -> tuple[float, float]:
    for line in sample_file().read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        if doc["name"] == street:
            found = doc["housenumbers"][number]
            return found["lon"], found["lat"]
    raise LookupError(street)


@pytest.fixture
def addresses(settings: Settings) -> Settings:
    """The sample imported into this run's address index (the tests' Redis database,
    emptied after each test)."""
    import_file(settings.addok_redis_dsn, sample_file())
    return settings


@pytest.fixture
async def client(addresses: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(addresses)) as client:
        yield client


async def suggest(client: AsyncTestClient, typed: str, **headers: str) -> Any:
    page = await client.get("/annonces/nouvelle", headers=headers)
    return await client.post(
        "/adresses/suggestions", headers={**headers, "HX-Request": "true"},
        data={"address": typed, "_csrf_token": csrf_of(page.text)}, follow_redirects=False,
    )  # fmt: skip


def options(html: str) -> list[str]:
    return re.findall(r'<li role="option" id="address-option-\d+"[^>]*>([^<]+)</li>', html)


async def test_suggestions_are_labels_of_the_index(client: AsyncTestClient) -> None:
    gisele = await register(client, "Gisèle")
    found = await suggest(client, "12 rue marx dormoi", **gisele.headers)
    assert found.status_code == 200, found.text
    assert found.headers["content-type"].startswith("text/html")
    assert options(found.text)[0] == "12 Rue Marx Dormoy 75018 Paris"
    assert "<html" not in found.text  # a fragment for the listbox, not a page
    many = await suggest(client, "rue de la", **gisele.headers)
    assert 1 <= len(options(many.text)) <= 5
    assert options((await suggest(client, "ru", **gisele.headers)).text) == []  # too short
    nothing = await suggest(client, "qwxz kjhg", **gisele.headers)
    assert options(nothing.text) == [] and "Aucune adresse proposée." in nothing.text


async def test_suggestions_need_a_session_and_the_form_token(client: AsyncTestClient) -> None:
    anonymous = await client.post(
        "/adresses/suggestions", data={"address": "12 rue marx dormoy"}, follow_redirects=False
    )
    assert anonymous.status_code in (302, 303, 401, 403)
    assert "Marx Dormoy" not in anonymous.text
    gisele = await register(client, "Gisèle")
    no_token = await client.post(
        "/adresses/suggestions", data={"address": "12 rue marx dormoy"}, headers=gisele.headers
    )
    assert no_token.status_code == 403 and "Marx Dormoy" not in no_token.text


async def test_no_suggestions_when_the_address_search_is_off(settings: Settings) -> None:
    off = load_settings(
        environment="test", database_url=settings.database_url, redis_url=settings.redis_url,
        log_level="WARNING", geocoder="off",
    )  # fmt: skip
    import_file(settings.addok_redis_dsn, sample_file())
    async with AsyncTestClient(create_app(off)) as client:
        gisele = await register(client, "Gisèle")
        found = await suggest(client, "12 rue marx dormoy", **gisele.headers)
        assert found.status_code == 200 and options(found.text) == []


async def wizard_step(client: AsyncTestClient, person: Person, step: str, **data: str) -> Any:
    page = await client.get("/annonces/nouvelle", headers=person.headers)
    return await client.post("/annonces/nouvelle", headers=person.headers, follow_redirects=False,
                             data={"_csrf_token": csrf_of(page.text), "etape": step, **STEP_1,
                                   **data})  # fmt: skip


def field_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


async def test_a_typed_address_alone_is_found_on_the_server(client: AsyncTestClient) -> None:
    gisele = await register(client, "Gisèle")
    placed = await wizard_step(client, gisele, "2", address="12 rue marx dormoi, 3e étage")
    assert placed.status_code == 200 and "Étape 2 sur 3" in placed.text
    assert "12 Rue Marx Dormoy 75018 Paris" in placed.text  # what was found, to check
    lon, lat = sample_point("Rue Marx Dormoy", "12")
    assert (field_value(placed.text, "lon"), field_value(placed.text, "lat")) == (
        f"{lon:.6f}", f"{lat:.6f}",
    )  # fmt: skip
    # Sent again as it came back: the third step; then published with that point and
    # the address as typed (floor included), which only the author sees.
    where = {"address": "12 rue marx dormoi, 3e étage", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
             "address_located": field_value(placed.text, "address_located")}  # fmt: skip
    three = await wizard_step(client, gisele, "2", **where)
    assert three.status_code == 200 and "Étape 3 sur 3" in three.text, three.text
    day = (datetime.now(PARIS) + timedelta(days=1)).date().isoformat()
    published = await wizard_step(client, gisele, "3", **where, schedule_type="once", date=day,
                                  start="10:00", end="12:00", volunteers_needed="1",
                                  urgency="normal")  # fmt: skip
    assert published.status_code == 303, published.text
    post_id = re.search(r"/annonces/(\d+)", published.headers["location"]).group(1)  # type: ignore[union-attr]
    mine = await client.get(f"/api/v1/posts/{post_id}", headers=gisele.headers)
    assert mine.json()["location"] == {"lon": lon, "lat": lat,
                                       "address": "12 rue marx dormoi, 3e étage"}  # fmt: skip


async def test_an_address_not_found_is_said_on_the_address_field(
    client: AsyncTestClient,
) -> None:
    gisele = await register(client, "Gisèle")
    lost = await wizard_step(client, gisele, "2", address="99 chemin des nuages, Tombouctou")
    assert lost.status_code == 400
    assert 'id="address-error"' in lost.text
    assert "Nous n&#39;avons pas trouvé cette adresse." in lost.text
    assert re.search(r'id="address" name="address"[^>]*aria-invalid="true"', lost.text, re.S)


async def test_typing_another_address_drops_the_old_coordinates(client: AsyncTestClient) -> None:
    gisele = await register(client, "Gisèle")
    lon, lat = sample_point("Rue Marx Dormoy", "12")
    chosen = "12 Rue Marx Dormoy 75018 Paris"
    moved = await wizard_step(client, gisele, "2", address="5 rue pajol", lon=f"{lon:.6f}",
                              lat=f"{lat:.6f}", address_located=chosen)  # fmt: skip
    assert moved.status_code == 200 and "5 Rue Pajol 75018 Paris" in moved.text
    pajol = sample_point("Rue Pajol", "5")
    assert field_value(moved.text, "lon") == f"{pajol[0]:.6f}"
    # A floor added after the chosen address keeps its point.
    kept = await wizard_step(client, gisele, "2", address="12 Rue Marx Dormoy 75018 Paris, 2e",
                             lon=f"{lon:.6f}", lat=f"{lat:.6f}",
                             address_located="12 Rue Marx Dormoy 75018 Paris")  # fmt: skip
    assert kept.status_code == 200 and "Étape 3 sur 3" in kept.text


async def test_the_volunteer_profile_is_saved_from_a_typed_address(
    client: AsyncTestClient,
) -> None:
    vera = await register(client, "Vera")
    page = await client.get("/benevole", headers=vera.headers)
    assert "Saisir des coordonnées" in page.text and 'role="combobox"' in page.text
    body = {"_csrf_token": csrf_of(page.text), "address": "20 rue leon", "lon": "", "lat": "",
            "radius_km": "2", "categories": "courses", "languages": "fr", "slots": "1-matin",
            "max_active_matches": "3"}  # fmt: skip
    saved = await client.post("/benevole", data=body, headers=vera.headers, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    profile = (await client.get("/api/v1/me/volunteer", headers=vera.headers)).json()
    lon, lat = sample_point("Rue Léon", "20")
    assert (profile["location"]["lon"], profile["location"]["lat"]) == (lon, lat)
    again = await client.get("/benevole", headers=vera.headers)
    lost = await client.post("/benevole", headers=vera.headers, data={
        **body, "_csrf_token": csrf_of(again.text), "address": "99 chemin des nuages",
        "address_located": "20 Rue Léon 75018 Paris", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
    })  # fmt: skip
    assert lost.status_code == 422 and 'id="location-error"' in lost.text
    assert "Nous n&#39;avons pas trouvé cette adresse." in lost.text
    assert 'name="lon" inputmode="decimal" autocomplete="off" value=""' in lost.text


async def test_a_social_worker_posts_for_a_resident_with_a_typed_address(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    client.cookies.clear()
    client.cookies.set("voisins_session", world.worker_18.token)
    path = f"/centre/habitants/{world.odile_id}/annonce"
    page = await client.get(path)
    assert page.status_code == 200 and 'role="combobox"' in page.text
    assert "<summary>Saisir des coordonnées</summary>" in page.text
    typed = {"address": "14 rue pajol", "_csrf_token": csrf_of(page.text)}
    found = await client.post("/adresses/suggestions", headers={"HX-Request": "true"}, data=typed)
    assert options(found.text)[0] == "14 Rue Pajol 75018 Paris"
    day = (datetime.now(PARIS) + timedelta(days=3)).date().isoformat()
    values = {
        "_csrf_token": csrf_of(page.text), "kind": "request", "category": "courses",
        "title": "Courses du vendredi", "description": "", "address": "14 rue pajol",
        "lon": "", "lat": "", "schedule_type": "once", "date": day, "start": "10:00",
        "end": "12:00", "volunteers_needed": "1",
    }  # fmt: skip
    lost = await client.post(path, data={**values, "address": "99 chemin des nuages"})
    assert lost.status_code == 422 and 'id="location-error"' in lost.text
    assert "Nous n&#39;avons pas trouvé cette adresse." in lost.text
    assert re.search(r'id="address" name="address"[^>]*aria-invalid="true"', lost.text, re.S)
    posted = await client.post(path, data=values, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    async with engine.connect() as conn:
        point = (
            await conn.execute(
                text("SELECT ST_X(point) AS lon, ST_Y(point) AS lat "
                     "FROM posts WHERE title = 'Courses du vendredi'")
            )
        ).one()  # fmt: skip
    lon, lat = sample_point("Rue Pajol", "14")
    assert (round(point.lon, 6), round(point.lat, 6)) == (lon, lat)


# --- In Chromium ----------------------------------------------------------------------


async def step_one(page: Page) -> None:
    await page.goto("/annonces/nouvelle")
    await page.get_by_label("Demander de l'aide").check()
    await page.locator("input[name=category][value=courses]").check()
    await page.get_by_label("Un titre court").fill("Courses du samedi")
    await page.get_by_role("button", name="Continuer").click()
    await expect(page.get_by_role("heading", name="Étape 2 sur 3 : Où ?")).to_be_visible()


async def step_three_and_publish(page: Page) -> None:
    await expect(page.get_by_role("heading", name="Étape 3 sur 3 : Quand ?")).to_be_visible()
    day = (datetime.now(PARIS) + timedelta(days=2)).date().isoformat()
    await page.locator("#date").fill(day)
    await page.locator("#start").fill("10:00")
    await page.locator("#end").fill("12:00")
    await page.get_by_role("button", name="Publier mon annonce").click()
    await expect(page).to_have_url(re.compile(r"/annonces/\d+\?fait=publiee"))


async def test_a_resident_posts_by_typing_and_choosing_an_address(
    browser: Browser, addresses: Settings, live_server: str
) -> None:
    async with AsyncTestClient(create_app(addresses)) as api:
        gisele = await register(api, "Gisèle")
    page = await signed_in_page(browser, live_server, gisele.token)
    await step_one(page)
    # The coordinates are a fallback, closed by default.
    await expect(page.get_by_label("Longitude")).to_be_hidden()
    field = page.get_by_role("combobox", name="Votre adresse")
    await field.press_sequentially("12 rue marx dorm", delay=30)
    listbox = page.get_by_role("listbox", name="Adresses proposées")
    await expect(listbox.get_by_role("option").first).to_have_text("12 Rue Marx Dormoy 75018 Paris")
    await expect(field).to_have_attribute("aria-expanded", "true")
    await check_page(page, "address-suggestions")
    await field.press("ArrowDown")
    await expect(field).to_have_attribute("aria-activedescendant", "address-option-1")
    await field.press("Enter")  # chooses; the form is not sent yet
    await expect(field).to_have_value("12 Rue Marx Dormoy 75018 Paris")
    await expect(field).to_have_attribute("aria-expanded", "false")
    lon, lat = sample_point("Rue Marx Dormoy", "12")
    await expect(page.locator("#lon")).to_have_value(f"{lon:.6f}")
    await expect(page.locator("#lat")).to_have_value(f"{lat:.6f}")
    marker = await page.evaluate(
        "() => { const m = document.querySelector('.leaflet-marker-icon'); return !!m; }"
    )
    assert marker
    await field.press_sequentially(", 3e étage", delay=20)
    await expect(page.locator("#lon")).to_have_value(f"{lon:.6f}")  # a floor keeps the point
    await page.get_by_role("button", name="Continuer").click()
    await step_three_and_publish(page)
    async with AsyncTestClient(create_app(addresses)) as api:
        post_id = re.search(r"/annonces/(\d+)", page.url).group(1)  # type: ignore[union-attr]
        mine = await api.get(f"/api/v1/posts/{post_id}", headers=gisele.headers)
    typed = "12 Rue Marx Dormoy 75018 Paris, 3e étage"
    assert mine.json()["location"] == {"lon": lon, "lat": lat, "address": typed}


async def test_a_resident_posts_by_typing_an_address_without_choosing(
    browser: Browser, addresses: Settings, live_server: str
) -> None:
    async with AsyncTestClient(create_app(addresses)) as api:
        gisele = await register(api, "Gisèle")
    page = await signed_in_page(browser, live_server, gisele.token)
    await step_one(page)
    field = page.get_by_role("combobox", name="Votre adresse")
    await field.fill("8 rue polonso")  # misspelt, and nothing chosen
    await field.press("Escape")
    await page.get_by_role("button", name="Continuer").click()
    await expect(page.get_by_role("status").filter(has_text="Adresse trouvée")).to_contain_text(
        "8 Rue Polonceau 75018 Paris"
    )
    lon, _ = sample_point("Rue Polonceau", "8")
    await expect(page.locator("#lon")).to_have_value(f"{lon:.6f}")
    await check_page(page, "address-found")
    await page.get_by_role("button", name="Continuer").click()
    await step_three_and_publish(page)


async def test_a_volunteer_saves_a_profile_with_a_typed_address(
    browser: Browser, addresses: Settings, live_server: str
) -> None:
    async with AsyncTestClient(create_app(addresses)) as api:
        vera = await register(api, "Vera")
    page = await signed_in_page(browser, live_server, vera.token)
    await page.goto("/benevole")
    await expect(page.get_by_label("Latitude")).to_be_hidden()
    field = page.get_by_role("combobox", name="Mon adresse")
    await field.press_sequentially("20 rue leo", delay=30)
    option = page.get_by_role("option", name="20 Rue Léon 75018 Paris")
    await expect(option).to_be_visible()
    await option.click()
    await page.locator("#cat-courses").check()
    await page.locator("#slot-1-matin").check()
    await check_page(page, "volunteer-address")
    await page.get_by_role("button", name="Enregistrer mon profil").click()
    await expect(page).to_have_url(re.compile(r"/benevole\?enregistre=1"))
    await expect(page.get_by_role("combobox", name="Mon adresse")).to_have_value(
        "20 Rue Léon 75018 Paris"
    )
    async with AsyncTestClient(create_app(addresses)) as api:
        profile = (await api.get("/api/v1/me/volunteer", headers=vera.headers)).json()
    assert (profile["location"]["lon"], profile["location"]["lat"]) == sample_point(
        "Rue Léon", "20"
    )


async def test_the_centre_form_suggests_addresses_in_the_browser(
    browser: Browser, client: AsyncTestClient, engine: AsyncEngine, live_server: str
) -> None:
    world = await build_world(client, engine)
    page = await signed_in_page(browser, live_server, world.worker_18.token)
    await page.goto(f"/centre/habitants/{world.odile_id}/annonce")
    await expect(page.get_by_label("Latitude")).to_be_hidden()
    field = page.get_by_role("combobox", name="Adresse de la personne")
    await field.press_sequentially("14 rue paj", delay=30)
    option = page.get_by_role("option", name="14 Rue Pajol 75018 Paris")
    await expect(option).to_be_visible()
    await check_page(page, "centre-address-suggestions")
    await option.click()
    lon, lat = sample_point("Rue Pajol", "14")
    await expect(page.locator("#lon")).to_have_value(f"{lon:.6f}")
    await expect(page.locator("#lat")).to_have_value(f"{lat:.6f}")
    # Typing another address drops the chosen point: the server will look it up.
    await field.fill("")
    await field.press_sequentially("8 rue", delay=20)
    await expect(page.locator("#lon")).to_have_value("")
