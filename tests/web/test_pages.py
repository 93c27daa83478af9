"""Pages over the real app (HTTP level): rendering, language, CSRF, headers. The
browser journeys are in test_browser.py."""

from __future__ import annotations

import re

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.demo import load_demo
from voisins.settings import Settings, load_settings

from ..support.csrf import csrf_of
from ..support.people import PASSWORD, register
from ..support.world import HOME_ALICE, HOME_BASILE, HOME_VICTOR, post_body, volunteer_body


async def test_home_is_french_first_and_english_on_request(client: AsyncTestClient) -> None:
    french = await client.get("/")
    assert french.status_code == 200
    assert '<html lang="fr"' in french.text and "L&#39;entraide entre voisins" in french.text
    english = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en"' in english.text and "Help between neighbours" in english.text


async def test_pages_carry_a_strict_csp_and_are_not_stored(client: AsyncTestClient) -> None:
    response = await client.get("/connexion")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_forms_refuse_a_post_without_the_csrf_token(client: AsyncTestClient) -> None:
    person = await register(client, "Camille")
    refused = await client.post("/connexion", data={"email": person.email, "password": PASSWORD})
    assert refused.status_code == 403
    page = await client.get("/connexion")
    token = csrf_of(page.text)
    accepted = await client.post(
        "/connexion",
        data={"email": person.email, "password": PASSWORD, "_csrf_token": token, "suite": "/"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    assert "httponly" in accepted.headers["set-cookie"].lower()


async def test_a_wrong_password_is_told_in_the_readers_language(client: AsyncTestClient) -> None:
    person = await register(client, "Camille")
    page = await client.get("/connexion")
    wrong = await client.post(
        "/connexion",
        data={"email": person.email, "password": "not the one!", "_csrf_token": csrf_of(page.text)},
    )
    assert wrong.status_code == 400
    assert "E-mail ou mot de passe incorrect." in wrong.text
    assert 'role="alert"' in wrong.text


async def test_the_api_takes_no_write_on_the_session_cookie(client: AsyncTestClient) -> None:
    person = await register(client, "Camille")
    login = await client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": PASSWORD}
    )
    client.cookies.set("voisins_session", login.cookies["voisins_session"])
    try:
        assert (await client.get("/api/v1/me")).status_code == 200  # reads: yes
        write = await client.patch("/api/v1/me", json={"display_name": "Forgée"})
        assert write.status_code == 401  # writes: bearer token only
    finally:
        client.cookies.clear()


async def test_vendor_libraries_are_served_by_the_app(client: AsyncTestClient) -> None:
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/htmx/htmx.min.js",
                 "/static/app/js/app.js", "/static/app/css/app.css"):  # fmt: skip
        response = await client.get(path)
        assert response.status_code == 200, path


async def test_in_development_the_home_page_lists_the_demo_accounts(
    settings: Settings, engine: AsyncEngine
) -> None:
    development = load_settings(
        environment="development", database_url=settings.database_url,
        redis_url=settings.redis_url,
    )  # fmt: skip
    await load_demo(engine, development)
    async with AsyncTestClient(create_app(development)) as client:
        home = await client.get("/")
    assert "gisele@voisins.demo" in home.text and "travailleur1@voisins.demo" in home.text
    assert re.search(r"<code>\d{6}</code>", home.text)  # the staff account's current code
    async with AsyncTestClient(create_app(settings)) as client:  # "test", like production
        assert "voisins.demo" not in (await client.get("/")).text


async def test_an_unknown_address_gets_a_page_and_the_api_keeps_json(
    client: AsyncTestClient,
) -> None:
    page = await client.get("/une-page-qui-n-existe-pas")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page introuvable" in page.text
    api = await client.get("/api/v1/rien-ici")
    assert api.status_code == 404 and api.json()["error"] == "not_found"


async def test_the_home_list_filters_by_category_and_follows_a_volunteers_cell(
    client: AsyncTestClient,
) -> None:
    alice = await register(client, "Alice")
    for body in (
        post_body(HOME_ALICE, title="Courses rue Polonceau"),
        post_body(HOME_ALICE, category="aide_numerique", title="Remplir un formulaire en ligne"),
    ):
        assert (await client.post("/api/v1/posts", json=body, headers=alice.headers)).is_success
    basile = await register(client, "Basile")
    far = post_body(HOME_BASILE, category="visite_convivialite", title="Visite à Belleville")
    assert (await client.post("/api/v1/posts", json=far, headers=basile.headers)).is_success

    everything = await client.get("/")
    assert "Courses rue Polonceau" in everything.text
    assert "Remplir un formulaire en ligne" in everything.text
    assert "Visite à Belleville" not in everything.text  # the demo neighbourhood by default
    assert '<option value="courses">' in everything.text
    courses = await client.get("/", params={"categorie": "courses"})
    assert courses.status_code == 200
    assert "Courses rue Polonceau" in courses.text
    assert "Remplir un formulaire en ligne" not in courses.text
    assert '<option value="courses" selected>' in courses.text

    victor = await register(client, "Victor")
    done = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VICTOR), headers=victor.headers
    )
    assert done.status_code == 200, done.text
    around = await client.get("/", headers=victor.headers)
    assert "Près de chez vous" in around.text
    assert "Visite à Belleville" in around.text
    assert "Courses rue Polonceau" not in around.text
    for exact in (f"{HOME_VICTOR[0]:.6f}", f"{HOME_VICTOR[1]:.6f}", f"{HOME_BASILE[0]:.6f}"):
        assert exact not in around.text  # public cells only

    # A resident who is not a volunteer sees the area of their own latest post.
    mine = await client.get("/", headers=basile.headers)
    assert "Près de chez vous" in mine.text
    assert "Visite à Belleville" in mine.text
    assert "Courses rue Polonceau" not in mine.text
    nobody = await register(client, "Nadia")  # nothing known of her: the deployment's area
    fresh = await client.get("/", headers=nobody.headers)
    assert "Près de chez vous" not in fresh.text
    assert "Courses rue Polonceau" in fresh.text


async def test_the_home_page_area_for_visitors_is_the_deployments(settings: Settings) -> None:
    belleville = msgspec.structs.replace(
        settings, home_area_name="Belleville", home_lon=HOME_BASILE[0], home_lat=HOME_BASILE[1]
    )
    async with AsyncTestClient(create_app(belleville)) as client:
        basile = await register(client, "Basile")
        far = post_body(HOME_BASILE, category="visite_convivialite", title="Visite à Belleville")
        assert (await client.post("/api/v1/posts", json=far, headers=basile.headers)).is_success
        home = await client.get("/")
    assert "Près de Belleville" in home.text
    assert "Visite à Belleville" in home.text


async def test_an_unknown_category_on_the_home_page_is_told_not_a_500(
    client: AsyncTestClient,
) -> None:
    wrong = await client.get("/", params={"categorie": "n-importe-quoi"})
    assert wrong.status_code == 400
    assert wrong.headers["content-type"].startswith("text/html")
    assert "Cette catégorie n&#39;existe pas. Voici toutes les annonces." in wrong.text
    assert 'role="alert"' in wrong.text
