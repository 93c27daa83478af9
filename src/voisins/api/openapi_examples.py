"""A valid request body for each request struct, by the struct's name: shown in the
OpenAPI document beside the body's schema (api/openapi.py), and sent first by the
fuzzers (tests/test_fuzz_openapi.py). One table, kept apart from the code that builds
the document because it grows with every new body.
"""

from __future__ import annotations

from typing import Any

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "RegisterIn": {
        "email": "camille.martin@example.org",
        "password": "un mot de passe de phrase",
        "display_name": "Camille M.",
        "locale": "fr",
    },
    "LoginIn": {"email": "camille.martin@example.org", "password": "un mot de passe de phrase"},
    "TotpCodeIn": {"code": "123456"},
    "ResetRequestIn": {"email": "camille.martin@example.org"},
    "ResetConfirmIn": {
        "token": "Jx1vQ8mB0cYk3rT7wZp2sN5uE4hA9dLf",
        "password": "un autre mot de passe",
    },
    "EmailConfirmIn": {"token": "Jx1vQ8mB0cYk3rT7wZp2sN5uE4hA9dLf"},
    "PasswordChangeIn": {
        "current_password": "un mot de passe de phrase",
        "new_password": "un autre mot de passe",
    },
    "EmailChangeIn": {
        "current_password": "un mot de passe de phrase",
        "email": "camille.m@example.org",
    },
    "MeUpdate": {"display_name": "Camille M.", "locale": "fr", "phone": "06 12 34 56 78"},
    "StaffUserIn": {
        "email": "claire.dubois@example.org",
        "display_name": "Claire Dubois",
        "role": "social_worker",
        "centre_id": 1,
    },
    "CentreIn": {
        "name": "Centre social de la Chapelle",
        "territory": {
            "type": "Polygon",
            "coordinates": [
                [[2.35, 48.88], [2.37, 48.88], [2.37, 48.9], [2.35, 48.9], [2.35, 48.88]]
            ],
        },
        "contact_email": "accueil@example.org",
        "moderation_level": "sensitive_only",
    },
    "CentreUpdate": {"name": "Centre social de la Chapelle", "contact_phone": "01 40 00 00 00"},
    "MemberIn": {"user_id": 2, "member_role": "social_worker"},
    "PartnerIn": {"partner_id": 2},
    "PostIn": {
        "kind": "request",
        "category": "courses",
        "title": "Courses du samedi",
        "location": {"lon": 2.3601, "lat": 48.8867},
        "schedule": {"type": "weekly", "days": [6], "start": "10:00", "end": "11:30"},
        "description": "Porter les sacs depuis le marché.",
    },
    "PostUpdate": {"title": "Courses du samedi matin", "volunteers_needed": 1},
    "CloseIn": {"reason": "Trouvé une solution avec la famille"},
    "VolunteerIn": {
        "location": {"lon": 2.3601, "lat": 48.8867},
        "radius_km": 2,
        "categories": ["courses", "visite_convivialite"],
        "availability": [{"day": 6, "start": "09:00", "end": "12:00"}],
        "languages": ["fr"],
    },
    "VettingIn": {"id_checked_at": "2026-03-02T10:00:00Z", "record_extract_date": "2026-02-20"},
    "AssistedIn": {
        "display_name": "Mme L.",
        "consent": {"method": "in_person", "obtained_at": "2026-03-02T10:00:00Z", "centre_id": 1},
        "locale": "fr",
    },
    "ConsentIn": {"method": "phone", "obtained_at": "2026-03-02T10:00:00Z", "centre_id": 1},
    "ReasonIn": {"reason": "Horaires qui ne conviennent plus"},
    "StaffReasonIn": {
        "note": "Créneaux incompatibles avec le suivi prévu",
        "message": "Ce créneau ne peut pas être retenu, merci de votre proposition.",
    },
    "FeedbackIn": {"kind": "thanks", "comment": "Merci pour les courses !"},
    "StopIn": {"reason": "Déménagement"},
    "PreferencesIn": {
        "channels": {"match.proposed": ["email", "inapp"]},
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "daily_cap": 20,
    },
    "WebhookIn": {
        "url": "https://partenaire.example.org/voisins",
        "secret": "a-long-shared-secret-1234",
        "topics": ["post.approved"],
    },
    "ErasureIn": {"confirm": True},
    "ReviewDecisionIn": {
        "note": "Demande claire, lieu dans le quartier",
        "message": "Votre demande est publiée.",
    },
    "ContactIn": {"outcome": "Appel passé, tout va bien", "contacted_at": "2026-03-02T10:00:00Z"},
    "CheckinIn": {"visited_on": "2026-03-02", "note": "Visite faite"},
    "ReportIn": {"reason": "no_show", "match_id": 1, "comment": "Personne au rendez-vous"},
    "ResolveIn": {"resolution": "Échange avec les deux personnes, clos"},
    "BlockIn": {"match_id": 1},
    "SuspendIn": {"note": "Signalements répétés, vus avec la personne"},
    "MessageIn": {"text": "Bonjour, je peux passer jeudi vers 10 h, cela vous convient ?"},
    "ReadIn": {"up_to": 1},
    "ContactShareIn": {"phone": False, "email": True},
    "ApplicationIn": {
        "side": "host",
        "centre_id": 1,
        "birth_date": "1948-05-12",
        "available_from": "2026-09-01",
        "location": {"lon": 2.3546, "lat": 48.8849},
        "formulas": ["solidarity"],
        "monthly_eur": 150,
        "services": ["evening_presence", "shopping"],
        "languages": ["fr"],
        "habits": {"has_pets": True, "accepts_smoker": False, "rhythm": "early"},
        "room": {"size_m2": 12, "floor": 2, "lift": False, "private_bathroom": False},
        "about": "Une chambre calme sur cour, près du métro.",
    },
    "ApplicationStepIn": {
        "kind": "interview",
        "done_on": "2026-03-02",
        "outcome": "favourable",
        "note": "Entretien au centre, projet clair",
    },
    "PairIn": {"host_application_id": 1, "young_application_id": 2},
    "PairStepIn": {"kind": "meeting", "done_on": "2026-03-10", "outcome": "favourable"},
    "PairEndIn": {
        "reason": "term_reached",
        "ended_on": "2026-06-30",
        "host_feedback": "Une belle année, merci",
        "young_feedback": "Très bonne entente",
    },
    "DocumentIn": {"kind": "charter"},
}
