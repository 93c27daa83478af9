"""The housing pages of the two people (issue 16) over the real app (HTTP level, real
CSRF tokens): applying as a young person through the form, the law's ages refused next
to the birth date, the centre's steps on my page without its notes, the pairing shown
only once introduced, nothing of anyone else's, English, and every link followed.

Over 400 lines: the two people's pages of one scheme, from the application to the pair.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings, load_settings

from ..support.ban import BanStub, ban  # noqa: F401 (the local BAN)
from ..support.browser import CUT_WORDS, axe_violations, new_page, screenshot
from ..support.csrf import csrf_of
from ..support.housing import (
    API,
    ODILE_HOME_ADDRESS,
    Housing,
    applications,
    host_body,
    in_days,
    ok,
    propose,
    proposed,
    step,
    years_ago,
)
from ..support.people import Person
from ..support.world import HOME_ALICE, World, build_world

SECRET_NOTE = "Note du centre : dossier à surveiller"
LINK = re.compile(r'<a [^>]*href="(/[^"#]*)(?:#[^"]*)?"([^>]*)>')


def signed_as(client: AsyncTestClient, person: Person) -> None:
    client.cookies.set("voisins_session", person.token)


def young_form(centre_id: int, **overrides: str) -> dict[str, Any]:
    """The young person's form as a browser sends it (the pin placed on the map)."""
    return {
        "cote": "jeune",
        "centre_id": str(centre_id),
        "birth_date": years_ago(21),
        "available_from": in_days(20),
        "available_until": in_days(280),
        "address": "Université, 5 rue Thomas Mann",
        "lon": f"{HOME_ALICE[0]:.6f}",
        "lat": f"{HOME_ALICE[1]:.6f}",
        "formulas": ["free_presence", "solidarity"],
        "monthly_eur": "120",
        "services": ["shopping", "digital_help"],
        "languages": ["fr", "es"],
        "accepts_pets": "1",
        "rhythm": "late",
        "occupation": "student",
        "occupation_detail": "Licence de droit",
        "about": "J'aime cuisiner.",
    } | overrides


def host_form(centre_id: int, **overrides: str) -> dict[str, Any]:
    return {
        "cote": "hote",
        "centre_id": str(centre_id),
        "birth_date": years_ago(70),
        "available_from": in_days(10),
        "address": "8 rue Polonceau, 1er étage",
        "lon": f"{HOME_ALICE[0]:.6f}",
        "lat": f"{HOME_ALICE[1]:.6f}",
        "formulas": "solidarity",
        "monthly_eur": "100",
        "services": ["evening_presence"],
        "languages": "fr",
        "rhythm": "early",
        "room_size_m2": "11",
        "room_floor": "1",
        "room_furnished": "1",
    } | overrides


async def send(client: AsyncTestClient, side: str, data: dict[str, Any]) -> Any:
    opened = await client.get(f"/logement/candidature?cote={side}")
    assert opened.status_code == 200, opened.text
    return await client.post(
        "/logement/candidature",
        data={**data, "_csrf_token": csrf_of(opened.text)},
        follow_redirects=False,
    )


