"""What the centre's housing pages say and share (web/routes/centre/housing*.py): the
names of sides, formulas, services, steps and statuses, the services' refusals in
French words next to the field they name, a form's action run in a savepoint, and the
rendering of a page. Texts are
French message ids (``N_``), translated by the templates with ``_`` (English in
locale/en/LC_MESSAGES/centre_housing.po)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.response import Template

from voisins import clock
from voisins.api.deps import Tx
from voisins.errors import DomainError
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_text
from voisins.web.pages import Me, page
from voisins.web.url_state import notice

T = TypeVar("T")
B = TypeVar("B")

# The address's ?cote= (French) and the services' side.
SIDE_OF_PARAM = {"hote": "host", "jeune": "young"}
PARAM_OF_SIDE = {side: param for param, side in SIDE_OF_PARAM.items()}
SIDES = {"host": N_("Hôte"), "young": N_("Jeune")}
SIDE_TITLES = {
    "host": N_("Candidature d'hôte"),
    "young": N_("Candidature de jeune"),
}
NEW_TITLES = {
    "host": N_("Enregistrer une candidature d'hôte"),
    "young": N_("Enregistrer une candidature de jeune"),
}
APPLICATION_STATUSES = {
    "open": N_("Ouverte"),
    "paired": N_("En binôme"),
    "withdrawn": N_("Retirée"),
    "closed": N_("Close"),
}
PAIR_STATUSES = {
    "proposed": N_("Proposé, pas encore présenté"),
    "introduced": N_("Présentés l'un à l'autre"),
    "trial": N_("En période d'essai"),
    "confirmed": N_("Convention signée"),
    "ended": N_("Terminé"),
}
FORMULAS = {
    "free_presence": N_("Chambre gratuite contre une présence le soir"),
    "solidarity": N_("Participation solidaire aux charges"),
    "modest_rent": N_("Loyer modeste"),
}
SERVICES = {
    "evening_presence": N_("Présence le soir"),
    "shopping": N_("Courses"),
    "meals": N_("Repas partagés"),
    "company": N_("Compagnie, conversation"),
    "digital_help": N_("Aide au numérique"),
    "small_repairs": N_("Petits travaux"),
    "gardening": N_("Jardinage"),
    "pet_care": N_("Soin d'un animal"),
    "paperwork": N_("Papiers administratifs"),
}
RHYTHMS = {
    "early": N_("Plutôt tôt (levé et couché tôt)"),
    "late": N_("Plutôt tard"),
    "flexible": N_("Souple"),
}
OCCUPATIONS = {
    "student": N_("Études"),
    "apprentice": N_("Apprentissage"),
    "worker": N_("Travail"),
    "other": N_("Autre"),
}
OUTCOMES = {
    "favourable": N_("Favorable"),
    "unfavourable": N_("Défavorable"),
    "noted": N_("Noté"),
}
STEP_KINDS = {
    "interview": N_("Premier entretien"),
    "home_visit": N_("Visite du logement"),
    "references": N_("Références"),
    "proposed": N_("Binôme proposé"),
    "meeting": N_("Rencontre des deux avec le centre"),
    "trial": N_("Emménagement : début de la période d'essai"),
    "agreement": N_("Convention signée"),
    "followup_visit": N_("Visite de suivi"),
    "ended": N_("Fin du binôme"),
}
# The vetting steps of each side, in the order they come.
APPLICATION_STEPS = {"host": ("interview", "home_visit"), "young": ("interview", "references")}
END_REASONS = {
    "not_compatible": N_("Pas compatibles"),
    "term_reached": N_("Terme prévu atteint"),
    "host_request": N_("À la demande de l'hôte"),
    "young_request": N_("À la demande du jeune"),
    "health": N_("Santé"),
    "moved": N_("Déménagement"),
    "conflict": N_("Désaccord"),
    "other": N_("Autre raison"),
}
DOCUMENT_KINDS = {
    "charter": N_("Charte de cohabitation"),
    "agreement": N_("Convention de cohabitation intergénérationnelle solidaire"),
}
NOTICES = {
    "candidature": N_("La candidature est enregistrée."),
    "etape": N_("L'étape est enregistrée."),
    "retiree": N_("La candidature est retirée."),
    "propose": N_("Le binôme est proposé. Personne n'est prévenu avant la rencontre."),
    "rencontre": N_("La rencontre est enregistrée."),
    "essai": N_("Le début de la période d'essai est enregistré."),
    "convention": N_("La signature de la convention est enregistrée."),
    "visite": N_("La visite de suivi est enregistrée."),
    "fin": N_("La fin du binôme est enregistrée."),
    "document": N_("Le document est prêt : téléchargez-le ci-dessous."),
}
# ?fait= after each pair step.
STEP_NOTICES = {
    "meeting": "rencontre",
    "trial": "essai",
    "agreement": "convention",
    "followup_visit": "visite",
}

CHECK = N_("Vérifiez ce champ.")
FUTURE = N_("Une date passée ou aujourd'hui.")
FIELD_MESSAGES = {
    "person_id": N_("Choisissez l'habitant accompagné pour qui vous l'enregistrez."),
    "centre_id": N_("Choisissez un de vos centres."),
    "birth_date": N_("Entrez la date de naissance."),
    "available_from": N_("Entrez la date d'arrivée possible."),
    "available_until": N_("La date de fin vient après la date de début, ou laissez vide."),
    "location": N_("Placez l'épingle sur la carte, ou entrez l'adresse."),
    "formulas": N_("Choisissez la formule : une seule pour un hôte."),
    "monthly_eur": N_("Un montant entre 0 et 1 000 euros par mois."),
    "services": CHECK,
    "languages": N_("Choisissez au moins une langue."),
    "habits": CHECK,
    "room": N_("Décrivez la chambre : surface (5 à 100 m²) et étage."),
    "occupation": N_("Dites ce que fait le jeune : études, apprentissage, travail."),
    "occupation_detail": N_("200 caractères au plus."),
    "about": N_("2 000 caractères au plus."),
    "side": N_("Cette personne a déjà une candidature en cours de ce côté."),
    "kind": CHECK,
    "outcome": N_("Choisissez le résultat."),
    "done_on": FUTURE,
    "ended_on": FUTURE,
    "note": N_("2 000 caractères au plus."),
    "reason": N_("Choisissez la raison."),
    "host_feedback": N_("2 000 caractères au plus."),
    "young_feedback": N_("2 000 caractères au plus."),
    "host_application_id": N_("Cette candidature d'hôte ne peut pas entrer dans un binôme."),
    "young_application_id": N_("Cette candidature de jeune ne peut pas entrer dans un binôme."),
}
# The services' reasons (English, in the exception) that deserve their own words.
REASONS = {
    "a host must be 60": N_("Un hôte a 60 ans ou plus (loi ELAN, CASF art. L.118-1)."),
    "a young person must be under 30": N_(
        "Un jeune a moins de 30 ans (loi ELAN, CASF art. L.118-1)."
    ),
    "a young person must be 18": N_("Un jeune a 18 ans ou plus : il signe la convention."),
    "cannot be in the future": FUTURE,
    "check the birth year": N_("Vérifiez l'année de naissance."),
    "years ago": N_("Au plus dix ans en arrière : vérifiez l'année."),
    "years ahead": N_("Au plus trois ans à l'avance : vérifiez l'année."),
    "years after available_from": N_("Dix ans au plus après la date d'arrivée."),
    "before the last follow-up visit": N_("Après la dernière visite de suivi enregistrée."),
    "before the pair's last step": N_("Après la dernière étape enregistrée du binôme."),
    "is not 18 yet": N_("Le jeune n'a pas encore 18 ans à cette date."),
    "must be after available_from": N_("La date de fin vient après la date d'arrivée."),
    "a host offers one formula": N_("Un hôte propose une seule formule."),
    "a room against presence is free": N_(
        "Une chambre contre une présence le soir est gratuite : 0 euro."
    ),
    "address not found": N_(
        "Nous n'avons pas trouvé cette adresse. Vérifiez-la, ou placez l'épingle sur la carte."
    ),
    "record their consent first": N_(
        "Cette personne n'est pas un habitant accompagné de vos centres : inscrivez-la "
        "d'abord, avec son consentement."
    ),
    "not one of your centres": N_("Choisissez un de vos centres."),
    "no favourable first interview": N_("Pas encore de premier entretien favorable."),
    "no favourable home visit": N_("Pas encore de visite du logement favorable."),
    "no favourable references": N_("Pas encore de références favorables."),
    "by then": N_("Le jeune aura 30 ans à cette date (loi ELAN, CASF art. L.118-1)."),
    "the trial starts after the meeting": N_("L'essai commence après la rencontre."),
    "the agreement is signed after the trial started": N_(
        "La convention est signée après le début de l'essai."
    ),
    "a follow-up visit comes after the move": N_(
        "Une visite de suivi a lieu après l'emménagement."
    ),
    "before the pairing began": N_("La fin vient après le début du binôme."),
    "already applied": N_("Cette personne a déjà une candidature en cours de ce côté."),
    "is not a step of": N_("Cette étape n'est pas celle de cette candidature."),
}
# Refusals without a field: the whole form is told why.
DETAILS = {
    "the agreement is already signed": N_("La convention est déjà enregistrée."),
    "no agreement before a trial period": N_(
        "Pas de convention avant la période d'essai : enregistrez d'abord l'emménagement."
    ),
    "no introduction without both first interviews": N_(
        "Pas de binôme sans le premier entretien favorable des deux personnes."
    ),
    "the trial starts after the home visit and the references": N_(
        "L'essai commence après la visite du logement et les références, favorables."
    ),
    "this pairing has already ended": N_("Ce binôme est déjà terminé."),
    "end the pairing first": N_("Terminez d'abord le binôme en cours."),
    "already has an application": N_("Cette personne a déjà une candidature en cours de ce côté."),
    "does not follow a pair": N_("Cette étape ne vient pas à ce moment du binôme."),
    "no charter before": N_("La charte se prépare une fois les deux personnes présentées."),
    "this pairing has ended": N_("Ce binôme est terminé : plus de document à préparer."),
    "one of the two people has left": N_(
        "L'une des deux personnes a quitté voisins : plus de document à préparer."
    ),
    "this application is": N_("Cette candidature n'est plus ouverte."),
}
CHANGED = N_("La situation a changé entre-temps. Rechargez la page pour voir où elle en est.")


def _reason(text: str, table: dict[str, str]) -> str | None:
    return next((words for english, words in table.items() if english in text), None)


def explained(fields: dict[str, str]) -> dict[str, str]:
    """Field messages of a form's own checks (already French), by field."""
    return {name: FIELD_MESSAGES.get(name, message) for name, message in fields.items()}


