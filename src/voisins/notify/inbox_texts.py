"""In-app inbox texts, French first: short sentences, no address, no personal detail
beyond what the recipient already may see. Beside them, what every channel asks of an
event: the facts its message needs (by id), the page it links to, a moment's label.

The inbox's words are plain Python tables here; the e-mails' and SMS' words are Jinja
templates, rendered by channels/render.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.categories import LABELS
from voisins.links import page_path
from voisins.notify.preferences import PARIS
from voisins.typography import french_spaces

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
            "Vous pouvez maintenant vous écrire au sujet de « {title} ».",
        ),
        "en": ("Match confirmed", "You can now write to each other about “{title}”."),
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
    # Someone wrote in a conversation. Never the text: the message says who it is about
    # and leads to the conversation, where the reader signs in to read it.
    "conversation.to_volunteer": {
        "fr": (
            "Nouveau message",
            "Vous avez un nouveau message au sujet de « {title} ». Lisez-le sur voisins.",
        ),
        "en": ("New message", "You have a new message about “{title}”. Read it on voisins."),
    },
    "conversation.to_requester": {
        "fr": (
            "Nouveau message",
            "Vous avez un nouveau message au sujet de votre demande « {title} ». "
            "Lisez-le sur voisins.",
        ),
        "en": (
            "New message",
            "You have a new message about your request “{title}”. Read it on voisins.",
        ),
    },
    "conversation.to_requester/assisted": {
        "fr": (
            "Nouveau message",
            "Un message est arrivé pour la personne que vous accompagnez, au sujet de la "
            "demande « {title} ». Lisez-le sur voisins.",
        ),
        "en": (
            "New message",
            "A message came for the person you support, about the request “{title}”. "
            "Read it on voisins.",
        ),
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
    "post.updated": {
        "fr": (
            "Une demande a changé",
            "« {title} » a été modifiée après votre accord. Relisez-la dans « Mes aides ».",
        ),
        "en": (
            "A request changed",
            "“{title}” was edited after you said yes. Read it again in “My help”.",
        ),
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
    # To the author of an offer: open requests nearby were proposed to them.
    "match.offer_proposed": {
        "fr": (
            "Des demandes pour votre offre",
            "{count} demandes près de chez vous correspondent à votre offre « {title} ». "
            "Pouvez-vous aider ?",
        ),
        "en": (
            "Requests for your offer",
            "{count} requests near you match your offer “{title}”. Can you help?",
        ),
    },
    "match.offer_proposed/one": {
        "fr": (
            "Une demande pour votre offre",
            "Une demande près de chez vous correspond à votre offre « {title} ». "
            "Pouvez-vous aider ?",
        ),
        "en": (
            "A request for your offer",
            "A request near you matches your offer “{title}”. Can you help?",
        ),
    },
    # To the author of a request: a neighbour's offer fits it. Nothing about who or where.
    "post.offer_nearby": {
        "fr": (
            "Un voisin propose son aide",
            "Un voisin près de chez vous propose son aide ({category}). "
            "Nous lui avons demandé de répondre à votre demande « {title} ».",
        ),
        "en": (
            "A neighbour offers help",
            "A neighbour near you offers help ({category}). "
            "We asked them to answer your request “{title}”.",
        ),
    },
    # The same, to the social worker who posted it for an assisted resident.
    "post.offer_nearby/assisted": {
        "fr": (
            "Un voisin propose son aide",
            "Un voisin propose son aide ({category}) près de la personne que vous accompagnez. "
            "Nous lui avons demandé de répondre à la demande « {title} ».",
        ),
        "en": (
            "A neighbour offers help",
            "A neighbour offers help ({category}) near the person you support. "
            "We asked them to answer the request “{title}”.",
        ),
    },
    # To the author of a request nobody answered: the centre's follow-up list has it.
    "post.unanswered": {
        "fr": (
            "Pas encore de réponse",
            "Personne n'a encore pu répondre à votre demande « {title} ». "
            "Le centre social est prévenu : il va vous contacter.",
        ),
        "en": (
            "No answer yet",
            "Nobody could answer your request “{title}” yet. "
            "The community centre knows: they will contact you.",
        ),
    },
    # No centre covers the place: nobody will call, so none is promised.
    "post.unanswered/uncovered": {
        "fr": (
            "Pas encore de réponse",
            "Personne n'a encore pu répondre à votre demande « {title} ». Elle reste en ligne. "
            "Vous pouvez aussi publier une nouvelle demande avec d'autres horaires.",
        ),
        "en": (
            "No answer yet",
            "Nobody could answer your request “{title}” yet. It stays online. "
            "You can also post a new request with other times.",
        ),
    },
    "post.unanswered/assisted": {
        "fr": (
            "Pas encore de réponse",
            "Personne n'a encore pu répondre à la demande « {title} », publiée pour une "
            "personne que vous accompagnez. Vous pouvez la prévenir ou chercher une autre "
            "solution.",
        ),
        "en": (
            "No answer yet",
            "Nobody could answer the request “{title}” yet (posted for a person you "
            "support). You can let them know or look for another solution.",
        ),
    },
}

# Facts a few kinds need beyond the title, as columns over the post ``p``; ``{topic}``
# is the SQL expression of the event's topic, so that other kinds pay nothing for them.
# - offer_requests: the requests proposed by the offer's latest matching run (the index
#   on the volunteer's matches finds them);
# - for_assisted: an assisted resident's request, whose messages go to the social
#   worker who posted it (as in recipients._AUTHOR_OF_POST);
# - covered: a centre covers the post, so its follow-up list has it.
OUTCOME_COLUMNS = """
CASE WHEN {topic} = 'match.offer_proposed' THEN (
    SELECT count(*) FROM matches r
    WHERE r.volunteer_id = p.author_id AND r.offer_id = p.id
      AND r.proposed_at = (SELECT max(l.proposed_at) FROM matches l
                           WHERE l.volunteer_id = p.author_id AND l.offer_id = p.id))
