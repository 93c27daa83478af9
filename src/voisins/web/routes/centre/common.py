"""What the centre social's pages share: their wording tables, form readers and the
rendering with the workspace's notices.

Every page calls the services the API calls (moderation.*, accounts.*, matching.*) and
is refused — a page in the layout, audited — to anyone but a social worker; what a
social worker may see of a centre is the services' rule (their centres and partners).
A decision taken with htmx replaces its card; the same forms work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.response import Template

from voisins.accounts.access import Viewer, require_social_worker
from voisins.api.deps import Tx
from voisins.centres import service as centres
from voisins.errors import Conflict, NotFound
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError
from voisins.web.pages import Me, page
from voisins.web.problems import is_htmx, signed_in

T = TypeVar("T")
PER_PAGE = 20

VULNERABILITY = {
    "isolated_elderly": N_("Personne âgée isolée"),
    "minor": N_("Mineur"),
    "precarious": N_("Situation précaire"),
}
REPORT_REASONS = {
    "inappropriate": N_("Contenu inapproprié"),
    "unsafe": N_("Danger pour quelqu'un"),
    "fraud": N_("Arnaque"),
    "no_show": N_("Absence au rendez-vous"),
    "other": N_("Autre raison"),
}
REPORT_ABOUT = {
    "post": N_("Sur l'annonce"),
    "author": N_("Sur la personne qui demande"),
    "volunteer": N_("Sur le bénévole"),
}
FOLLOWUP_REASONS = {
    "no_response": N_("Demande restée sans réponse"),
    "isolated": N_("Personne isolée, sans activité depuis longtemps"),
    "missed_checkin": N_("Visite régulière non confirmée"),
    "short_lived_posts": N_("Annonces retirées peu après leur publication, plusieurs fois"),
}
CONSENT_METHODS = {
    "in_person": N_("En personne"),
    "phone": N_("Par téléphone"),
    "written": N_("Par écrit"),
}
NOTICES = {
    "approuve": N_("Décision enregistrée : c'est validé."),
    "refuse": N_("Décision enregistrée : c'est refusé."),
    "contact": N_("Le contact est enregistré."),
    "resolu": N_("Le signalement est clos."),
    "suspendu": N_(
        "Le compte est suspendu : ses mises en relation en cours sont closes et les "
        "personnes concernées prévenues."
    ),
    "verifie": N_("La vérification est enregistrée."),
    "habitant": N_("L'habitant est inscrit, avec son consentement."),
    "publiee": N_("L'annonce est publiée : les bénévoles proches la reçoivent."),
    "relecture": N_("L'annonce est enregistrée : elle attend la relecture du centre."),
    "terminee": N_("C'est noté : l'aide a eu lieu."),
    "annulee": N_("La mise en relation est annulée. Le bénévole est prévenu."),
    "avis": N_("L'avis de la personne est enregistré."),
}
NOTE_NEEDED = N_(
    "Écrivez la raison de votre décision (3 caractères au moins) : elle est gardée dans "
    "l'historique, jamais envoyée."
)
MESSAGE_TOO_LONG = N_("Le message fait 500 caractères au plus.")
ALREADY_DONE = N_("Un collègue s'en est déjà occupé : cet élément n'attend plus rien.")
FIELD_MESSAGES = {
    "display_name": N_("Écrivez le prénom ou le nom de la personne."),
    "phone": N_("Écrivez un numéro de téléphone, par exemple 01 42 00 00 00."),
    "email": N_("Écrivez une adresse e-mail valide, ou laissez vide."),
    "consent": N_("Indiquez comment et quand la personne a donné son accord."),
    "vulnerability": N_("Vérifiez ce choix."),
    "kind": N_("Choisissez : demande ou offre."),
    "category": N_("Choisissez une sorte d'aide."),
    "title": N_("Un titre de 3 à 120 caractères."),
    "description": N_("4 000 caractères au plus."),
    "location": N_("Placez l'épingle sur la carte, ou entrez l'adresse."),
    "schedule": N_("Vérifiez le jour et les heures : la fin après le début, dans le futur."),
    "volunteers_needed": N_("Un nombre entre 1 et 20."),
    "beneficiary": N_("Vérifiez ce choix."),
    "id_checked_at": N_("Une date passée ou aujourd'hui."),
    "record_extract_date": N_("Une date passée ou aujourd'hui."),
    "outcome": N_("Écrivez ce qui s'est dit (3 caractères au moins)."),
    "contacted_at": N_("Une date et une heure passées, ou laissez vide pour maintenant."),
    "from": N_("Une date, au plus tard celle de fin ; 366 jours au plus."),
    "to": N_("Une date, au plus tôt celle de début ; 366 jours au plus."),
}


def _explained(fields: dict[str, str]) -> dict[str, str]:
    return {name: FIELD_MESSAGES.get(name, message) for name, message in fields.items()}


def _int(value: Any, default: int) -> int:
    try:
        return max(1, min(int(value), 10_000_000))
    except (TypeError, ValueError):
        return default


def _text(form: FormMultiDict, key: str) -> str:
    return str(form.get(key) or "").strip()


async def _worker(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: Viewer | None
) -> tuple[Me, Viewer]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    require_social_worker(viewer)
    return me, viewer


def _render(
    request: Request[Any, Any, Any], template: str, me: Me, *, status_code: int = 200,
    **context: Any,
) -> Template:  # fmt: skip
    return page(
        request, template, me, status_code=status_code, fmt=formats_for(request, me),
        notice=NOTICES.get(request.query_params.get("fait", "")), vulnerability=VULNERABILITY,
        **context,
    )  # fmt: skip


async def _decide(
    action: Callable[[], Awaitable[T]], request: Request[Any, Any, Any], tx: Tx
) -> T | None:
    """Run one decision in a savepoint; a decision someone else took first (409) is None
    for htmx (said on the card), and the 409 page otherwise."""
    try:
        async with tx.begin_nested():
            return await action()
    except Conflict:
        if not is_htmx(request):
            raise
        return None


def _find(items: Sequence[T], match: Callable[[T], bool]) -> T | None:
    return next((item for item in items if match(item)), None)


# ---------------------------------------------------------------------------------------
# Shared by the vetting and residents pages (centre_vetting.py, centre_residents.py)
# ---------------------------------------------------------------------------------------


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormError({field: FIELD_MESSAGES[field]}) from None


async def _my_centres(tx: Tx, viewer: Viewer) -> list[tuple[int, str]]:
    found = []
    for centre_id in sorted(viewer.centre_ids):
        try:
            found.append((centre_id, (await centres.get_centre(tx, centre_id)).name))
        except NotFound:
            continue
    return found
