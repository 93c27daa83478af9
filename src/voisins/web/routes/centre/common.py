"""What several pages of the centre's workspace share: the words they use in common
(notices after a redirect, a field's message, a person's vulnerability), a list's page
number and a form's date, the rendering with the workspace's notice, the router under /centre, the
social worker's centres, and the decision that a colleague may have taken first. A
table or helper one page uses lives in that page's module.

A decision taken with htmx replaces its card; the same forms work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from litestar import Request, Router
from litestar.response import Template

from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.centres import service as centres
from voisins.errors import Conflict, NotFound
from voisins.pagination import Page
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, is_htmx
from voisins.web.url_state import list_page, notice

T = TypeVar("T")
PER_PAGE = 20

VULNERABILITY = {
    "isolated_elderly": N_("Personne âgée isolée"),
    "minor": N_("Mineur"),
    "precarious": N_("Situation précaire"),
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


def form_day(value: str, field: str) -> date | None:
    """A ``<input type="date">`` (empty: None); a wrong one is the field's message."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormError({field: FIELD_MESSAGES[field]}) from None


def workspace_page(
    request: Request[Any, Any, Any], template: str, me: Me, *, status_code: int = 200,
    **context: Any,
) -> Template:  # fmt: skip
    """A workspace page, with the notice its address names (``?fait=``) and the words
    for a person's vulnerability, which several pages show."""
    return page(
        request, template, me, status_code=status_code, fmt=formats_for(request, me),
        notice=notice(request, NOTICES), vulnerability=VULNERABILITY, **context,
    )  # fmt: skip


async def decide_first(
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


async def open_or_all_list(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    template: str,
    lister: Callable[..., Awaitable[Page[Any]]],
    **context: Any,
) -> Template:
    """A page of a list of what still waits (the follow-ups, the reports), or of
    everything with ``?tous=1``; ``lister`` is the service that reads it."""
    number = list_page(request.query_params.get("page"))
    everything = request.query_params.get("tous") == "1"
    found = await lister(tx, viewer, open_only=not everything, page=number, per_page=PER_PAGE)
    return workspace_page(
        request, template, me, items=found.items, page_number=number,
        has_more=found.has_more, everything=everything, **context,
    )  # fmt: skip


def first_of(items: Sequence[T], match: Callable[[T], bool]) -> T | None:
    return next((item for item in items if match(item)), None)


async def my_centres(tx: Tx, viewer: Viewer) -> list[tuple[int, str]]:
    """The social worker's centres, (id, name), by id; one gone meanwhile is left out."""
    found = []
    for centre_id in sorted(viewer.centre_ids):
        try:
            found.append((centre_id, (await centres.get_centre(tx, centre_id)).name))
        except NotFound:
            continue
    return found


def workspace_router(*handlers: Any) -> Router:
    """The workspace's pages under /centre, with the page error handlers: the sign-in
    page for nobody signed in, the audited 403 page for anyone but a social worker."""
    return Router(
        path="/centre", route_handlers=list(handlers), exception_handlers=PAGE_ERROR_HANDLERS
    )
