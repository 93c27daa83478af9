"""Issue 14: the public texts of a post carry no phone number, e-mail or street address
(refused, 422 on the field, nothing written), and a title naming a person is flagged to
its author — in the API's answer, and on the centre's form before anything is public."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.csrf import csrf_of
from tests.support.world import HOME_ALICE, HOME_ODILE, World, build_world, post_body
from voisins.posts.screening import REASONS, contact_details, named_person

PHONES = [
    "06 12 34 56 78",
    "0612345678",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "+33 (0)6 12 34 56 78",
    "0033 6 12 34 56 78",
    "Appelez le 01 42 00 00 00 le matin",
    "06\u00a012\u00a034\u00a056\u00a078",
    "+32 470 12 34 56",
]
EMAILS = [
    "jean.dupont@example.org",
    "écrire à marie (at) gmail (dot) com",
    "jean arobase free point fr",
]
ADDRESSES = [
    "12 rue Myrha",
    "au 12, rue de la Goutte d'Or",
    "3 bis avenue de Clichy",
    "45 bd Barbès",
    "1 place de la Nation",
    "5 cours Mirabeau",
    "10 impasse des Lilas",
    "7 allée Verte",
    "2 quai de Valmy",
    "14 passage Brady",
    "3 square Léon",
    "8 villa Poissonnière",
    "12-14 Rue Polonceau",
    "18 chemin du Moulin",
]
HARMLESS = [
    "2 sacs de courses",
    "3e étage sans ascenseur",
    "le 12/05 à 14h",
    "Lundi 06/12",
    "le 12.05.2026",
    "RDV à 10h30, entre 10 et 12 h",
    "1 place libre dans la voiture",
    "12 place de parking",
    "2 cours d'anglais par semaine",
    "5 cours de Maths",
    "2 rues plus loin",
    "75018 Paris",
    "1 200 euros",
    "année 2024-2025",
    "06 12 34 56",
    "@voisins sur place",
    "rendez-vous au point de rencontre",
]


@pytest.mark.parametrize("words", PHONES)
def test_phone_numbers_are_found(words: str) -> None:
    assert contact_details(f"Courses, {words} merci") == "phone"


@pytest.mark.parametrize("words", EMAILS)
def test_email_addresses_are_found(words: str) -> None:
    assert contact_details(words) == "email"


@pytest.mark.parametrize("words", ADDRESSES)
def test_street_addresses_are_found(words: str) -> None:
    assert contact_details(f"Aide {words}") == "address"


@pytest.mark.parametrize("words", HARMLESS)
def test_ordinary_words_and_numbers_pass(words: str) -> None:
    assert contact_details(words) is None


def test_a_title_naming_a_person_is_noticed() -> None:
    assert named_person("Courses hebdomadaires pour Mme Lefèvre") == "Mme Lefèvre"
    assert named_person("Visite à M. Dupont") == "M. Dupont"
    assert named_person("Monsieur de Villiers a besoin d'aide") == "Monsieur de Villiers"
    assert named_person("pour madame Diallo") == "madame Diallo"
    assert named_person("Mlle Martin") == "Mlle Martin"
    assert named_person("Mr Smith") == "Mr Smith"
    for words in ("Madame la Maire", "M. le maire", "Courses du samedi", "Aide pour une voisine",
                  "RDV à 10h. Merci", "Mme", "AM. Dupont"):  # fmt: skip
        assert named_person(words) is None, words


# ---------------------------------------------------------------------------------------
# Through the API
# ---------------------------------------------------------------------------------------


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    return await build_world(client, engine)


async def _posts(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, title, description, version FROM posts"))
        return sorted(tuple(r) for r in rows)


@pytest.mark.parametrize(
    ("field", "words", "kind"),
    [
        ("title", "Courses, appelez le 06 12 34 56 78", "phone"),
        ("description", "Écrivez-moi : alice.martin@example.org", "email"),
        ("title", "Aide au 12 rue Myrha", "address"),
        ("description", "Je suis au +33 6 12 34 56 78", "phone"),
    ],
)
async def test_a_post_with_contact_details_is_refused_naming_the_field(
    client: AsyncTestClient, engine: AsyncEngine, world: World, field: str, words: str, kind: str
) -> None:
    before = await _posts(engine)
    refused = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE, **{field: words}), headers=world.alice.headers
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "invalid"
    assert body["fields"] == {field: REASONS[kind]}  # type: ignore[index]
    assert "public" in body["fields"][field]
    assert await _posts(engine) == before


async def test_an_edit_with_contact_details_is_refused_and_changes_nothing(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> None:
    created = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE), headers=world.alice.headers
    )
    assert created.status_code == 201, created.text
    before = await _posts(engine)
    for change, field in (
        ({"description": "Mon 06 12 34 56 78"}, "description"),
        ({"title": "Chez moi, 3 rue Léon"}, "title"),
        ({"skill_tags": ["bricolage", "0612345678"]}, "skill_tags[1]"),
    ):
        refused = await client.patch(
            f"/api/v1/posts/{created.json()['id']}", json=change, headers=world.alice.headers
        )
        assert refused.status_code == 422, refused.text
        assert list(refused.json()["fields"]) == [field]
    assert await _posts(engine) == before


async def test_a_worker_naming_the_resident_is_warned_in_the_answer_and_the_post_is_saved(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> None:
    created = await client.post(
        "/api/v1/posts",
        json=post_body(
            HOME_ODILE, title="Courses hebdomadaires pour Mme Lefèvre", on_behalf_of=world.odile_id
        ),
        headers=world.worker_18.headers,
    )
    assert created.status_code == 201, created.text
    [warning] = created.json()["warnings"]
    assert warning["field"] == "title" and warning["code"] == "names_person"
    assert warning["found"] == "Mme Lefèvre" and "Mme Lefèvre" in warning["detail"]
    plain = await client.post(
        "/api/v1/posts", json=post_body(HOME_ALICE), headers=world.alice.headers
    )
    assert plain.status_code == 201 and plain.json()["warnings"] == []
    edited = await client.patch(
        f"/api/v1/posts/{plain.json()['id']}",
        json={"description": "Pour M. Dupont, au 3e étage"},
        headers=world.alice.headers,
    )
    assert edited.status_code == 200, edited.text
    assert [w["found"] for w in edited.json()["warnings"]] == ["M. Dupont"]


# ---------------------------------------------------------------------------------------
# On the pages
# ---------------------------------------------------------------------------------------


def _form_values(token: str, **overrides: str) -> dict[str, str]:
    day = (date.today() + timedelta(days=3)).isoformat()
    values = {
        "_csrf_token": token, "kind": "request", "category": "courses",
        "title": "Courses du vendredi", "description": "Deux sacs", "lon": str(HOME_ODILE[0]),
        "lat": str(HOME_ODILE[1]), "schedule_type": "once", "date": day, "start": "10:00",
        "end": "12:00", "volunteers_needed": "1",
    }  # fmt: skip
    values.update(overrides)
    return values


async def test_the_centre_form_refuses_contact_details_and_warns_before_naming_a_resident(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> None:
    client.cookies.set("voisins_session", world.worker_18.token)
    path = f"/centre/habitants/{world.odile_id}/annonce"
    token = csrf_of((await client.get(path)).text)
    before = await _posts(engine)

    refused = await client.post(
        path, data=_form_values(token, description="Appeler sa fille au 06 12 34 56 78")
    )
    assert refused.status_code == 422
    assert 'id="description-error"' in refused.text
    assert "Pas de numéro de téléphone ici" in refused.text
    assert await _posts(engine) == before

    title = "Courses hebdomadaires pour Mme Lefèvre"
    warned = await client.post(path, data=_form_values(token, title=title))
    assert warned.status_code == 200
    assert 'id="title-warning"' in warned.text and "Mme Lefèvre" in warned.text
    assert 'name="names_checked" value="Mme Lefèvre"' in warned.text
    assert await _posts(engine) == before  # nothing public before the worker decides

    # Another name than the one the worker saw: warned again.
    other = await client.post(
        path,
        data=_form_values(token, title="Courses pour M. Dupont", names_checked="Mme Lefèvre"),
    )
    assert other.status_code == 200 and 'id="title-warning"' in other.text
    assert await _posts(engine) == before

    published = await client.post(
        path, data=_form_values(token, title=title, names_checked="Mme Lefèvre"),
        follow_redirects=False,
    )  # fmt: skip
    assert published.status_code == 303, published.text
    assert [p[1] for p in await _posts(engine) if p not in before] == [title]


async def test_the_resident_wizard_refuses_an_email_at_the_first_step(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> None:
    client.cookies.set("voisins_session", world.alice.token)
    token = csrf_of((await client.get("/annonces/nouvelle")).text)
    refused = await client.post(
        "/annonces/nouvelle",
        data={
            "_csrf_token": token, "etape": "1", "kind": "request", "category": "courses",
            "title": "Courses du samedi", "description": "Écrivez à alice@example.org",
        },
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'id="description-error"' in refused.text and "Pas d&#39;adresse e-mail" in refused.text


async def test_a_worker_editing_a_residents_post_is_warned_before_a_name_goes_public(
    client: AsyncTestClient, engine: AsyncEngine, world: World
) -> None:
    post_id = world.posts["odile"]  # the worker acts for Odile, who has no access
    client.cookies.set("voisins_session", world.worker_18.token)
    path = f"/annonces/{post_id}/modifier"
    opened = await client.get(path)
    assert opened.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', opened.text)
    assert version
    body = {
        "_csrf_token": csrf_of(opened.text), "version": version.group(1),
        "title": "Visite chez M. Dupont", "description": "", "schedule_type": "weekly",
        "days": ["2"], "start": "09:00", "end": "11:00",
    }  # fmt: skip
    before = await _posts(engine)
    warned = await client.post(path, data=body)
    assert warned.status_code == 200
    assert 'id="title-warning"' in warned.text and "M. Dupont" in warned.text
    assert await _posts(engine) == before
    saved = await client.post(
        path, data={**body, "names_checked": "M. Dupont"}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert "Visite chez M. Dupont" in [p[1] for p in await _posts(engine)]
