"""What the pages say about states, messages and reasons, in plain words.

Texts are French message ids marked with ``N_`` (translated by the templates with
``_``); short sentences, one idea each, everyday words (in the spirit of FALC)."""

from __future__ import annotations

from voisins.web.forms import N_

# A post's state, as its author reads it.
POST_STATES = {
    "draft": N_("Pas encore publiée."),
    "in_review": N_("Le centre social relit votre annonce. Elle sera publiée ensuite."),
    "published": N_("Publiée. Nous cherchons un voisin pour vous."),
    "rejected": N_("Le centre social n'a pas publié cette annonce."),
    "matched": N_("Un voisin a dit oui."),
    "closed": N_("Terminée."),
    "expired": N_("Plus active : la date est passée."),
    "withdrawn": N_("Retirée."),
}
OFFER_PUBLISHED = N_("Publiée. Vos voisins peuvent la voir.")

# One match, as the author of the request reads it.
MATCH_STATES = {
    "proposed": N_("Proposée à un voisin. Pas encore de réponse."),
    "accepted": N_("Un voisin a dit oui."),
    "pending_review": N_(
        "Un voisin a dit oui. Le centre social vérifie avant de vous mettre en contact."
    ),
    "approved": N_("Le centre social a dit oui."),
    "confirmed": N_("C'est confirmé. Vous pouvez vous écrire."),
    "completed": N_("L'aide est faite."),
    "cancelled": N_("Annulée."),
    "declined": N_("Le voisin a dit non."),
    "expired": N_("Pas de réponse à temps."),
    "withdrawn": N_("Plus nécessaire."),
    "rejected": N_("Le centre social a dit non."),
}

# Kinds of notification, for the preferences form.
NOTIFICATION_KINDS = {
    "match.proposed": N_("On vous propose d'aider un voisin"),
    "reminder": N_("Rappel : une proposition attend votre réponse"),
    "match.accepted": N_("Un voisin a dit oui à votre demande"),
    "match.confirmed": N_("Une mise en relation est confirmée"),
    "match.approved": N_("Le centre social a dit oui à une mise en relation"),
    "match.rejected": N_("Le centre social a dit non à une mise en relation"),
    "match.cancelled": N_("Une mise en relation est annulée"),
    "post.approved": N_("Le centre social a publié votre annonce"),
    "post.rejected": N_("Le centre social n'a pas publié votre annonce"),
    "match.offer_proposed": N_("Des demandes correspondent à votre offre"),
    "post.offer_nearby": N_("Un voisin qui propose son aide peut répondre à votre demande"),
    "post.unanswered": N_("Personne n'a encore pu répondre à votre demande"),
    "post.updated": N_("Une demande que vous avez acceptée a changé"),
    "match.review_needed": N_("Une mise en relation attend votre validation"),
    "post.review_needed": N_("Une annonce attend votre validation"),
    "post.no_response": N_("Une demande n'a pas de réponse"),
    "report.filed": N_("Un signalement est arrivé"),
    "conversation.to_requester": N_("Un voisin vous a écrit au sujet de votre demande"),
    "conversation.to_volunteer": N_("On vous a écrit au sujet d'une aide"),
}
AUTHOR_KINDS = (
    "match.accepted", "match.confirmed", "match.cancelled", "post.approved", "post.rejected",
    "post.offer_nearby", "post.unanswered", "match.offer_proposed", "conversation.to_requester",
)  # fmt: skip
VOLUNTEER_KINDS = (
    "match.proposed", "reminder", "match.approved", "match.rejected", "post.updated",
    "conversation.to_volunteer",
)  # fmt: skip
STAFF_KINDS = ("match.review_needed", "post.review_needed", "post.no_response", "report.filed")


def kinds_for(role: str, is_volunteer: bool) -> list[str]:
    """The kinds of message this person can receive, in the order of the form."""
    kinds = list(AUTHOR_KINDS)
    if is_volunteer:
        kinds += [k for k in VOLUNTEER_KINDS if k not in kinds]
    if role in ("social_worker", "admin"):
        kinds += list(STAFF_KINDS)
    return kinds


def post_state(kind: str, status: str) -> str:
    if status == "published" and kind == "offer":
        return OFFER_PUBLISHED
    return POST_STATES.get(status, status)


def page_link(kind: str, link: str | None) -> str | None:
    """Where a message leads on the pages. Messages store page paths; older ones stored
    API paths (``/posts/12``): a proposition to answer then leads to the volunteer's
    propositions, the rest to the post."""
    if link and link.startswith("/posts/"):
        if kind in VOLUNTEER_KINDS:
            return "/propositions"
        return "/annonces/" + link.removeprefix("/posts/")
    return link


# The words of a message's link, by the page it leads to (most specific prefix first).
LINK_LABELS = (
    ("/propositions", N_("Voir mes propositions")),
    ("/mes-aides", N_("Voir mes aides")),
    ("/centre/suivi", N_("Voir la liste de suivi")),
    ("/centre/signalements", N_("Voir les signalements")),
    ("/centre", N_("Voir ce qui attend votre validation")),
    ("/messages", N_("Voir mes messages")),
    ("/conversations", N_("Lire la conversation")),
)
POST_LINK_LABEL = N_("Voir l'annonce")


def link_label(link: str) -> str:
    for prefix, label in LINK_LABELS:
        if link == prefix or link.startswith(prefix + "/") or link.startswith(prefix + "?"):
            return label
    return POST_LINK_LABEL


# Why a report was filed, and why someone is on a follow-up list, as the staff's pages
# (a centre's workspace, the administration) name them.
REPORT_REASONS = {
    "inappropriate": N_("Contenu inapproprié"),
    "unsafe": N_("Danger pour quelqu'un"),
    "fraud": N_("Arnaque"),
    "no_show": N_("Absence au rendez-vous"),
    "other": N_("Autre raison"),
}
FOLLOWUP_REASONS = {
    "no_response": N_("Demande restée sans réponse"),
    "isolated": N_("Personne isolée, sans activité depuis longtemps"),
    "missed_checkin": N_("Visite régulière non confirmée"),
    "short_lived_posts": N_("Annonces retirées peu après leur publication, plusieurs fois"),
}
