"""What the administrators' pages share: their words (roles, statuses, notices, the
fields' messages), how a service's refusal reads on a form, and the page layout with
those words."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from voisins.api.deps import Tx
from voisins.centres import service as centres
from voisins.centres.schemas import CentreOut
from voisins.errors import DomainError
from voisins.web.formats import formats_for
from voisins.web.forms import N_
from voisins.web.pages import Me, page

PER_PAGE = 20

# Partnerships and the partner choice list every centre on one page.
ALL_CENTRES = 100

MODERATION_LEVELS = {
    "sensitive_only": N_("Relire les mises en relation sensibles (conseillé)"),
    "all_posts": N_("Relire chaque annonce avant sa publication"),
    "none": N_("Pas de relecture des annonces non sensibles (entre voisins)"),
}

MEMBER_ROLES = {
    "social_worker": N_("Travailleur social"),
    "centre_admin": N_("Responsable du centre"),
}

STAFF_ROLES = {"social_worker": N_("Travailleur social"), "admin": N_("Administrateur")}

STATUSES = {
    "active": N_("Actif"),
    "suspended": N_("Suspendu"),
    "deactivated": N_("Désactivé"),
}

NOTICES = {
    "centre-cree": N_("Le centre est créé."),
    "centre-modifie": N_("Les changements sont enregistrés."),
    "membre-ajoute": N_("Le membre est ajouté au centre."),
    "role-change": N_("Le rôle est changé."),
    "membre-retire": N_("Le membre est retiré du centre : il n'agit plus pour lui."),
    "partenariat-cree": N_("Le partenariat est créé."),
    "partenariat-fini": N_("Le partenariat est terminé."),
    "webhook-desactive": N_("Le webhook est désactivé : plus rien ne lui est envoyé."),
    "compte-cree": N_(
        "Le compte est créé. La personne reçoit un e-mail pour choisir son mot de passe ; "
        "à sa première connexion, elle active la double authentification."
    ),
    "desactive": N_("Le compte est désactivé : ses sessions sont fermées."),
    "reactive": N_("Le compte est réactivé."),
    "suspendu": N_("Le compte est suspendu : ses sessions sont fermées."),
    "retabli": N_("La suspension est levée."),
    "double-facteur": N_(
        "La double authentification est réinitialisée : la personne l'active à nouveau à "
        "sa prochaine connexion."
    ),
    "resolu": N_("Le signalement est clos."),
    "contact": N_("Le contact est enregistré."),
}

FIELD_MESSAGES = {
    "name": N_("Un nom de 2 à 120 caractères, que n'a aucun autre centre."),
    "contact_email": N_("Écrivez une adresse e-mail valide, ou laissez vide."),
    "contact_phone": N_("Écrivez un numéro de téléphone, par exemple 01 42 00 00 00."),
    "address": N_("300 caractères au plus."),
    "moderation_level": N_("Choisissez un niveau de relecture."),
    "email": N_("Écrivez une adresse e-mail valide."),
    "member_role": N_("Choisissez un rôle."),
    "partner_id": N_("Choisissez un autre centre."),
    "url": N_("Une adresse qui commence par https:// (ou http://), 500 caractères au plus."),
    "topics": N_("Vérifiez ce choix."),
    "display_name": N_("Écrivez le prénom et le nom (80 caractères au plus)."),
    "password": N_("Un mot de passe provisoire de 10 caractères au moins."),
    "role": N_("Choisissez un rôle."),
    "centre_id": N_("Choisissez un centre (seulement pour un travailleur social)."),
    "note": N_("Écrivez la raison (3 caractères au moins) : elle est gardée, jamais envoyée."),
    "resolution": N_("Écrivez ce qui a été fait (3 caractères au moins)."),
    "outcome": N_("Écrivez ce qui s'est dit (3 caractères au moins)."),
}

# The territory's reason, from geo/territory.py's English, in words for the form.
TERRITORY_MESSAGES = (
    ("Polygon or MultiPolygon", N_("Le fichier doit contenir un Polygon ou un MultiPolygon.")),
    ("not closed", N_("Un contour n'est pas fermé : son dernier point doit répéter le premier.")),
    ("at least 4 positions", N_("Un contour a besoin d'au moins 4 points.")),
    ("too many vertices", N_("Le contour a trop de points (20 000 au plus).")),
    ("invalid geometry", N_("Le contour se croise lui-même ou n'est pas une surface valide.")),
    ("France", N_("Le territoire doit être en France, dans une seule région.")),
    ("area is too", N_("La surface doit être comprise entre 0,01 et 5 000 km².")),
    ("must not be empty", N_("Le contour est vide.")),
)  # fmt: skip

TERRITORY_OTHER = N_(
    "Des coordonnées ne conviennent pas : chaque point s'écrit [longitude, latitude] en degrés."
)


def territory_error(reason: str) -> str:
    return next((said for key, said in TERRITORY_MESSAGES if key in reason), TERRITORY_OTHER)


def refusal_messages(exc: DomainError) -> dict[str, str]:
    """A service's refusal as field messages; the territory's reason said in words."""
    if not exc.fields:
        if exc.status_code in (403, 404):
            raise exc
        return {"form": exc.detail}
    errors: dict[str, str] = {}
    for path, reason in exc.fields.items():
        name = path.split(".")[0].split("[")[0]
        errors[name] = (
            territory_error(reason) if name == "territory" else FIELD_MESSAGES.get(name, reason)
        )
    return errors


def render(
    request: Request[Any, Any, Any], template: str, me: Me, *, status_code: int = 200,
    **context: Any,
) -> Template:  # fmt: skip
    return page(
        request, template, me, status_code=status_code, fmt=formats_for(request, me),
        notice=NOTICES.get(request.query_params.get("fait", "")), errors=context.pop("errors", {}),
        values=context.pop("values", {}), moderation_levels=MODERATION_LEVELS,
        member_roles=MEMBER_ROLES, staff_roles=STAFF_ROLES, statuses=STATUSES, **context,
    )  # fmt: skip


def done(path: str, what: str) -> Redirect:
    return Redirect(f"{path}?fait={what}", status_code=303)


async def all_centres(tx: Tx) -> list[CentreOut]:
    return (await centres.list_centres(tx, 1, ALL_CENTRES)).items