END AS offer_requests,
CASE WHEN {topic} IN ('post.offer_nearby', 'post.unanswered', 'conversation.to_requester')
THEN (
    SELECT a.assisted AND p.created_by IS NOT NULL FROM users a WHERE a.id = p.author_id)
END AS for_assisted,
CASE WHEN {topic} = 'post.unanswered' THEN
    EXISTS (SELECT 1 FROM post_centres pc WHERE pc.post_id = p.id)
END AS covered
"""


_NO_FACTS: dict[str, Any] = {
    "title": "", "category": "", "post_id": None, "volunteer_id": None, "match_id": None,
}  # fmt: skip


async def post_facts(
    conn: AsyncConnection, payload: dict[str, Any], kind: str = ""
) -> dict[str, Any]:
    """The post an event is about (its title and category) and, for ``kind``, the few
    facts its message needs, by id."""
    columns = "p.id, p.title, p.category, " + OUTCOME_COLUMNS.format(topic=":kind")
    if "match_id" in payload:
        query = (
            f"SELECT {columns}, m.volunteer_id FROM matches m "
            "JOIN posts p ON p.id = m.post_id WHERE m.id = :id"
        )
        key = payload["match_id"]
    elif "post_id" in payload:
        query = f"SELECT {columns}, NULL AS volunteer_id FROM posts p WHERE p.id = :id"
        key = payload["post_id"]
    else:
        return dict(_NO_FACTS)
    row = (await conn.execute(text(query), {"id": key, "kind": kind})).first()
    if row is None:
        return dict(_NO_FACTS)
    return {
        "title": row.title,
        "category": row.category,
        "post_id": row.id,
        "volunteer_id": row.volunteer_id,
        "match_id": payload.get("match_id"),
        "count": row.offer_requests,
        "for_assisted": bool(row.for_assisted),
        "covered": bool(row.covered),
    }


# Kinds worded otherwise for the social worker who reads for an assisted resident.
_FOR_ASSISTED = frozenset({"post.offer_nearby", "post.unanswered", "conversation.to_requester"})


def variant(kind: str, facts: Mapping[str, Any]) -> str:
    """The wording a message takes: its kind, or ``kind/variant`` when the facts call
    for other words (one request, not several; a social worker reading for an assisted
    resident; no centre to call)."""
    if kind == "match.offer_proposed" and facts.get("count") == 1:
        return kind + "/one"
    if kind in _FOR_ASSISTED and facts.get("for_assisted"):
        return kind + "/assisted"
    if kind == "post.unanswered" and not facts.get("covered"):
        return kind + "/uncovered"
    return kind


def render(kind: str, locale: str, facts: dict[str, Any]) -> tuple[str, str]:
    texts = TEXTS.get(variant(kind, facts)) or TEXTS.get(kind, {})
    title, body = texts.get(locale) or texts.get("fr") or (kind, "")
    labels = LABELS.get(facts.get("category") or "", ("", ""))
    category = labels[0] if locale == "fr" else labels[1]
    body = body.format(
        title=facts.get("title", ""), category=category, count=facts.get("count") or 0
    )
    if locale == "fr":
        return french_spaces(title), french_spaces(body)
    return title, body


# Where each kind of message leads on the pages (route names of voisins.links): a
# volunteer answers on their propositions, follows what they accepted on "my help",
# social workers act from the centre's pages, and the rest lead to the post itself.
_PAGES = {
    "match.proposed": "propositions",
    "reminder": "propositions",
    "match.offer_proposed": "propositions",
    "match.approved": "my_matches",
    "match.rejected": "my_matches",
    "post.updated": "my_matches",
    "match.review_needed": "centre_queue",
    "post.review_needed": "centre_queue",
    "post.no_response": "centre_followups",
    "report.filed": "centre_reports",
    "digest": "inbox",
}
# Sent to both sides of a match: the volunteer follows it on "my help", the author
# (or the social worker acting for them) on the request's page.
_BOTH_SIDES = frozenset({"match.confirmed", "match.cancelled"})
INBOX_PAGE = page_path("inbox")
_CONVERSATION = frozenset({"conversation.to_volunteer", "conversation.to_requester"})


def link_for(kind: str, facts: Mapping[str, Any], recipient_id: int | None = None) -> str | None:
    """The path of the page a message about ``facts`` leads ``recipient_id`` to; None
    when no page fits (a password reset carries its own link)."""
    if kind in _PAGES:
        return page_path(_PAGES[kind])
    if (kind in _CONVERSATION or kind == "match.confirmed") and facts.get("match_id"):
        return page_path("conversation_page", match_id=facts["match_id"])
    if (
        kind in _BOTH_SIDES
        and recipient_id is not None
        and recipient_id == facts.get("volunteer_id")
    ):
        return page_path("my_matches")
    post_id = facts.get("post_id")
    if post_id:
        return page_path("post_page", post_id=post_id)
    return None


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
