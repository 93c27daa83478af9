"""`voisins demo`: a living neighbourhood for newcomers — La Goutte d'Or and La Chapelle
(Paris 18e), two centres sociaux, residents, volunteers and posts in French.

Intergenerational housing: Bernadette (79) hosts Hugo (21, a student) in a trial period
that began two weeks ago; Inès (24) waits for a host. Dates are counted from today.

Idempotent: accounts are keyed by e-mail and the whole load is skipped when the demo
centres already exist (housing is added to a demo loaded before it existed, once).
Refused in production.

Over 400 lines and one module on purpose: half of it is the neighbourhood itself
(places, names, the requests' and offers' French texts), and the code tells one story
top to bottom through the services (centres, staff, volunteers, posts, outreach, then
the housing scene), which reads best in one place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins import clock
from voisins.accounts import assisted, volunteer
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import AssistedIn, ConsentIn
from voisins.accounts.passwords import hash_password
from voisins.accounts.volunteer import Slot, VolunteerIn
from voisins.centres import service as centres
from voisins.centres.schemas import CentreIn
from voisins.geo.geocoder import DisabledGeocoder
from voisins.housing import applications as housing_applications
from voisins.housing import pairs as housing_pairs
from voisins.housing.rules import add_months
from voisins.housing.schemas import (
    ApplicationIn,
    ApplicationStepIn,
    HabitsIn,
    PairIn,
    PairStepIn,
    RoomIn,
)
from voisins.locations import LocationIn
from voisins.matching.publication import create_and_match
from voisins.posts.schemas import OnceIn, PostIn, WeeklyIn
from voisins.settings import Settings

DEMO_PASSWORD = "voisins-demo"
# Fixed TOTP secrets so a newcomer can log in as staff with any authenticator app.
# 160 bits each: pyotp refuses secrets under 112 bits.
DEMO_TOTP = {
    "admin": "3VTNNUSPMF23F6D63YAAKMFLV2HNIHNK",
    "sw1": "NB74KLQC43R37JTP7WRDW6OAI7IOHCMK",
    "sw2": "HXKVUNEB4LRVJYYJZIAGCGNMD4A5DFBV",
}

GOUTTE_DOR = [
    (2.3478, 48.8797), (2.3602, 48.8797), (2.3602, 48.8893), (2.3478, 48.8893), (2.3478, 48.8797)
]  # fmt: skip
LA_CHAPELLE = [
    (2.3560, 48.8893), (2.3700, 48.8893), (2.3700, 48.8990), (2.3560, 48.8990), (2.3560, 48.8893)
]  # fmt: skip

FIRST_NAMES = [
    "Fatou", "Jeanne", "Karim", "Lucie", "Mamadou", "Nadia", "Océane", "Paul", "Rachid", "Sofia",
    "Thérèse", "Yacine", "Zoé", "Amine", "Bernadette", "Chloé", "Djibril", "Élise", "Farid",
    "Gisèle", "Hugo", "Inès", "Jules", "Leïla", "Marcel", "Noémie", "Ousmane", "Pauline",
]  # fmt: skip

REQUESTS = [
    ("courses", "Courses du samedi matin", "Je ne peux plus porter les packs d'eau, "
     "une aide pour aller au marché Dejean serait précieuse.", []),
    ("visite_convivialite", "Un café et une discussion le jeudi", "Je vis seule depuis le "
     "décès de mon mari, j'aimerais une visite de temps en temps.", ["isolated_elderly"]),
    ("aide_numerique", "Aide pour la déclaration en ligne", "Je n'arrive pas à me connecter "
     "sur le site des impôts.", []),
    ("demarches_administratives", "Dossier CAF à compléter", "Besoin d'aide pour remplir "
     "un dossier d'aide au logement.", ["precarious"]),
    ("transport_accompagnement", "Accompagnement à l'hôpital Lariboisière", "Rendez-vous "
     "de cardiologie, je préfère ne pas y aller seul.", []),
    ("bricolage_jardinage", "Fixer des étagères", "J'ai une perceuse mais je ne sais pas "
     "m'en servir.", []),
    ("echange_savoirs", "Conversation en français", "Je cherche quelqu'un pour pratiquer "
     "le français, en échange je peux apprendre l'arabe.", []),
    ("garde_ponctuelle", "Garde de ma fille mercredi après-midi", "Rendez-vous à Pôle "
     "emploi, ma fille a 7 ans.", ["minor"]),
    ("hebergement_intergenerationnel", "Chambre libre contre présence le soir",
     "Grande chambre disponible pour un étudiant, en échange d'une présence le soir.",
     ["isolated_elderly"]),
]  # fmt: skip

OFFERS = [
    ("pret_don", "Je prête une perceuse et une échelle", "Disponibles le week-end."),
    ("echange_savoirs", "Cours de couture", "Je peux apprendre les bases de la couture."),
    ("aide_numerique", "Installer WhatsApp et les appels vidéo", "Pour garder le contact "
     "avec la famille."),
    ("courses", "Je fais mes courses le mardi, je peux prendre les vôtres", ""),
]  # fmt: skip

CATEGORY_SETS = [
    ["courses", "visite_convivialite"],
    ["aide_numerique", "demarches_administratives"],
    ["bricolage_jardinage", "pret_don", "transport_accompagnement"],
    ["echange_savoirs", "aide_numerique", "courses"],
    ["visite_convivialite", "hebergement_intergenerationnel", "garde_ponctuelle"],
]


# Intergenerational housing: the host's home (rue Polonceau) and the young people's
# places of study (Université Paris Cité, Grands Moulins; Campus Condorcet).
HOUSING_HOST = ("bernadette@voisins.demo", (2.352711, 48.885083), "15 rue Polonceau, 3e étage")
HOUSING_YOUNG = {
    "hugo@voisins.demo": (2.381743, 48.829127),
    "ines@voisins.demo": (2.363902, 48.907561),
}


@dataclass
class DemoSummary:
    created: bool
    residents: int
    volunteers: int
    posts: int


def _point_in(rng: random.Random, ring: list[tuple[float, float]]) -> tuple[float, float]:
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return (
        round(rng.uniform(min(lons) + 0.0005, max(lons) - 0.0005), 6),
        round(rng.uniform(min(lats) + 0.0005, max(lats) - 0.0005), 6),
    )


async def _user(
    conn: AsyncConnection, email: str, name: str, role: str = "resident", totp: str | None = None
) -> int:
    # Demo accounts are fictional: their addresses count as confirmed, so the demo shows
    # the product as people use it (e-mails on) rather than a sign-up half done.
    return int(
        (
            await conn.execute(
                text(
                    """
                    INSERT INTO users (email, password_hash, display_name, role, totp_secret,
                                       totp_enabled_at, email_confirmed_at)
                    VALUES (:e, :p, :n, :r, CAST(:t AS text),
                            CASE WHEN CAST(:t AS text) IS NULL THEN NULL ELSE now() END,
                            now())
                    ON CONFLICT (email) DO UPDATE SET display_name = EXCLUDED.display_name,
                        totp_secret = EXCLUDED.totp_secret
                    RETURNING id
                    """
                ),
                {"e": email, "p": hash_password(DEMO_PASSWORD), "n": name, "r": role, "t": totp},
            )
        ).scalar_one()
    )


async def load_demo(engine: AsyncEngine, settings: Settings) -> DemoSummary:
    if settings.environment == "production":
        raise RuntimeError("the demo data is for development machines only")
    rng = random.Random(18)  # noqa: S311 -- the same neighbourhood every time, not a secret
    geocoder = DisabledGeocoder()
    size = settings.grid_cell_m
    async with engine.begin() as conn:
        exists = (
            await conn.execute(
                text("SELECT 1 FROM centres WHERE name = 'Centre social Goutte d''Or'")
            )
        ).first()
        if exists:
            await _housing(conn, settings)
            return DemoSummary(False, 0, 0, 0)
        admin_id = await _user(
            conn, "admin@voisins.demo", "Admin voisins", "admin", DEMO_TOTP["admin"]
        )
        admin = Viewer(id=admin_id, role="admin", second_factor=True)
        ids = []
        for name, ring in (
            ("Centre social Goutte d'Or", GOUTTE_DOR),
            ("Centre social La Chapelle", LA_CHAPELLE),
        ):
            centre = await centres.create_centre(
                conn,
                admin,
                CentreIn(
                    name=name,
                    territory={"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
                    contact_email="contact@"
                    + ("gouttedor" if "Goutte" in name else "lachapelle")
                    + ".demo",
                    contact_phone="01 42 00 00 00",
                ),
            )
            ids.append(centre.id)
        sw_ids = []
        for index, (key, centre_id) in enumerate((("sw1", ids[0]), ("sw2", ids[1])), start=1):
            sw_id = await _user(
                conn,
                f"travailleur{index}@voisins.demo",
                f"Travailleur social {index}",
                "social_worker",
                DEMO_TOTP[key],
            )
            await conn.execute(
                text("INSERT INTO centre_members (centre_id, user_id) VALUES (:c, :u)"),
                {"c": centre_id, "u": sw_id},
            )
            sw_ids.append(sw_id)
        worker = Viewer(
            id=sw_ids[0], role="social_worker", second_factor=True, centre_ids=frozenset({ids[0]})
        )

        now = clock.now()
        residents = []
        for name in FIRST_NAMES:
            user_id = await _user(
                conn,
                f"{name.lower()}@voisins.demo".replace("é", "e")
                .replace("è", "e")
                .replace("ï", "i"),
                name,
            )
            residents.append(Viewer(id=user_id, role="resident", second_factor=False))
        volunteers = residents[:14]
        for index, person in enumerate(volunteers):
            ring = GOUTTE_DOR if index % 2 == 0 else LA_CHAPELLE
            lon, lat = _point_in(rng, ring)
            await volunteer.put_profile(
                conn,
                person,
                VolunteerIn(
                    location=LocationIn(lon=lon, lat=lat),
                    radius_km=rng.choice([1, 2, 3, 5]),
                    categories=CATEGORY_SETS[index % len(CATEGORY_SETS)],  # type: ignore[arg-type]
                    availability=[
                        Slot(day=d, start="09:00", end="19:00") for d in rng.sample(range(1, 8), 4)
                    ],
                    languages=rng.choice([["fr"], ["fr", "ar"], ["fr", "wo"], ["fr", "en"]]),
                ),
                geocoder=geocoder,
                cell_size_m=size,
            )
        count = 0
        for index, (category, title, description, flags) in enumerate(REQUESTS * 2):
            author = residents[14 + index % 14]
            lon, lat = _point_in(rng, GOUTTE_DOR if index % 3 else LA_CHAPELLE)
            start = now + timedelta(days=1 + index % 6, hours=rng.randint(0, 8))
            await create_and_match(
                conn,
                author,
                PostIn(
                    kind="request",
                    category=category,  # type: ignore[arg-type]
                    title=title,
                    description=description,
                    location=LocationIn(lon=lon, lat=lat),
                    schedule=OnceIn(starts_at=start, ends_at=start + timedelta(hours=2))
                    if index % 2
                    else WeeklyIn(days=[1 + index % 7], start="14:00", end="17:00"),
                    beneficiary=flags,  # type: ignore[arg-type]
                    urgency="urgent" if index == 4 else "normal",
                ),
                geocoder=geocoder,
                settings=settings,
            )
            count += 1
        for index, (category, title, description) in enumerate(OFFERS):
            lon, lat = _point_in(rng, GOUTTE_DOR)
            await create_and_match(
                conn,
                volunteers[index],
                PostIn(
                    kind="offer",
                    category=category,  # type: ignore[arg-type]
                    title=title,
                    description=description,
                    location=LocationIn(lon=lon, lat=lat),
                    schedule=WeeklyIn(days=[2, 6], start="10:00", end="12:00"),
                ),
                geocoder=geocoder,
                settings=settings,
            )
            count += 1
        # Aller-vers: Mme Lefèvre has no computer; the centre posts for her.
        lefevre = await assisted.create_assisted(
            conn,
            worker,
            AssistedIn(
                display_name="Mme Lefèvre",
                phone="01 46 07 00 00",
                vulnerability=["isolated_elderly"],
                consent=ConsentIn(
                    method="in_person",
                    obtained_at=now,
                    centre_id=ids[0],
                    note="Rencontrée à la permanence du mardi",
                ),
            ),
        )
        lon, lat = _point_in(rng, GOUTTE_DOR)
        await create_and_match(
            conn,
            worker,
            PostIn(
                kind="request",
                category="courses",
                title="Courses hebdomadaires pour une voisine du quartier",
                description="Liste donnée par téléphone le lundi.",
                location=LocationIn(lon=lon, lat=lat),
                schedule=WeeklyIn(days=[3], start="10:00", end="12:00"),
                on_behalf_of=lefevre.id,
            ),
            geocoder=geocoder,
            settings=settings,
        )
        count += 1
        await _housing(conn, settings)
    return DemoSummary(True, len(residents) + 1, len(volunteers), count)


def _years_before(day: date, years: int, month: int, dom: int) -> date:
    return add_months(date(day.year, month, dom), -12 * years)


async def _housing(conn: AsyncConnection, settings: Settings) -> bool:
    """One host, two young people and one pair in its trial period, through the housing
    services as the Goutte d'Or's social worker would record them; skipped when the
    host already applied."""
    people = dict(
        (
            await conn.execute(
                text("SELECT email, id FROM users WHERE email = ANY(:e)"),
                {"e": [HOUSING_HOST[0], *HOUSING_YOUNG, "travailleur1@voisins.demo"]},
            )
        )
        .tuples()
        .all()
    )
    centre_id = (
        await conn.execute(text("SELECT id FROM centres WHERE name = 'Centre social Goutte d''Or'"))
    ).scalar_one()
    already = (
        await conn.execute(
            text("SELECT 1 FROM housing_applications WHERE person_id = :p"),
            {"p": people[HOUSING_HOST[0]]},
        )
    ).first()
    if already:
        return False
    today = clock.today()
    worker = Viewer(
        id=people["travailleur1@voisins.demo"],
        role="social_worker",
        second_factor=True,
        centre_ids=frozenset({centre_id}),
    )

    def resident(email: str) -> Viewer:
        return Viewer(id=people[email], role="resident", second_factor=False)

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    email, (lon, lat), address = HOUSING_HOST
    host = await housing_applications.create_application(
        conn,
        resident(email),
        ApplicationIn(
            side="host",
            centre_id=centre_id,
            birth_date=_years_before(today, 79, 3, 14),
            available_from=ago(30),
            location=LocationIn(lon=lon, lat=lat, address=address),
            formulas=["solidarity"],
            monthly_eur=120,
            services=["evening_presence", "shopping", "digital_help"],
            languages=["fr"],
            habits=HabitsIn(has_pets=True, rhythm="early"),
            room=RoomIn(size_m2=13, floor=3, lift=True, private_bathroom=False),
            about="Une chambre claire sur cour, près du square Léon. J'aime la compagnie le soir.",
        ),
        DisabledGeocoder(),
        cell_size_m=settings.grid_cell_m,
        today=today,
    )
    young = {}
    for (email, (lon, lat)), born, detail, budget in zip(
        HOUSING_YOUNG.items(),
        (_years_before(today, 21, 9, 2), _years_before(today, 24, 1, 27)),
        ("Licence de géographie", "Master de travail social"),
        (200, 300),
        strict=True,
    ):
        young[email] = await housing_applications.create_application(
            conn,
            resident(email),
            ApplicationIn(
                side="young",
                centre_id=centre_id,
                birth_date=born,
                available_from=ago(20),
                available_until=today + timedelta(days=300),
                location=LocationIn(lon=lon, lat=lat),
                formulas=["free_presence", "solidarity"],
                monthly_eur=budget,
                services=["evening_presence", "digital_help", "shopping"],
                languages=["fr", "en"],
                habits=HabitsIn(accepts_pets=True),
                occupation="student",
                occupation_detail=detail,
            ),
            DisabledGeocoder(),
            cell_size_m=settings.grid_cell_m,
            today=today,
        )
    hugo = young["hugo@voisins.demo"]
    steps = [
        (host.id, "interview", 40, "Rencontre au centre, très motivée."),
        (host.id, "home_visit", 35, "Chambre propre et calme, escalier avec ascenseur."),
        *[(app.id, "interview", 38, None) for app in young.values()],
        *[(app.id, "references", 32, None) for app in young.values()],
    ]
    for app_id, kind, days, note in steps:
        await housing_applications.record_application_step(
            conn,
            worker,
            app_id,
            ApplicationStepIn(kind=kind, done_on=ago(days), outcome="favourable", note=note),  # type: ignore[arg-type]
            today=today,
        )
    pair = await housing_pairs.propose_pair(
        conn,
        worker,
        PairIn(host_application_id=host.id, young_application_id=hugo.id),
        today=ago(25),
    )
    for kind, days in (("meeting", 20), ("trial", 14)):
        await housing_pairs.record_pair_step(
            conn,
            worker,
            pair.id,
            PairStepIn(kind=kind, done_on=ago(days), outcome="favourable"),  # type: ignore[arg-type]
            settings,
            today=today,
        )
    return True
