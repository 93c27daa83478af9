"""Legal and help pages: reachable by anyone in French and English, linked from every
page's footer and from the sign-up form, naming the organisation from settings."""

from __future__ import annotations

import html
import re

import msgspec
from litestar.testing import AsyncTestClient

from voisins.app import create_app
from voisins.settings import Settings
from voisins.typography import french_spaces
from voisins.web.routes.legal import PAGES

# A French sentence of each page and its English translation.
HEADINGS = {
    "/mentions-legales": ("Mentions légales", "Legal notice"),
    "/confidentialite": ("Politique de confidentialité", "Privacy policy"),
    "/conditions": ("Conditions d'utilisation et charte des bénévoles",
                    "Terms of use and volunteers' charter"),
    "/accessibilite": ("Déclaration d'accessibilité", "Accessibility statement"),
    "/aide": ("Aide", "Help"),
}  # fmt: skip


def text_of(page: str) -> str:
    return html.unescape(page)


def footer_links(page: str) -> set[str]:
    footer = page.split('<footer class="site">', 1)[1]
    return set(re.findall(r'href="([^"]+)"', footer))


def test_every_legal_page_has_its_heading_listed() -> None:
    assert set(HEADINGS) == set(PAGES)


async def test_each_page_answers_in_french_and_in_english(client: AsyncTestClient) -> None:
    # One app for the five pages: every app started in a test is one more shutdown.
    for path, (french_heading, english_heading) in HEADINGS.items():
        french = await client.get(path)
        assert french.status_code == 200, path
        assert '<html lang="fr"' in french.text
        assert f"<h1>{french_heading}</h1>" in text_of(french.text)
        english = await client.get(path, headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert english.status_code == 200, path
        assert '<html lang="en"' in english.text
        assert f"<h1>{english_heading}</h1>" in text_of(english.text)
        assert french_heading not in text_of(english.text)


async def test_the_home_page_footer_links_every_legal_page(client: AsyncTestClient) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert set(PAGES) <= footer_links(home.text)
    assert french_spaces("Accessibilité : partiellement conforme") in text_of(home.text)


async def test_the_sign_up_form_links_the_conditions_and_the_privacy_policy(
    client: AsyncTestClient,
) -> None:
    signup = await client.get("/inscription")
    form = signup.text.split('<form method="post" action="/inscription"', 1)[1].split("</form>")[0]
    assert 'href="/conditions"' in form and 'href="/confidentialite"' in form


async def test_the_organisation_and_the_grid_cell_come_from_settings(settings: Settings) -> None:
    ours = msgspec.structs.replace(
        settings,
        org_name="Centre social Les Tilleuls",
        org_address="12 rue des Tilleuls, 75018 Paris",
        org_dpo_email="dpo@tilleuls.example.org",
        org_publication_director="Aïcha Benali, directrice",
        org_host="Hébergeur Exemple SAS, 1 rue du Serveur, 59100 Roubaix",
        grid_cell_m=800,
        support_retention_days=400,
    )
    async with AsyncTestClient(create_app(ours)) as client:
        notice = text_of((await client.get("/mentions-legales")).text)
        for value in (ours.org_name, ours.org_address, ours.org_dpo_email,
                      ours.org_publication_director, ours.org_host):  # fmt: skip
            assert value in notice
        privacy = text_of((await client.get("/confidentialite")).text)
        assert "Le responsable de vos données est Centre social Les Tilleuls, 12 rue" in privacy
        assert 'href="mailto:dpo@tilleuls.example.org"' in privacy
        assert "un carré de 800 m de côté" in privacy
        assert "400 jours après le dernier contact" in privacy and "effacé après 12 mois" in privacy
        assert "chaque message effacé 400 jours après son envoi" in privacy
        accessibility = text_of((await client.get("/accessibilite")).text)
        assert (
            "dpo@tilleuls.example.org" in accessibility
            and "partiellement conforme" in accessibility
        )


def test_the_defaults_say_they_are_to_be_set() -> None:
    defaults = Settings()
    for value in (defaults.org_name, defaults.org_address, defaults.org_publication_director,
                  defaults.org_host):  # fmt: skip
        assert "à renseigner" in value
    assert defaults.org_dpo_email.endswith(".invalid")


async def test_the_favicon_and_the_description_are_in_every_page(client: AsyncTestClient) -> None:
    home = await client.get("/")
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', home.text)
    assert link, "no favicon link"
    assert '<meta name="description" content="Voisins met en relation' in text_of(home.text)
    icon = await client.get(link.group(1))
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