async def count_applications(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = text("SELECT count(*) FROM housing_applications")
        return int((await conn.execute(query)).scalar_one())


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert found, f"no message next to {field}"
    return unescape(found.group(1)).replace("\u00a0", " ")  # French typography aside


async def test_a_resident_applies_as_a_young_person_and_reads_the_application(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    signed_as(client, world.alice)
    home = await client.get("/logement")
    assert home.status_code == 200
    assert "cohabitation intergénérationnelle solidaire" in home.text
    assert "Vous n&#39;avez pas encore de candidature." in home.text
    assert 'href="/logement/candidature?cote=jeune"' in home.text

    sent = await send(client, "jeune", young_form(world.centre_18))
    assert sent.status_code == 303, sent.text
    found = re.fullmatch(r"/logement/candidatures/(\d+)\?fait=envoyee", sent.headers["location"])
    assert found, sent.headers["location"]
    mine = await client.get(sent.headers["location"])
    assert mine.status_code == 200
    assert "Votre candidature est envoyée." in mine.text
    assert "Université, 5 rue Thomas Mann" in mine.text  # what I said, my own place
    assert "Licence de droit" in mine.text and "Centre social Goutte d&#39;Or" in mine.text
    assert "Le centre social va vous appeler pour un premier entretien" in mine.text
    assert mine.headers["cache-control"] == "no-store"

    # Through the API, the same application: the form made the API's body.
    listed = await client.get(f"{API}/housing/applications", headers=world.alice.headers)
    [application] = listed.json()
    assert application["id"] == int(found.group(1)) and application["side"] == "young"
    read = await client.get(
        f"{API}/housing/applications/{application['id']}", headers=world.alice.headers
    )
    body = read.json()
    assert body["formulas"] == ["free_presence", "solidarity"] and body["monthly_eur"] == 120
    assert body["habits"]["rhythm"] == "late" and body["habits"]["accepts_pets"] is True
    assert body["languages"] == ["fr", "es"] and body["occupation"] == "student"

    # The home page lists it; a second young application is refused, with the reason.
    home = await client.get("/logement")
    assert f'href="/logement/candidatures/{application["id"]}"' in home.text
    assert 'href="/logement/candidature?cote=jeune"' not in home.text
    again = await send(client, "jeune", young_form(world.centre_18))
    assert again.status_code == 409
    assert "Vous avez déjà une candidature en cours de ce côté." in unescape(again.text)
    assert await count_applications(engine) == 1

    # Withdrawn in two taps: the page's link asks, the question's form withdraws.
    page = await client.get(f"/logement/candidatures/{application['id']}")
    action = f'action="/logement/candidatures/{application["id"]}/retirer"'
    assert action not in page.text
    assert f'href="/logement/candidatures/{application["id"]}/retirer#confirmer"' in page.text
    asked = await client.get(f"/logement/candidatures/{application['id']}/retirer")
    assert asked.status_code == 200 and action in asked.text
    assert "Voulez-vous vraiment retirer votre candidature" in asked.text
    still = await client.get(
        f"{API}/housing/applications/{application['id']}", headers=world.alice.headers
    )
    assert still.json()["status"] == "open"  # asking withdrew nothing
    withdrawn = await client.post(
        f"/logement/candidatures/{application['id']}/retirer",
        data={"_csrf_token": csrf_of(asked.text)},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    after = await client.get(withdrawn.headers["location"])
    assert "Votre candidature est retirée." in after.text and "Retirée" in after.text
    assert f'action="/logement/candidatures/{application["id"]}/retirer"' not in after.text
    # A second tap (the form sent twice) says the same, not «call the centre».
    again = await client.post(
        f"/logement/candidatures/{application['id']}/retirer",
        data={"_csrf_token": csrf_of(asked.text)},
        follow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["location"] == withdrawn.headers["location"]


async def test_the_law_s_ages_are_refused_next_to_the_birth_date(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    signed_as(client, world.victor)
    # 59: two days short of 60 (two days' margin: the server reads its own clock, which
    # may pass midnight meanwhile; the exact day is tests/test_housing.py's, on the rule).
    host = await send(client, "hote", host_form(world.centre_18, birth_date=years_ago(60, -2)))
    assert host.status_code == 422, host.text
    assert error_of(host.text, "birth_date").startswith(
        "Pour accueillir un jeune, il faut avoir 60 ans ou plus : c'est la loi"
    )
    assert re.search(r'id="birth_date"[^>]*aria-invalid="true"', host.text)
    assert 'value="8 rue Polonceau, 1er étage"' in host.text  # the answers stay

    young = await send(client, "jeune", young_form(world.centre_18, birth_date=years_ago(30, 2)))
    assert young.status_code == 422
    assert error_of(young.text, "birth_date").startswith(
        "Pour être logé chez un senior, il faut avoir moins de 30 ans : c'est la loi"
    )
    assert await count_applications(engine) == 0

    # A year typed wrong is said as such, not as an age.
    slip = await send(client, "hote", host_form(world.centre_18, birth_date="1024-03-01"))
    assert slip.status_code == 422
    assert error_of(slip.text, "birth_date") == "Vérifiez l'année de naissance."

    # At 60 a host may apply: the refusal above was the age, not the rest of the form.
    accepted = await send(client, "hote", host_form(world.centre_18, birth_date=years_ago(60, 2)))
    assert accepted.status_code == 303, accepted.text


async def test_missing_answers_are_named_and_nothing_is_written(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    signed_as(client, world.victor)
    empty = await send(client, "hote", {"cote": "hote", "languages": "fr"})
    assert empty.status_code == 400
    for field in ("centre_id", "birth_date", "available_from", "formulas", "room_size_m2"):
        assert f'id="{field}-error"' in empty.text, field
    assert 'id="address-error"' in empty.text and 'id="place-error"' in empty.text
    free = await send(
        client, "hote", host_form(world.centre_18, formulas="free_presence", monthly_eur="50")
    )
    assert free.status_code == 422
    assert error_of(free.text, "monthly_eur").startswith("Une chambre contre une présence")
    assert await count_applications(engine) == 0
    # An unknown side is no page.
    assert (await client.get("/logement/candidature?cote=autre")).status_code == 404
    # Odd answers are answers to correct, never an error of the site.
    for odd in (
        {"room_floor": "--5"},
        {"centre_id": "99999"},
        {"centre_id": "١٢"},
        {"lon": "abc"},
        {"lon": "nan", "lat": "inf"},
        {"monthly_eur": "1e3"},
        {"birth_date": "1950-02-30"},
        {"formulas": ["solidarity", "modest_rent"]},
        {"about": "x" * 2001},
        {"available_until": in_days(1)},
        {"languages": "français"},
        {"services": "ménage"},
    ):
        answered = await send(client, "hote", host_form(world.centre_18) | odd)
        assert 400 <= answered.status_code < 500, (odd, answered.status_code)
        assert 'role="alert"' in answered.text, odd
    for path in (
        "/logement/candidatures/99999999999999999999",
        "/logement/binomes/9223372036854775808",
        "/logement/binomes/1/documents/9223372036854775807",
    ):
        assert (await client.get(path)).status_code in (400, 404), path


async def test_an_address_found_by_the_search_is_a_pin_to_check_before_sending(
    settings: Settings,
    engine: AsyncEngine,
    ban: BanStub,  # noqa: F811
) -> None:
    """As for a post: the typed address becomes a pin on the map, the person checks it
    and sends again; what they typed (the floor) is kept as the address."""
    with_search = load_settings(
        environment="test", database_url=settings.database_url, redis_url=settings.redis_url,
        log_level="WARNING", geocoder_url=ban.url,
    )  # fmt: skip
    async with AsyncTestClient(create_app(with_search)) as client:
        world = await build_world(client, engine)
        signed_as(client, world.victor)
        typed = "18 rue Léon, 4e étage"
        found = await send(
            client, "hote", host_form(world.centre_18, address=typed, lon="", lat="")
        )
        assert found.status_code == 200, found.text
        assert "Nous avons placé le repère à votre adresse." in found.text
        assert 'name="lon" inputmode="decimal" value="2.353609"' in found.text
        assert ban.queries[-1]["q"] == [typed]
        assert await count_applications(engine) == 0  # not before the pin is checked
        checked = {
            name: unescape(value)
            for name, value in re.findall(r'name="(lon|lat|address_located)"[^>]*value="([^"]*)"',
                                          found.text)
        }  # fmt: skip
        sent = await send(client, "hote", host_form(world.centre_18, address=typed) | checked)
        assert sent.status_code == 303, sent.text
        shown = await client.get(sent.headers["location"])
        assert typed in unescape(shown.text)


async def _notes_recorded(client: AsyncTestClient, world: World) -> Housing:
    housing = await applications(client, world)
    # A later interview with a note only the centre reads.
    await step(
        client, world.worker_18, f"/housing/applications/{housing.young_application}",
        "interview", 1, note=SECRET_NOTE,
    )  # fmt: skip
    return housing


async def test_the_centre_s_steps_show_on_my_page_without_its_notes(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await _notes_recorded(client, world)
    signed_as(client, world.basile)
    mine = await client.get(f"/logement/candidatures/{housing.young_application}")
    assert mine.status_code == 200
    assert mine.text.count("Premier entretien au centre social") == 2
    assert "Références vérifiées" in mine.text
    assert SECRET_NOTE not in unescape(mine.text)
    assert "Votre dossier est complet." in mine.text
    # Nor who recorded them: the centre's reading.
    assert "recorded_by" not in mine.text


async def test_the_pairing_is_shown_only_once_introduced(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, housing, pair_id = await proposed(client, engine)
    signed_as(client, world.basile)
    before = await client.get(f"/logement/binomes/{pair_id}")
    assert before.status_code == 404
    assert "Page introuvable" in before.text
    mine = await client.get(f"/logement/candidatures/{housing.young_application}")
    assert "En cours" in mine.text and "Odile" not in mine.text
    assert f"/logement/binomes/{pair_id}" not in mine.text
    home = await client.get("/logement")
    assert "Odile" not in home.text and f"/logement/binomes/{pair_id}" not in home.text

    url = f"/housing/pairs/{pair_id}"
    await step(client, world.worker_18, url, "meeting", 3, note=SECRET_NOTE)
    await step(client, world.worker_18, url, "trial", 1)
    shown = await client.get(f"/logement/binomes/{pair_id}")
    assert shown.status_code == 200, shown.text
    assert "Mon binôme avec Odile" in shown.text
    assert ODILE_HOME_ADDRESS in unescape(shown.text)  # the young person gets the address
    assert "Période d&#39;essai" in shown.text and "Prochaine visite du centre social" in shown.text
    assert "Centre social Goutte d&#39;Or" in shown.text
    assert SECRET_NOTE not in unescape(shown.text)
    home = await client.get("/logement")
    assert f'href="/logement/binomes/{pair_id}"' in home.text and "Avec Odile" in home.text
    mine = await client.get(f"/logement/candidatures/{housing.young_application}")
    assert f'href="/logement/binomes/{pair_id}"' in mine.text


async def test_a_host_reads_the_pairing_without_a_young_person_s_place(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """Alice, 65, applies herself as a host; her pair page names Basile, and shows no
    address: hers is hers, and a young person's place of study is the centre's."""
    world = await build_world(client, engine)
    host = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=host_body(world.centre_18, birth_date=years_ago(65)),
            headers=world.alice.headers,
        )
    )
    housing = await applications(client, world)  # Odile's and Basile's
    await step(client, world.worker_18, f"/housing/applications/{host['id']}", "interview", 2)
    # Odile's application is withdrawn so that Basile is proposed to Alice.
    await ok(
        await client.post(
            f"{API}/housing/applications/{housing.host_application}/withdraw",
            headers=world.worker_18.headers,
        ),
        200,
    )
    housing.host_application = host["id"]
    pair_id = await propose(client, world, housing)
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 1)
    signed_as(client, world.alice)
    shown = await client.get(f"/logement/binomes/{pair_id}")
    assert shown.status_code == 200
    assert "Mon binôme avec Basile" in shown.text
    assert "Le jeune que vous accueillez" in shown.text
    assert "Adresse du logement" not in shown.text


async def test_another_resident_gets_the_404_page_for_my_application_and_pair(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, housing, pair_id = await proposed(client, engine)
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 1)
    signed_as(client, world.stranger)
    unknown = await client.get("/logement/candidatures/999999")
    for path in (
        f"/logement/candidatures/{housing.young_application}",
        f"/logement/candidatures/{housing.host_application}",
        f"/logement/binomes/{pair_id}",
        f"/logement/binomes/{pair_id}/documents/1",
    ):
        shown = await client.get(path)
        assert shown.status_code == 404, path
        assert shown.text.replace(path, "") == unknown.text.replace(
            "/logement/candidatures/999999", ""
        ), path
        assert "Basile" not in shown.text and "Odile" not in shown.text
    page = await client.get("/logement")
    withdraw = await client.post(
        f"/logement/candidatures/{housing.young_application}/retirer",
        data={"_csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert withdraw.status_code == 404
    # A social worker reads these in the centre's workspace, at the same path: the
    # centre's pages decide there what they may see.
    signed_as(client, world.worker_18)
    for path in ("/logement", f"/logement/candidatures/{housing.young_application}",
                 f"/logement/binomes/{pair_id}"):  # fmt: skip
        sent = await client.get(path, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == f"/centre{path}", path
        assert (await client.get(sent.headers["location"])).status_code == 200, path
    form = await client.get("/logement/candidature?cote=jeune", follow_redirects=False)
    assert form.headers["location"] == "/centre/logement/candidatures/nouvelle?cote=jeune"
    assert (await client.get(form.headers["location"])).status_code == 200
    signed_as(client, world.worker_20)
    other_centre = await client.get(f"/logement/binomes/{pair_id}")
    assert other_centre.status_code == 404 and "Odile" not in other_centre.text
    # Without a session: the login page, then back.
    client.cookies.clear()
    away = await client.get("/logement", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/connexion?suite=/logement"


async def test_the_pages_in_english(client: AsyncTestClient, engine: AsyncEngine) -> None:
    world, housing, pair_id = await proposed(client, engine)
    await step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 1)
    await ok(
        await client.patch(f"{API}/me", json={"locale": "en"}, headers=world.basile.headers), 200
    )
    signed_as(client, world.basile)
    english: dict[str, str] = {}  # the account's language
    home = await client.get("/logement", headers=english)
    assert '<html lang="en"' in home.text and "Intergenerational housing" in home.text
    assert "How does it work?" in home.text
    form = await client.get("/logement/candidature?cote=hote", headers=english)
    assert "Your date of birth" in form.text and "Send my application" in form.text
    mine = await client.get(f"/logement/candidatures/{housing.young_application}", headers=english)
    assert (
        "What comes next?" in mine.text and "First interview at the community centre" in mine.text
    )
    pair = await client.get(f"/logement/binomes/{pair_id}", headers=english)
    assert "My pairing with Odile" in pair.text and "Your community centre" in pair.text
    refused = await client.post(
        "/logement/candidature",
        data={**young_form(world.centre_18, birth_date=years_ago(31)), "cote": "jeune",
              "_csrf_token": csrf_of(form.text)},
        headers=english,
    )  # fmt: skip
    assert refused.status_code == 422  # the age, before the application he already has
    assert error_of(refused.text, "birth_date").startswith(
        "To live with a senior you must be under 30"
    )
    for page in (home, form, mine, pair):
        assert "Logement intergénérationnel" not in page.text


async def test_every_link_of_the_housing_pages_leads_somewhere(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, housing, pair_id = await proposed(client, engine)
    url = f"/housing/pairs/{pair_id}"
    await step(client, world.worker_18, url, "meeting", 3)
    await step(client, world.worker_18, url, "trial", 1)
    document = await client.post(
        f"{API}{url}/documents", json={"kind": "charter"}, headers=world.worker_18.headers
    )
    assert document.status_code == 201, document.text
    signed_as(client, world.basile)
    pages = [
        "/logement",
        "/logement/candidature?cote=hote",
        f"/logement/candidatures/{housing.young_application}",
        f"/logement/binomes/{pair_id}",
    ]
    followed = set()
    for path in pages:
        shown = await client.get(path)
        assert shown.status_code == 200, path
        for href, rest in LINK.findall(shown.text):
            href = unescape(href)
            if href.startswith("/static/") or href in followed:
                continue
            followed.add(href)
            target = await client.get(href)
            assert target.status_code == 200, (path, href)
            if "download" in rest:
                assert target.headers["content-type"] == "application/pdf"
                assert target.headers["content-disposition"].startswith("attachment;")
                assert target.content.startswith(b"%PDF")
    assert f"/logement/binomes/{pair_id}/documents/{document.json()['id']}" in followed
    assert "/logement/candidature?cote=jeune" not in followed  # Basile has applied
    assert f"/logement/candidatures/{housing.young_application}/retirer" not in followed


async def test_the_pages_fit_a_small_phone_and_pass_the_accessibility_check(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine
) -> None:
    """At 360 px, larger text on: no page scrolls sideways, none has a serious or
    critical axe violation, no word of a fact is cut; the form's refusal too."""
    async with AsyncTestClient(create_app(settings)) as client:
        world, housing, pair_id = await proposed(client, engine)
        url = f"/housing/pairs/{pair_id}"
        await step(client, world.worker_18, url, "meeting", 3)
        await step(client, world.worker_18, url, "trial", 1)
        charter = await client.post(
            f"{API}{url}/documents", json={"kind": "charter"}, headers=world.worker_18.headers
        )
        assert charter.status_code == 201, charter.text
    page = await new_page(browser, live_server, viewport={"width": 360, "height": 740})
    await page.context.add_cookies(
        [{"name": "voisins_session", "value": world.basile.token, "url": live_server}]
    )
    await page.goto("/logement")
    await page.get_by_role("button", name="Texte plus grand").click()
    for path in (
        "/logement",
        "/logement/candidature?cote=hote",
        "/logement/candidature?cote=jeune",
        f"/logement/candidatures/{housing.young_application}",
        f"/logement/binomes/{pair_id}",
    ):
        response = await page.goto(path)
        assert response is not None and response.status == 200, path
        await screenshot(page, "housing" + path.replace("/", "-").replace("?", "_"))
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, f"{overflow}px wider than the screen")
        assert await axe_violations(page) == [], path
        assert await page.evaluate(CUT_WORDS, "dl.facts dt, dl.facts dd") == [], path
    # A refused form: the messages next to the fields pass too.
    await page.goto("/logement/candidature?cote=hote")
    await page.get_by_role("button", name="Envoyer ma candidature").click()
    await expect(page.locator("#birth_date-error")).to_be_visible()
    assert await axe_violations(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    await screenshot(page, "housing-apply-refused")
