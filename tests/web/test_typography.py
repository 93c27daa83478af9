"""French typography: no-break spaces before « ; ! ? : » and inside « », in the pages
(every French page the test world reaches, for each kind of viewer), in every French
e-mail and SMS, and in the in-app messages. English text is left as written."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.notify.samples import PLAIN, message
from tests.support.world import build_world, with_matches
from voisins.app import create_app
from voisins.notify.channels import KINDS, TRANSACTIONAL_KINDS
from voisins.notify.channels.render import render_email, render_sms
from voisins.notify.inbox_texts import TEXTS, render
from voisins.settings import Settings
from voisins.typography import NBSP, NNBSP, french_spaces
from voisins.web.i18n import gettext_for, ngettext_for

from ..support.typography import PLAIN_SPACE, plain_spaces, visible_text


@pytest.mark.parametrize(
    ("written", "typeset"),
    [
        ("Mot de passe oublié ?", f"Mot de passe oublié{NNBSP}?"),
        ("Merci !", f"Merci{NNBSP}!"),
        ("un ; deux", f"un{NNBSP}; deux"),
        ("Quand : mardi", f"Quand{NBSP}: mardi"),
        ("« Courses »", f"«{NBSP}Courses{NBSP}»"),
        ("Vraiment ?!", f"Vraiment{NNBSP}?!"),
        # Several spaces, a tab, a no-break space of the wrong kind: one right space.
        ("Oui  ?", f"Oui{NNBSP}?"),
        ("Oui\t!", f"Oui{NNBSP}!"),
        (f"Quand{NNBSP}:", f"Quand{NBSP}:"),
        # A line break stays a line break.
        ("Bonjour\n: suite", "Bonjour\n: suite"),
    ],
)
def test_french_spaces_before_tall_punctuation_and_inside_quotes(
    written: str, typeset: str
) -> None:
    assert french_spaces(written) == typeset


@pytest.mark.parametrize(
    "untouched",
    [
        "à 14:00, de 9:30 à 12:00",
        "http://voisins.example.org/annonces/3?src=sms&x=1",
        "Voir https://exemple.fr/a:b?c=d!e",
        "Attention! Rien avant.",
        "/connexion?suite=/mes-annonces",
        "Help between neighbours: it's free!",
        "",
    ],
)
def test_text_without_a_space_before_the_mark_is_left_as_written(untouched: str) -> None:
    assert french_spaces(untouched) == untouched


def test_urls_in_a_sentence_keep_their_colons_and_question_marks() -> None:
    written = "Pour répondre : https://voisins.example.org/propositions?id=3 ?"
    assert french_spaces(written) == (
        f"Pour répondre{NBSP}: https://voisins.example.org/propositions?id=3{NNBSP}?"
    )


def test_html_tags_attributes_scripts_and_styles_are_not_touched() -> None:
    written = (
        '<a href="/aide?x=1" title="Aide : ici ?" style="color : red">Aide ?</a> '
        "<strong>Demande</strong> : « <em>Courses</em> »"
        "<script>if (a ? b : c) {}</script><style>a :hover { x : y }</style>"
        "<!-- note : rien -->"
    )
    assert french_spaces(written) == (
        f'<a href="/aide?x=1" title="Aide : ici ?" style="color : red">Aide{NNBSP}?</a> '
        f"<strong>Demande</strong>{NBSP}: «{NBSP}<em>Courses</em>{NBSP}»"
        "<script>if (a ? b : c) {}</script><style>a :hover { x : y }</style>"
        "<!-- note : rien -->"
    )


@pytest.mark.parametrize(
    "written",
    [
        "Mot de passe oublié ? Quand : mardi ; « Courses » !",
        '<p title="a : b">Oui ? <a href="http://x.org/?q=1">ici</a> : « là »</p>',
        "à 14:00 ! http://x.org",
    ],
)
def test_applying_it_twice_changes_nothing_more(written: str) -> None:
    once = french_spaces(written)
    assert french_spaces(once) == once
    assert once != written


def test_the_pages_gettext_typesets_french_and_leaves_english_alone() -> None:
    french = gettext_for("fr")
    assert french("Mot de passe oublié ?") == f"Mot de passe oublié{NNBSP}?"
    # The catalogue is still looked up by the French text as written.
    english = gettext_for("en")
    assert english("Mot de passe oublié ?") == "Forgot your password?"
    assert ngettext_for("fr")("%(n)s texte :", "%(n)s textes :", 2) == f"%(n)s textes{NBSP}:"


def test_every_french_in_app_message_is_typeset_and_english_is_not() -> None:
    facts = {"title": "Courses", "category": "courses", "count": 2, "covered": True}
    for kind in TEXTS:
        base = kind.split("/")[0]
        title, body = render(base, "fr", facts)
        assert not PLAIN_SPACE.search(title + "\n" + body), (kind, title, body)
        title, body = render(base, "en", facts)
        assert NBSP not in body and NNBSP not in body, kind
    _, body = render("match.proposed", "fr", facts)
    assert f"«{NBSP}Courses{NBSP}»" in body and f"aider{NNBSP}?" in body


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_french_mail_and_sms_has_no_plain_space_before_tall_punctuation(kind: str) -> None:
    unsubscribe = None if kind in TRANSACTIONAL_KINDS else "https://v.example.org/unsubscribe/1.t"
    # Each wording: plain, for an assisted resident's social worker, with no centre.
    for variant in ({}, {"for_assisted": 1}, {"covered": None}):
        extra = {k: v for k, v in variant.items() if k in KINDS[kind].optional}
        msg = message(kind, "fr", PLAIN, **extra)
        mail = render_email(msg, base_url="https://v.example.org", unsubscribe_url=unsubscribe)
        assert not plain_spaces(mail.subject), mail.subject
        assert not plain_spaces(mail.text), plain_spaces(mail.text)
        assert not plain_spaces(visible_text(mail.html)), plain_spaces(visible_text(mail.html))
        sms = render_sms(msg, base_url="https://v.example.org")
        assert not plain_spaces(sms), sms
    # The links are still whole, and English mails are left as written.
    assert "https://v.example.org/matches/12" in mail.text + mail.html + sms or kind in (
        TRANSACTIONAL_KINDS
    )
    english = render_email(
        message(kind, "en"), base_url="https://v.example.org", unsubscribe_url=unsubscribe
    )
    assert NNBSP not in english.text and NNBSP not in english.subject


def page_paths(app: Litestar, ids: dict[str, int | str]) -> list[str]:
    """Every page the app serves by GET whose path parameters the test world can fill."""
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods:
            continue
        if route.path.startswith(("/api", "/static", "/schema", "/health")):
            continue
        path = route.path
        for name, value in ids.items():
            path = re.sub(r"\{" + name + r":\w+\}", str(value), path)
        if "{" not in path:
            paths.append(path)
    return sorted(set(paths))


async def test_every_french_page_of_every_viewer_has_no_plain_space_before_tall_punctuation(
    settings: Settings, engine: AsyncEngine
) -> None:
    app = create_app(settings)
    async with AsyncTestClient(app) as client:
        world = await with_matches(client, engine, await build_world(client, engine))
        ids: dict[str, int | str] = {
            "post_id": world.posts["alice"],
            "resident_id": world.odile_id,
            "token": "not-a-token",
            "match_id": world.matches["basile_victor"],
            "volunteer_id": world.vera.id,
            "centre_id": world.centre_18,
        }
        paths = page_paths(app, ids)
        assert len(paths) >= 25, paths
        viewers = {
            "anonymous": None,
            "resident": world.alice.token,
            "volunteer": world.vera.token,
            "social worker": world.worker_18.token,
            "admin": world.admin.token,
        }
        checked = 0
        for viewer, token in viewers.items():
            client.cookies.clear()
            if token:
                client.cookies.set("voisins_session", token)
            for path in paths:
                response = await client.get(path, headers={"Accept-Language": "fr-FR"})
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                # Fragments (htmx parts of a page) carry no <html>.
                assert "<html" not in response.text or '<html lang="fr"' in response.text
                found = plain_spaces(visible_text(response.text))
                assert not found, (viewer, path, found)
                checked += 1
        # Redirects to the login page count as the login page: most pages are real.
        assert checked >= len(viewers) * 20, checked
