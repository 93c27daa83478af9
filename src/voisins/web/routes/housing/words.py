"""What the residents' housing pages say: the names of formulas, services, steps and
states in plain words (plainer than the centre's, web/routes/centre/housing_words.py),
the notices and the form's messages. Texts are French message ids (``N_``), translated
by the templates with ``_``."""

from __future__ import annotations

from typing import Any

from voisins.web.forms import N_

# The address says which side: French words, as the rest of the site's addresses.
SIDES = {"hote": "host", "jeune": "young"}
SIDE_WORDS = {"host": "hote", "young": "jeune"}

FORMULAS = {
    "free_presence": N_("Chambre gratuite, contre une présence le soir"),
    "solidarity": N_("Une petite participation aux charges, chaque mois"),
    "modest_rent": N_("Un loyer modeste"),
}
SERVICES = {
    "evening_presence": N_("Être là le soir"),
    "shopping": N_("Courses"),
    "meals": N_("Repas partagés"),
    "company": N_("Compagnie, conversation"),
    "digital_help": N_("Aide avec l'ordinateur ou le téléphone"),
    "small_repairs": N_("Petits travaux"),
    "gardening": N_("Jardinage"),
    "pet_care": N_("S'occuper d'un animal"),
    "paperwork": N_("Aide pour les papiers"),
}
RHYTHMS = {
    "early": N_("Plutôt couché tôt et levé tôt"),
    "late": N_("Plutôt couché tard"),
    "flexible": N_("Ça dépend, je m'adapte"),
}
OCCUPATIONS = {
    "student": N_("Études"),
    "apprentice": N_("Apprentissage"),
    "worker": N_("Travail"),
    "other": N_("Autre"),
}
STEP_KINDS = {
    "interview": N_("Premier entretien au centre social"),
    "home_visit": N_("Visite du logement"),
    "references": N_("Références vérifiées"),
    "proposed": N_("Binôme proposé par le centre social"),
    "meeting": N_("Rencontre avec le centre social"),
    "trial": N_("Emménagement : début de la période d'essai"),
    "agreement": N_("Convention signée"),
    "followup_visit": N_("Visite de suivi"),
    "ended": N_("Fin du binôme"),
}
OUTCOMES = {
    "favourable": N_("favorable"),
    "unfavourable": N_("pas favorable"),
    "noted": N_("noté"),
}
# What a person reads of their application (the service shows a pairing only proposed
# as "open": nothing is said of it before the meeting that introduces them).
APPLICATION_STATES = {
    "open": N_("En cours : le centre social étudie votre candidature"),
    "paired": N_("En binôme"),
    "withdrawn": N_("Retirée"),
    "closed": N_("Terminée"),
}
PAIR_STATES = {
    "introduced": N_("Présentés l'un à l'autre"),
    "trial": N_("Période d'essai"),
    "confirmed": N_("Convention signée"),
    "ended": N_("Terminé"),
}
END_REASONS = {
    "not_compatible": N_("l'entente n'a pas fonctionné"),
    "term_reached": N_("la date prévue est arrivée"),
    "host_request": N_("à la demande de l'hôte"),
    "young_request": N_("à la demande du jeune"),
    "health": N_("pour raison de santé"),
    "moved": N_("déménagement"),
    "conflict": N_("une mésentente"),
    "other": N_("autre raison"),
}
DOCUMENT_KINDS = {
    "charter": N_("La charte de la cohabitation"),
    "agreement": N_("La convention de cohabitation"),
}
NOTICES = {
    "envoyee": N_(
        "Votre candidature est envoyée. Le centre social va vous appeler pour un premier entretien."
    ),
    "retiree": N_("Votre candidature est retirée."),
}

# Messages next to the fields the service refuses.
FIELD_MESSAGES = {
    "centre_id": N_("Choisissez un centre social."),
    "available_from": N_("Écrivez la date, par exemple 01/09/2026."),
    "available_until": N_("La date de fin doit être après la date d'arrivée."),
    "formulas": N_("Choisissez une formule."),
    "monthly_eur": N_("Écrivez un montant entre 0 et 1 000 euros."),
    "services": N_("Vérifiez ce champ."),
    "languages": N_("Cochez au moins une langue."),
    "room": N_("Décrivez la chambre."),
    "room_size_m2": N_("Écrivez la surface en m², entre 5 et 100."),
    "room_floor": N_("Écrivez l'étage : 0 pour le rez-de-chaussée."),
    "occupation": N_("Dites ce que vous faites : études, apprentissage, travail."),
    "occupation_detail": N_("200 caractères au plus."),
    "about": N_("2 000 caractères au plus."),
}
FREE_MEANS_ZERO = N_("Une chambre contre une présence est gratuite : écrivez 0.")
ONE_FORMULA = N_("Choisissez une seule formule.")
BIRTH_DATE_MISSING = N_("Écrivez votre date de naissance, par exemple 14/03/1950.")
BIRTH_IN_FUTURE = N_("Cette date de naissance est dans le futur.")
BIRTH_YEAR_SLIP = N_("Vérifiez l'année de naissance.")
# The dates a service finds too far (housing/rules.py check_availability).
DATE_TOO_FAR = {
    "available_from": N_("Une date dans les trois ans à venir : vérifiez l'année."),
    "available_until": N_("Au plus dix ans après la date d'arrivée : vérifiez l'année."),
}
HOST_TOO_YOUNG = N_(
    "Pour accueillir un jeune, il faut avoir 60 ans ou plus : c'est la loi sur la "
    "cohabitation intergénérationnelle solidaire."
)
YOUNG_TOO_OLD = N_(
    "Pour être logé chez un senior, il faut avoir moins de 30 ans : c'est la loi sur la "
    "cohabitation intergénérationnelle solidaire."
)
YOUNG_NOT_ADULT = N_("Il faut avoir 18 ans ou plus pour signer la convention.")
PLACE_MISSING = {
    "host": N_("Écrivez l'adresse de votre logement."),
    "young": N_("Écrivez l'adresse de votre lieu d'études ou de travail."),
}
ALREADY_APPLIED = N_(
    "Vous avez déjà une candidature en cours de ce côté. Vous la trouverez sur la page "
    "« Logement intergénérationnel »."
)
NOT_WITHDRAWN = N_(
    "Votre candidature ne peut pas être retirée en ligne en ce moment. Appelez le centre "
    "social : il vous dira comment faire."
)
CONFLICT = "conflict"


# What every residents' housing template may word.
LABELS: dict[str, Any] = {
    "formulas": FORMULAS, "services": SERVICES, "rhythms": RHYTHMS,
    "occupations": OCCUPATIONS, "step_kinds": STEP_KINDS, "outcomes": OUTCOMES,
    "application_states": APPLICATION_STATES, "pair_states": PAIR_STATES,
    "end_reasons": END_REASONS, "document_kinds": DOCUMENT_KINDS,
    "side_words": SIDE_WORDS,
}  # fmt: skip
