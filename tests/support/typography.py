"""For tests that look for a French sentence as it is written in the code (« Mot de
passe oublié ? »): pages, mails and SMS set French no-break spaces before ; : ! ? and
inside « » (voisins.typography), so compare ``as_typed(text)`` instead of ``text``."""

from __future__ import annotations

from voisins.typography import NBSP, NNBSP


def as_typed(text: str) -> str:
    """``text`` with French typography's no-break spaces turned back into plain ones."""
    return text.replace(NNBSP, " ").replace(NBSP, " ")
