"""Every French text of the pages has its English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from voisins.web.i18n import translations

WEB = Path(__file__).resolve().parents[2] / "src" / "voisins" / "web"
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]


def french_ids() -> set[str]:
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=METHODS, keywords={"_": None, "N_": None, "gettext": None}
    ):
        if isinstance(message, str) and message:
            ids.add(message)
    return ids


def test_the_extractor_finds_the_pages_texts() -> None:
    ids = french_ids()
    assert "Se connecter" in ids and "E-mail ou mot de passe incorrect." in ids


def test_every_text_has_an_english_translation() -> None:
    catalogue = translations("en")._catalog  # type: ignore[attr-defined]
    missing = sorted(i for i in french_ids() if not catalogue.get(i))
    assert not missing, f"{len(missing)} texts without English: {missing[:20]}"
