"""In-app texts, French first: short sentences, no address, no personal detail beyond
what the recipient already may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.categories import LABELS
from voisins.notify.preferences import PARIS

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "match.proposed": {
        "fr": (
            "Nouvelle proposition près de chez vous",
            "{category} : « {title} ». Pouvez-vous aider ?",
        ),
        "en": ("New request near you", "{category}: “{title}”. Can you help?"),
    },
    "match.accepted": {
        "fr": ("Un bénévole a accepté", "Quelqu'un a accepté votre demande « {title} »."),
        "en": ("A volunteer accepted", "Someone accepted your request “{title}”."),
    },
    "match.review_needed": {
        "fr": (
            "Mise en relation à valider",
            "Une mise en relation sensible attend votre avis : « {title} ».",
        ),
        "en": ("Match to review", "A sensitive match is waiting for your review: “{title}”."),
    },
    "match.confirmed": {
        "fr": (
            "Mise en relation confirmée",
            "Vous pouvez maintenant vous contacter pour « {title} ».",
        ),
        "en": ("Match confirmed", "You can now contact each other about “{title}”."),
    },
    "match.approved": {
        "fr": (
            "Mise en relation validée",
            "Le centre social a validé votre aide pour « {title} ».",
        ),
        "en": ("Match approved", "The centre approved your help for “{title}”."),
    },
    "match.rejected": {
        "fr": (
            "Mise en relation non retenue",
            "Le centre social n'a pas retenu cette mise en relation : « {title} ».",
        ),
        "en": ("Match not approved", "The centre did not approve this match: “{title}”."),
    },
    "match.cancelled": {
        "fr": ("Mise en relation annulée", "La mise en relation pour « {title} » est annulée."),
        "en": ("Match cancelled", "The match for “{title}” was cancelled."),
    },
    "post.no_response": {
        "fr": (
            "Demande sans réponse",
            "Personne n'a pu répondre à « {title} ». Un contact est à prévoir.",
        ),
        "en": ("Request without answer", "Nobody could answer “{title}”. Please reach out."),
    },
    "post.review_needed": {
        "fr": ("Annonce à valider", "Une annonce attend votre validation : « {title} »."),
        "en": ("Post to review", "A post is waiting for your review: “{title}”."),
    },
    "post.approved": {
        "fr": ("Annonce en ligne", "Le centre social a validé votre annonce « {title} »."),
        "en": ("Post online", "The centre approved your post “{title}”."),
    },
    "post.rejected": {
        "fr": (
            "Annonce non publiée",
            "Le centre social n'a pas publié votre annonce « {title} ». Vous pouvez la modifier.",
        ),
        "en": ("Post not published", "The centre did not publish your post “{title}”."),
    },
    "report.filed": {
        "fr": ("Nouveau signalement", "Un signalement est arrivé pour votre centre."),
        "en": ("New report", "A report came in for your centre."),
    },
    "reminder": {
        "fr": (
            "Une demande attend votre réponse",
            "« {title} » attend toujours votre réponse. Vous pouvez aussi dire non.",
        ),
        "en": ("A request awaits your answer", "“{title}” still awaits your answer."),
    },
    "password.reset_requested": {
        "fr": (
            "Nouveau mot de passe",
            "Un lien pour choisir un nouveau mot de passe vous a été envoyé.",
        ),
        "en": ("New password", "A link to choose a new password was sent to you."),
    },
}


async def post_facts(conn: AsyncConnection, payload: dict[str, Any]) -> dict[str, Any]:
    """The request an event is about: its title and category, by id."""
    if "match_id" in payload:
        query = (
            "SELECT p.id, p.title, p.category FROM matches m JOIN posts p ON p.id = m.post_id "
            "WHERE m.id = :id"
        )
        key = payload["match_id"]
    elif "post_id" in payload:
        query = "SELECT id, title, category FROM posts WHERE id = :id"
        key = payload["post_id"]
    else:
        return {"title": "", "category": "", "post_id": None}
    row = (await conn.execute(text(query), {"id": key})).first()
    if row is None:
        return {"title": "", "category": "", "post_id": None}
    return {"title": row.title, "category": row.category, "post_id": row.id}


def render(kind: str, locale: str, facts: dict[str, Any]) -> tuple[str, str]:
    title, body = TEXTS.get(kind, {}).get(locale) or TEXTS.get(kind, {}).get("fr") or (kind, "")
    labels = LABELS.get(facts.get("category") or "", ("", ""))
    category = labels[0] if locale == "fr" else labels[1]
    return title, body.format(title=facts.get("title", ""), category=category)


def link_for(facts: dict[str, Any]) -> str | None:
    return f"/posts/{facts['post_id']}" if facts.get("post_id") else None


_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def moment_label(moment: datetime, locale: str) -> str:
    """A deadline as people say it, in Paris time: « lundi 23/11 à 14 h 00 »."""
    local = moment.astimezone(PARIS)
    if locale == "fr":
        return f"{_DAYS['fr'][local.weekday()]} {local:%d/%m} à {local:%H} h {local:%M}"
    return f"{_DAYS['en'][local.weekday()]} {local:%d/%m}, {local:%H:%M}"
