"""Context values for every kind, plain and worst-case (long) variants."""

from __future__ import annotations

from typing import Any

from voisins.notify.channels import KINDS, Message

PLAIN: dict[str, Any] = {
    "title": "Courses pour Mme Martin",
    "category_label": "Courses",
    "band_label": "moins de 1 km",
    "url": "/matches/12",
    "deadline_label": "mardi 3 mars",
    "needs_review": 1,
    "counterpart_name": "Paul",
    "reason": "Le bénévole n'est pas encore vérifié",
    "reset_url": "/password/reset/abcdef",
    "expires_minutes": 30,
    "expires_days": 7,
    "count": 3,
    "for_assisted": None,
    "covered": 1,
    "items": [
        {"title": "Nouvelle proposition : courses", "url": "/matches/12"},
        {"title": "Visite du jeudi", "url": "/matches/13", "summary": "Confirmée"},
    ],
}

LONG: dict[str, Any] = {
    **PLAIN,
    "title": "Aide " * 40,
    "category_label": "Démarches administratives et numériques du quotidien",
    "band_label": "entre 9 et 10 km",
    "url": "https://voisins.centre-social-exemple.example.org/matches/123456789?src=sms",
    "deadline_label": "mercredi 30 septembre",
    "counterpart_name": "Marie-Christine de La Fontaine-Dupont",
    "reason": "Raison très longue " * 20,
    "reset_url": "https://voisins.centre-social-exemple.example.org/password/reset/" + "x" * 43,
    "expires_minutes": 120,
}


def message(
    kind: str, locale: str = "fr", values: dict[str, Any] = PLAIN, /, **extra: Any
) -> Message:
    spec = KINDS[kind]
    context = {key: values[key] for key in (*spec.required, *spec.optional)}
    context.update(extra)
    return Message(
        delivery_id=7,
        recipient_id=42,
        kind=kind,
        locale=locale,  # type: ignore[arg-type]
        recipient_name="Jeanne",
        context=context,
    )