def refusal(exc: DomainError) -> dict[str, str]:
    """A service's refusal as messages by field (its first path segment); without a
    field, or a field the form does not show, under ``form``."""
    said: dict[str, str] = {}
    for path, reason in exc.fields.items():
        name = path.split(".")[0]
        said[name] = (
            _reason(reason, REASONS)
            or _reason(exc.detail, DETAILS)
            or FIELD_MESSAGES.get(name, CHECK)
        )
    detail = _reason(exc.detail, DETAILS)
    if detail or not said:
        said["form"] = detail or CHANGED
    return said


def refused(exc: Exception) -> tuple[dict[str, str], int]:
    """A form's own refusal (422) or a service's 409/422, as messages by field and the
    status to answer; anything else goes on up."""
    if isinstance(exc, FormError):
        return explained(exc.fields), 422
    if isinstance(exc, DomainError) and exc.status_code in (409, 422):
        return refusal(exc), exc.status_code
    raise exc


class Refusal(NamedTuple):
    """Why a form was refused: messages by field, and the status to answer."""

    errors: dict[str, str]
    status: int


async def attempt(tx: Tx, action: Callable[[], Awaitable[T]]) -> T | Refusal:
    """Run a form's action in a savepoint, so that a refusal leaves nothing written:
    what it returns, or its refusal (``refused``: a form's own or a service's 409/422;
    anything else goes on up)."""
    try:
        async with tx.begin_nested():
            return await action()
    except (FormError, DomainError) as exc:
        return Refusal(*refused(exc))


