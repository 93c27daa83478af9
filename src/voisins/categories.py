"""The categories of help, their labels, and which ones are sensitive by nature."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal, get_args

Category = Literal[
    "courses",
    "visite_convivialite",
    "hebergement_intergenerationnel",
    "echange_savoirs",
    "aide_numerique",
    "demarches_administratives",
    "transport_accompagnement",
    "bricolage_jardinage",
    "pret_don",
    "garde_ponctuelle",
]
# Every category, in the order above (benchmarks and forms walk them all).
CATEGORIES: tuple[Category, ...] = get_args(Category)

LABELS: dict[str, tuple[str, str]] = {
    "courses": ("Courses", "Shopping"),
    "visite_convivialite": ("Visite de convivialité", "Friendly visit"),
    "hebergement_intergenerationnel": (
        "Hébergement intergénérationnel",
        "Intergenerational housing",
    ),
    "echange_savoirs": ("Échange de savoirs", "Skill swap"),
    "aide_numerique": ("Aide numérique", "Digital help"),
    "demarches_administratives": ("Démarches administratives", "Paperwork"),
    "transport_accompagnement": ("Transport et accompagnement", "Rides and accompanying"),
    "bricolage_jardinage": ("Bricolage et jardinage", "DIY and gardening"),
    "pret_don": ("Prêt et don d'objets", "Lending and giving"),
    "garde_ponctuelle": ("Garde ponctuelle", "Occasional childcare"),
}

# Home visits, housing, childcare and paperwork expose vulnerable people or their
# documents: a vetted volunteer and a social worker's review are needed.
SENSITIVE_CATEGORIES = frozenset(
    {
        "visite_convivialite",
        "hebergement_intergenerationnel",
        "garde_ponctuelle",
        "demarches_administratives",
    }
)


def is_sensitive(
    category: str, beneficiary_flags: Collection[str], author_flags: Collection[str]
) -> bool:
    """Sensitivity is decided here, server-side, never taken from a client."""
    return category in SENSITIVE_CATEGORIES or bool(beneficiary_flags) or bool(author_flags)
