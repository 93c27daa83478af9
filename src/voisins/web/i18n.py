"""French first, English available: Babel catalogues compiled in memory at start-up.

Message ids are the French texts (the product's language); ``locale/en`` translates
them. A missing English translation falls back to French, never to an error.
Each area of the site has its own catalogue file (``locale/en/LC_MESSAGES/*.po``);
tests/web/test_i18n.py fails when a text of a template or a route has no English.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from litestar.datastructures import Cookie

from voisins.typography import french_message

Locale = Literal["fr", "en"]
LOCALES: tuple[Locale, ...] = ("fr", "en")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANG_COOKIE = "voisins_lang"


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of ``locale`` (every ``.po`` file of its directory: one per area of
    the site); French — the message ids themselves — otherwise."""
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if locale == "fr" or not files:
        return NullTranslations()
    merged: Translations | None = None
    for po in files:
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = Translations(compiled)
        merged = part if merged is None else merged.merge(part)
    assert merged is not None
    return merged


def negotiate(cookie: str | None, accept_language: str, account_locale: str | None) -> Locale:
    """The account's choice, else the page's switch (cookie), else the browser's first
    language we speak, else French."""
    for choice in (account_locale, cookie):
        if choice in LOCALES:
            return choice  # type: ignore[return-value]
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return "fr"


def language_cookie(locale: str) -> Cookie:
    """The pages' language switch; it also remembers an account's language after logout."""
    return Cookie(key=LANG_COOKIE, value=locale, max_age=365 * 86400, path="/", samesite="lax")


def gettext_for(locale: str) -> Any:
    """The pages' ``_``. French text gets its no-break spaces here, the one place
    every French text of the pages goes through (voisins.typography)."""
    if locale == "fr":
        return _french_gettext
    return translations(locale).gettext


def ngettext_for(locale: str) -> Any:
    if locale == "fr":
        return _french_ngettext
    return translations(locale).ngettext


def _french_gettext(message: str) -> str:
    return french_message(translations("fr").gettext(message))


def _french_ngettext(singular: str, plural: str, n: int) -> str:
    # French puts 0 in the singular («0 aide réalisée»); gettext's default (n != 1) does not.
    return french_message(singular if n <= 1 else plural)
