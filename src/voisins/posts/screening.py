"""Screening of the texts everyone can read on a post: its title, its description and its
skill tags.

A post is public, its author's contact and address are not: they are exchanged once a
match is confirmed (and reviewed, when sensitive). So a phone number, an e-mail address
or a street address written into a public text is refused, with a message saying why.
A title or description that seems to name a person ("Courses pour Mme Lefèvre") is only
a warning: the name may be a shop's or a street's, and the author decides — but a social
worker posting for an assisted resident must not put the resident's name in a public
listing without noticing.

The detectors aim at few false alarms: "2 sacs", "3e étage", "le 12/05", "1 place
libre" or "2 cours d'anglais" pass. Everything here is pure text, tested without a
database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from voisins.errors import Invalid

Kind = Literal["phone", "email", "address"]

# Why a text is refused, in French (English in the pages' catalogues, posts.po).
REASONS: dict[Kind, str] = {
    "phone": (
        "Pas de numéro de téléphone ici : ce texte est public. Les coordonnées sont "
        "échangées une fois la mise en relation confirmée."
    ),
    "email": (
        "Pas d'adresse e-mail ici : ce texte est public. Les coordonnées sont échangées "
        "une fois la mise en relation confirmée."
    ),
    "address": (
        "Pas d'adresse postale ici : ce texte est public. Indiquez le lieu dans le champ "
        "Adresse : il n'est montré qu'après la mise en relation confirmée."
    ),
}
# The warning, with the words found in place of %(name)s.
NAMES_PERSON = (
    "Ce texte semble nommer une personne (« %(name)s ») et il sera public. Préférez "
    "« une voisine », « un habitant » : le nom est échangé après la mise en relation."
)

# Separators people put inside phone numbers: space, dot, dash, and the no-break spaces
# French typography puts there.
_SEP = r"[ .\-\u00a0\u202f]?"
_PHONE = re.compile(
    rf"""
    (?<![\w+])                          # not the end of a longer number or word
    (?:
        (?:\+|00)\s?33\s?(?:\(0\)\s?)?[1-9]   # +33 6…, 0033 6…, +33 (0)6…
      | 0[1-9]                                # 06…, 01…
    )
    (?:{_SEP}\d){{8}}                   # eight more digits, grouped any way
    (?!\d)
    """,
    re.VERBOSE,
)
# Other countries' numbers in international form: a plus, then 8 to 14 digits.
_INTERNATIONAL_PHONE = re.compile(rf"(?<![\w+])\+[1-9](?:{_SEP}\d){{7,13}}(?!\d)")
# "a@b.fr", and its spelled-out forms: "a (at) b (dot) fr", "a arobase b point fr".
_DOT = r"(?: \. | \((?:dot|point)\) | \[(?:dot|point)\] | \bdot\b | \bpoint\b )"
_EMAIL = re.compile(
    rf"""
    (?<![\w.+\-]) [\w.+\-]+ \s* (?: @ | \((?:at|arobase)\) | \[(?:at|arobase)\] | \barobase\b ) \s*
    [\w\-]+ (?: \s* {_DOT} \s* [\w\-]+ )*? \s* {_DOT} \s* [a-z]{{2,}}\b
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Street types that mean a street whatever follows ("12 rue de la paix").
_STREET = (
    r"rue|av\.?|avenue|bd|boulevard|impasse|all[ée]e|quai|faubourg|fbg|chauss[ée]e"
    r"|ruelle|r[ée]sidence"
)
# Words that are streets only when a name follows ("1 place de la Nation", not "1 place
# libre"; "5 cours Mirabeau", not "2 cours de maths").
_MAYBE_STREET = (
    r"place|pl\.|chemin|cours|passage|square|villa|route|cit[ée]|hameau|esplanade"
    r"|promenade|parvis|voie|mail|lotissement|rond-point|sente|sentier|traverse"
)
_UPPER = "A-ZÀ-ÖØ-Þ"
# Capitalised words after "cours de", "place du"… that are lessons or tickets, not names.
_NOT_NAMES = (
    r"Anglais|Fran[çc]ais|Allemand|Espagnol|Italien|Portugais|Arabe|Chinois|Russe|Turc"
    r"|Maths?|Math[ée]matiques|Physique|Chimie|Histoire|G[ée]ographie|Musique|Piano"
    r"|Guitare|Informatique|Dessin|Yoga|Cuisine|Couture|Soutien|Danse|Th[ée][âa]tre|FLE"
    r"|Code|Parking|Cin[ée]ma|Concert"
)
_NUMBER = r"(?<![\w,.])\d{1,4}(?:\s?[-/]\s?\d{1,4})?(?:\s?(?:bis|ter|quater|[a-dA-D]))?,?"
_PARTICLE = r"(?:(?:de\s+la|de\s+l['’]|du|des|de|d['’]|la|le|les|l['’])\s*)?"
_ADDRESS = re.compile(
    rf"""
    {_NUMBER}\s+
    (?:
        (?i:{_STREET})\b\s+[\w'’]
      | (?i:{_MAYBE_STREET})(?![\w-])\s+{_PARTICLE}(?!(?:{_NOT_NAMES})\b)[{_UPPER}0-9]
    )
    """,
    re.VERBOSE,
)
# Mme Lefèvre, M. Dupont, Monsieur de Villiers, madame Diallo.
_PERSON = re.compile(
    rf"""
    (?<![\w.])
    (?:
        (?i:madame|monsieur|mademoiselle|mesdames|messieurs)
      | Mmes?\.? | Mlles?\.? | MM\. | M\. | Mrs?\.? | Ms\.?
    )
    \s+ (?:(?:de|du|d['’]|van|von)\s*)?
    [{_UPPER}][\w'’\-]+
    """,
    re.VERBOSE,
)


