"""Every link and form of every page template leads to a route of the app.

A template's static links (``href``, ``hx-get``) must be GET routes, its forms (``action``)
routes of their method and ``hx-post`` POST routes; ``{{ … }}`` parts stand for an id. Links built
entirely by an expression are left to the pages' own tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar

from tests.support.routes import serves
from voisins.app import create_app
from voisins.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "voisins" / "web" / "templates"
STATIC = TEMPLATES.parent / "static"
_TAG = re.compile(r"<[a-z]+\b[^>]*>", re.S)
_LINK = re.compile(r'\b(href|action|hx-get|hx-post)="(/[^"]*)"')
_FORM_METHOD = re.compile(r'\bmethod="(\w+)"', re.I)
_EXPRESSION = re.compile(r"\{\{.*?\}\}")
METHOD = {"href": "GET", "hx-get": "GET", "hx-post": "POST"}


def template_links() -> list[tuple[str, str, str]]:
    """(template, method, path) of every static link of every page template."""
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for tag in _TAG.findall(template.read_text()):
            for attribute, value in _LINK.findall(tag):
                if attribute == "action":  # a form: its method, GET when it says none
                    method = _FORM_METHOD.search(tag)
                    verb = method.group(1).upper() if method else "GET"
                else:
                    verb = METHOD[attribute]
                path = _EXPRESSION.sub("1", value)
                found.append((str(template.relative_to(TEMPLATES)), verb, path))
    return found


@pytest.fixture(scope="module")
def app(base_settings: Settings) -> Litestar:
    return create_app(base_settings)


def test_every_link_and_form_of_the_page_templates_has_its_route(app: Litestar) -> None:
    links = template_links()
    assert len(links) > 50  # the scan sees the templates
    broken = []
    for template, method, path in links:
        if path.startswith("/static/app/"):  # our own files: they must exist
            if not (STATIC / path.removeprefix("/static/app/").split("?")[0]).is_file():
                broken.append((template, path))
        elif not serves(app, path, method):
            broken.append((template, method, path))
    assert not broken, broken


def test_the_check_catches_a_page_that_does_not_exist(app: Litestar) -> None:
    assert not serves(app, "/posts/1")
    assert not serves(app, "/annonces/1/retirer", "DELETE")
    assert serves(app, "/annonces/1/retirer", "POST")
