"""Every link voisins sends leads to a page of the app.

Links are built in one place (voisins.links) under the page routes' own names. These
tests tie that table to the app's routes, then render every mail and SMS template of
every kind, for each kind of reader, in both languages, and check every URL in them
against the routes the app really serves — so a renamed or removed page fails here
instead of sending «Page introuvable» to people. (tests/notify/test_matcher_outcomes.py
opens each link of a whole neighbourhood's messages as their reader, through the app.)
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar

from tests.notify.samples import PLAIN
from tests.support.routes import serves
from voisins.app import create_app
from voisins.links import PAGE_PATHS, page_path, page_url
from voisins.notify.channels import KINDS, TRANSACTIONAL_KINDS, Message
from voisins.notify.channels.render import render_email, render_sms
from voisins.notify.inbox_texts import INBOX_PAGE, link_for
from voisins.settings import Settings

BASE = "https://voisins.example.org/quartier"
SAMPLE_PARAMETERS: dict[str, object] = {
    "post_id": 12,
    "resident_id": 5,
    "match_id": 8,
    "token": "42.abc",
}
VOLUNTEER, AUTHOR = 7, 3
# A match's facts as the senders read them: the post, its volunteer.
FACTS = {"post_id": 12, "volunteer_id": VOLUNTEER, "title": "Courses", "category": "courses"}
_URL = re.compile(r"https?://[^\s\"'<>)]+")


@pytest.fixture(scope="module")
def app(base_settings: Settings) -> Litestar:
    return create_app(base_settings)


def served(app: Litestar, url: str) -> bool:
    assert url.startswith(BASE + "/"), url
    return serves(app, url.removeprefix(BASE))


def test_every_page_messages_name_is_that_route_of_the_app(app: Litestar) -> None:
    for name, path in PAGE_PATHS.items():
        params = {k: v for k, v in SAMPLE_PARAMETERS.items() if "{" + k in path}
        assert app.route_reverse(name, **params) == page_path(name, **params), name


def test_a_page_path_refuses_an_unknown_page_or_a_missing_parameter() -> None:
    with pytest.raises(KeyError):
        page_path("posts")
    with pytest.raises(KeyError):
        page_path("post_page")
    assert page_url(BASE + "/", "password_new_page", {"jeton": "a b"}) == (
        BASE + "/mot-de-passe/nouveau?jeton=a+b"
    )


def rendered_links(kind: str, locale: str, recipient: int) -> list[str]:
    """Every URL in the e-mail (text and HTML) and the SMS ``recipient`` would get."""
    context: dict[str, Any] = {
        key: PLAIN[key] for key in (*KINDS[kind].required, *KINDS[kind].optional)
    }
    if kind == "password.reset_requested":
        context["reset_url"] = page_path("password_new_page", {"jeton": "x" * 43})
    elif kind == "account.staff_invited":
        context["url"] = page_path("password_new_page", {"jeton": "x" * 43})
    elif kind == "account.email_confirm":
        context["url"] = page_path("email_confirm_page", {"jeton": "x" * 43})
    elif kind in ("account.email_change_requested", "account.password_changed"):
        context["url"] = page_path("password_forgotten_page")
    elif kind == "digest":
        context["items"] = [
            {"title": "Nouvelle proposition", "url": link_for("match.proposed", FACTS, recipient)},
            {"title": "Confirmée", "url": link_for("match.confirmed", FACTS, recipient)},
        ]
        context["url"] = INBOX_PAGE
    else:
        context["url"] = link_for(kind, FACTS, recipient)
        assert context["url"], f"{kind} leads nowhere"
    message = Message(
        delivery_id=1,
        recipient_id=recipient,
        kind=kind,
        locale=locale,  # type: ignore[arg-type]
        recipient_name="Jeanne",
        context=context,
    )
    unsubscribe = None
    if kind not in TRANSACTIONAL_KINDS:
        unsubscribe = page_url(BASE, "unsubscribe_page", token="42.abc")
    mail = render_email(message, base_url=BASE, unsubscribe_url=unsubscribe)
    sms = render_sms(message, base_url=BASE)
    return _URL.findall(mail.text + mail.html + sms)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_link_of_every_template_is_a_page_of_the_app(app: Litestar, kind: str) -> None:
    for locale in ("fr", "en"):
        for recipient in (VOLUNTEER, AUTHOR):
            links = rendered_links(kind, locale, recipient)
            assert links, (kind, locale)
            for url in links:
                assert served(app, url), (kind, locale, recipient, url)


def test_a_path_the_app_does_not_serve_is_caught(app: Litestar) -> None:
    """The check above can fail: the paths mails used to carry are not pages."""
    for old in ("/posts/12", "/inbox", "/moderation/reports", "/reset-password?token=x"):
        assert not served(app, BASE + old), old
    assert served(app, BASE + "/annonces/12")