def contact_details(text: str) -> Kind | None:
    """What contact detail ``text`` carries, if any (the first kind found, in the order
    phone, e-mail, address)."""
    if _PHONE.search(text) or _INTERNATIONAL_PHONE.search(text):
        return "phone"
    if _EMAIL.search(text):
        return "email"
    if _ADDRESS.search(text):
        return "address"
    return None


def named_person(text: str) -> str | None:
    """The words that seem to name a person ("Mme Lefèvre"), if any."""
    found = _PERSON.search(text)
    return found.group(0) if found else None


class TextWarning(msgspec.Struct, kw_only=True):
    """Something in a public text the author may want to change; the post is saved."""

    field: str
    code: Literal["names_person"]
    # What was found ("Mme Lefèvre"), for a client to point at.
    found: str
    detail: str


@dataclass(frozen=True)
class PublicTexts:
    """The public texts of a post, by field path; absent ones (an edit that leaves
    them) are None."""

    title: str | None = None
    description: str | None = None
    skill_tags: Sequence[str] | None = None

    def fields(self) -> Iterable[tuple[str, str]]:
        if self.title is not None:
            yield "title", self.title
        if self.description is not None:
            yield "description", self.description
        for i, tag in enumerate(self.skill_tags or ()):
            yield f"skill_tags[{i}]", tag


class ScreeningRefused(Invalid):
    """A public text carries contact details; ``fields`` say which and why (French)."""


def refusals(texts: PublicTexts) -> dict[str, str]:
    """Field path → why it is refused, for every public text with contact details."""
    refused: dict[str, str] = {}
    for field, text in texts.fields():
        kind = contact_details(text)
        if kind is not None:
            refused[field] = REASONS[kind]
    return refused


def check(texts: PublicTexts) -> list[TextWarning]:
    """Refuse (ScreeningRefused, 422) public texts with contact details; otherwise the
    warnings about them (a title or description naming a person)."""
    refused = refusals(texts)
    if refused:
        first = next(iter(refused))
        raise ScreeningRefused(f"{first}: {refused[first]}", refused)
    return warnings(texts)


def names_found(warnings: list[TextWarning]) -> str:
    """The names ``warnings`` point at, as one string: a form sends it back with the
    texts, and the same string again means "publish as is, knowingly"."""
    return "|".join(sorted({w.found for w in warnings}))


def warnings(texts: PublicTexts) -> list[TextWarning]:
    found: list[TextWarning] = []
    for field, text in texts.fields():
        if field not in ("title", "description"):
            continue
        name = named_person(text)
        if name is not None:
            found.append(
                TextWarning(
                    field=field,
                    code="names_person",
                    found=name,
                    detail=NAMES_PERSON % {"name": name},
                )
            )
    return found