def form_fields(form: FormMultiDict, names: tuple[str, ...]) -> dict[str, str]:
    """The form's text fields, as typed (trimmed), to show again after a refusal."""
    return {name: form_text(form, name) for name in names}


async def submit(
    tx: Tx, values: dict[str, str], body: type[B], action: Callable[[B], Awaitable[T]]
) -> T | Refusal:
    """A form's fields as the API's body, given to ``action`` (``attempt``). An empty
    field is left out of the body, so that a missing date names its own field."""

    async def run() -> T:
        return await action(convert({name: v for name, v in values.items() if v}, body))

    return await attempt(tx, run)


# What every housing template may word, given to each of them.
WORDS = {
    "sides": SIDES, "side_titles": SIDE_TITLES, "application_statuses": APPLICATION_STATUSES,
    "pair_statuses": PAIR_STATUSES, "formulas": FORMULAS, "services": SERVICES,
    "rhythms": RHYTHMS, "occupations": OCCUPATIONS, "outcomes": OUTCOMES,
    "step_kinds": STEP_KINDS, "application_steps": APPLICATION_STEPS,
    "end_reasons": END_REASONS, "document_kinds": DOCUMENT_KINDS,
    "param_of_side": PARAM_OF_SIDE,
}  # fmt: skip


def render(
    request: Request[Any, Any, Any], template: str, me: Me, *, status_code: int = 200,
    **context: Any,
) -> Template:  # fmt: skip
    """A housing page of the centre workspace, with its words, the reader's formats,
    today (Paris) and the notice named by ``?fait=``."""
    return page(
        request, template, me, status_code=status_code, fmt=formats_for(request, me),
        notice=notice(request, NOTICES), today=clock.today(), **WORDS, **context,
    )  # fmt: skip
