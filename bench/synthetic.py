"""A synthetic France of volunteers and a batch of Paris requests, for bench/match.py.

Volunteers cluster around the 20 largest French communes, weighted by population
(INSEE populations légales 2021, rounded to the thousand), with a gaussian spread
that grows with the city; 10 % are spread uniformly over metropolitan France
(the coarse outline of ``voisins.geo.france``). Everything else (radius, categories,
skills, languages, weekly availability, vetting, load) follows hand-set shares that
look like a real volunteer base; the numbers are documented next to each draw.

Generation is vectorised with numpy and loaded with binary COPY
(``copy_records_to_table``); geometry values travel as EWKB through a pass-through
codec. Public cells are the real ones: Lambert-93 cells of ``grid_cell_m`` computed
with a vectorised pyproj transform (same arithmetic as ``voisins.geo.grid.snap``).

Shortcuts taken for the benchmark only (documented because they differ from what the
application does): ``active_matches`` / ``last_proposed_at`` / ``last_matched_at`` /
counters are written directly instead of through match history, and overseas
France is not populated.

Over 400 lines as one module on purpose: one generator, and half of it the hand-set
tables (cities; category, skill, language and radius shares; vetting) that its draws
read; split, a reader would chase each draw's numbers into another file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import asyncpg
import numpy as np
import shapely
from pyproj import Transformer

from voisins.categories import CATEGORIES, SENSITIVE_CATEGORIES
from voisins.geo.france import ZONES
from voisins.schedule import merge, once_slots, to_multirange, weekly_slots

# (name, population, lon, lat) — INSEE populations légales 2021 (communes), town halls.
CITIES: tuple[tuple[str, int, float, float], ...] = (
    ("Paris", 2_133_000, 2.3522, 48.8566),
    ("Marseille", 873_000, 5.3698, 43.2965),
    ("Lyon", 523_000, 4.8357, 45.7640),
    ("Toulouse", 504_000, 1.4442, 43.6047),
    ("Nice", 348_000, 7.2620, 43.7102),
    ("Nantes", 323_000, -1.5536, 47.2184),
    ("Montpellier", 302_000, 3.8767, 43.6108),
    ("Strasbourg", 291_000, 7.7521, 48.5734),
    ("Bordeaux", 261_000, -0.5792, 44.8378),
    ("Lille", 236_000, 3.0573, 50.6292),
    ("Rennes", 225_000, -1.6778, 48.1173),
    ("Toulon", 180_000, 5.9280, 43.1242),
    ("Reims", 180_000, 4.0317, 49.2583),
    ("Saint-Étienne", 173_000, 4.3872, 45.4397),
    ("Le Havre", 166_000, 0.1079, 49.4944),
    ("Villeurbanne", 162_000, 4.8795, 45.7719),
    ("Dijon", 159_000, 5.0415, 47.3220),
    ("Angers", 157_000, -0.5632, 47.4784),
    ("Grenoble", 157_000, 5.7245, 45.1885),
    ("Nîmes", 148_000, 4.3601, 43.8367),
)
CHATELET = (2.3470, 48.8583)  # the densest spot: requests are drawn around it
RURAL_SHARE = 0.10

# How often volunteers offer each category (and how often requests ask for it), in the
# order of voisins.categories.CATEGORIES.
CATEGORY_WEIGHTS = np.array([18, 12, 3, 10, 13, 7, 10, 12, 10, 5], dtype=float)
SKILLS: tuple[str, ...] = (
    "permis_b",
    "voiture",
    "informatique",
    "smartphone",
    "cuisine",
    "jardinage",
    "bricolage",
    "outils",
    "soutien_scolaire",
    "anglais",
    "couture",
    "administratif",
    "premiers_secours",
    "demenagement",
    "animaux",
    "lecture",
)
SKILL_WEIGHTS = np.array([14, 9, 10, 10, 7, 7, 9, 5, 8, 6, 3, 6, 4, 5, 3, 4], dtype=float)
# Skills go with categories: a volunteer who drives people around has a licence, a
# request for digital help asks for computer or smartphone skills.
CATEGORY_SKILLS: dict[str, tuple[str, ...]] = {
    "courses": ("permis_b", "voiture", "cuisine"),
    "visite_convivialite": ("lecture", "cuisine", "animaux"),
    "hebergement_intergenerationnel": ("cuisine", "bricolage"),
    "echange_savoirs": ("soutien_scolaire", "anglais", "couture", "cuisine", "informatique"),
    "aide_numerique": ("informatique", "smartphone"),
    "demarches_administratives": ("administratif", "informatique"),
    "transport_accompagnement": ("permis_b", "voiture"),
    "bricolage_jardinage": ("bricolage", "outils", "jardinage"),
    "pret_don": ("outils", "demenagement", "voiture"),
    "garde_ponctuelle": ("soutien_scolaire", "premiers_secours", "lecture"),
}
# LINK[c, s] = 1 when skill s goes with category c.
LINK = np.array([[float(skill in CATEGORY_SKILLS[c]) for skill in SKILLS] for c in CATEGORIES])
OFF_CATEGORY_SKILL = 0.15  # weight of a skill unrelated to one's categories
# Second languages on top of French (share of volunteers speaking each).
LANGUAGE_SHARES: tuple[tuple[str, float], ...] = (
    ("en", 0.30),
    ("ar", 0.08),
    ("es", 0.07),
    ("pt", 0.03),
    ("tr", 0.015),
    ("wo", 0.01),
)
NO_FRENCH_SHARE = 0.02  # recent arrivals who volunteer in their own language
# Radius in km people choose: mostly 2-5 km, a few drive far.
RADIUS_KM = np.array([1, 2, 3, 4, 5, 7, 10, 15, 20])
RADIUS_WEIGHTS = np.array([7, 20, 20, 14, 18, 8, 7, 4, 2], dtype=float)
PAUSED_SHARE = 0.05
VETTED_SHARE = 0.08  # ID checked and a criminal-record extract of the last two years
ID_ONLY_SHARE = 0.03  # ID checked, extract not (yet) recorded
AVAILABILITY_POOL = 4096  # distinct weekly patterns, sampled per volunteer


def _weights(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> list[bytes]:
    """Little-endian EWKB points with SRID, as PostGIS' binary input reads them."""
    rec = np.empty(
        len(lon), dtype=[("bo", "u1"), ("t", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
    )
    rec["bo"] = 1
    rec["t"] = 0x20000001  # Point with SRID flag
    rec["srid"] = srid
    rec["x"] = lon
    rec["y"] = lat
    raw = rec.tobytes()
    size = rec.dtype.itemsize
    return [raw[i : i + size] for i in range(0, len(raw), size)]


async def register_geometry_codec(conn: asyncpg.Connection) -> None:
    """Let COPY send ready-made EWKB bytes into geometry columns."""
    await conn.set_type_codec(
        "geometry",
        schema="public",
        encoder=lambda value: value,
        decoder=lambda value: value,
        format="binary",
    )


class Grid:
    """Vectorised public-cell computation (Lambert-93 cells, as voisins.geo.grid)."""

    def __init__(self, size_m: int) -> None:
        self.size_m = size_m
        self._fwd = Transformer.from_crs(4326, 2154, always_xy=True)
        self._inv = Transformer.from_crs(2154, 4326, always_xy=True)

    def cells(self, lon: np.ndarray, lat: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        x, y = self._fwd.transform(lon, lat)
        ix = np.floor(np.asarray(x) / self.size_m).astype(np.int64)
        iy = np.floor(np.asarray(y) / self.size_m).astype(np.int64)
        clon, clat = self._inv.transform((ix + 0.5) * self.size_m, (iy + 0.5) * self.size_m)
        keys = [
            f"2154:{self.size_m}:{a}:{b}" for a, b in zip(ix.tolist(), iy.tolist(), strict=True)
        ]
        return keys, np.round(np.asarray(clon), 6), np.round(np.asarray(clat), 6)

    def centre_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """The centre of the cell holding a point, in the grid plane (as ``cell_xy``)."""
        x, y = self._fwd.transform(lon, lat)
        return (
            (math.floor(x / self.size_m) + 0.5) * self.size_m,
            (math.floor(y / self.size_m) + 0.5) * self.size_m,
        )


def _city_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    pops = np.array([c[1] for c in CITIES], dtype=float)
    which = rng.choice(len(CITIES), size=n, p=pops / pops.sum())
    # sigma 1.5 km for a city of 150k, 4.5 km for Paris: agglomerations spread wider.
    sigma_km = 1.5 + 3.0 * np.sqrt(pops / pops.max())
    lon0 = np.array([c[2] for c in CITIES])[which]
    lat0 = np.array([c[3] for c in CITIES])[which]
    s = sigma_km[which]
    dx = rng.normal(0.0, 1.0, n) * s
    dy = rng.normal(0.0, 1.0, n) * s
    lat = lat0 + dy / 111.32
    lon = lon0 + dx / (111.32 * np.cos(np.radians(lat0)))
    return lon, lat


def _rural_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    metropole = ZONES[0].polygon
    out_lon: list[np.ndarray] = []
    out_lat: list[np.ndarray] = []
    have = 0
    while have < n:
        m = max(1024, int((n - have) * 1.8))
        lon = rng.uniform(-4.8, 8.3, m)
        lat = rng.uniform(42.3, 51.1, m)
        inside = shapely.contains_xy(metropole, lon, lat)
        out_lon.append(lon[inside])
        out_lat.append(lat[inside])
        have += int(inside.sum())
    return np.concatenate(out_lon)[:n], np.concatenate(out_lat)[:n]


def points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    rural = rng.binomial(n, RURAL_SHARE)
    lon_c, lat_c = _city_points(rng, n - rural)
    lon_r, lat_r = _rural_points(rng, rural)
    lon = np.concatenate([lon_c, lon_r])
    lat = np.concatenate([lat_c, lat_r])
    order = rng.permutation(n)  # ids must not sort by city
    return np.round(lon[order], 7), np.round(lat[order], 7)


def _weighted_subsets(
    rng: np.random.Generator, names: Sequence[str], weights: np.ndarray, counts: np.ndarray
) -> list[list[str]]:
    """For each row, ``counts[i]`` distinct names drawn by weight (Gumbel top-k);
    ``weights`` is one vector for all rows or one row of weights per row."""
    n, k = len(counts), len(names)
    w = weights if weights.ndim == 2 else weights[None, :]
    keys = np.log(w / w.sum(axis=1, keepdims=True)) + rng.gumbel(size=(n, k))
    order = np.argsort(-keys, axis=1)
    mask = np.zeros((n, k), dtype=bool)
    rows = np.arange(n)[:, None]
    mask[rows, order] = np.arange(k)[None, :] < counts[:, None]
    bits = mask @ (1 << np.arange(k, dtype=np.int64))
    cache: dict[int, list[str]] = {}
    out = []
    for b in bits.tolist():
        subset = cache.get(b)
        if subset is None:
            subset = cache[b] = sorted(names[i] for i in range(k) if b >> i & 1)
        out.append(subset)
    return out


def _languages(rng: np.random.Generator, n: int) -> list[list[str]]:
    extra = np.stack([rng.random(n) < share for _, share in LANGUAGE_SHARES], axis=1)
    french = rng.random(n) >= NO_FRENCH_SHARE
    # Nobody speaks nothing: a non-French speaker has at least their own language.
    no_lang = ~french & ~extra.any(axis=1)
    extra[no_lang, rng.integers(0, len(LANGUAGE_SHARES), int(no_lang.sum()))] = True
    codes = [code for code, _ in LANGUAGE_SHARES]
    bits = (extra @ (1 << np.arange(len(codes), dtype=np.int64))) * 2 + french
    cache: dict[int, list[str]] = {}
    out = []
    for b in bits.tolist():
        langs = cache.get(b)
        if langs is None:
            langs = (["fr"] if b & 1 else []) + [c for i, c in enumerate(codes) if b >> (i + 1) & 1]
            langs = cache[b] = sorted(langs)
        out.append(langs)
    return out


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _availability_pattern(rng: np.random.Generator) -> list[tuple[int, int]]:
    """One to three weekly habits: evenings, weekends, daytime (retired people), …"""
    ranges: list[tuple[int, int]] = []
    for _ in range(int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))):
        kind = rng.choice(["evenings", "weekend", "daytime", "one_day"], p=[0.3, 0.3, 0.2, 0.2])
        if kind == "evenings":
            days = sorted(rng.choice(np.arange(1, 6), size=rng.integers(2, 6), replace=False))
            start = int(rng.choice([17, 18, 19])) * 60 + int(rng.choice([0, 30]))
            end = start + int(rng.choice([120, 150, 180, 210]))
        elif kind == "weekend":
            days = sorted(rng.choice([6, 7], size=rng.integers(1, 3), replace=False))
            start = int(rng.integers(8, 15)) * 60
            end = start + int(rng.integers(2, 9)) * 60
        elif kind == "daytime":
            days = sorted(rng.choice(np.arange(1, 6), size=rng.integers(2, 6), replace=False))
            start = int(rng.integers(8, 14)) * 60
            end = start + int(rng.integers(3, 9)) * 60
        else:
            days = [int(rng.integers(1, 8))]
            start = int(rng.integers(8, 18)) * 60
            end = start + int(rng.integers(2, 6)) * 60
        end = min(end, 24 * 60)
        ranges += weekly_slots([int(d) for d in days], _clock(start), _clock(end))
    return merge(ranges)


@dataclass
class Population:
    """Deterministic generator of volunteer rows; call ``chunks`` for new ids."""

    seed: int
    grid: Grid
    staff_id: int
    now: datetime

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed + 1)
        self.availability = [
            to_multirange(_availability_pattern(rng)) for _ in range(AVAILABILITY_POOL)
        ]

    def rows(self, first_id: int, n: int) -> tuple[list[tuple[object, ...]], list[tuple]]:
        """``n`` (users row, volunteers row) pairs for ids first_id..first_id+n-1."""
        rng = np.random.default_rng([self.seed, first_id])
        ids = np.arange(first_id, first_id + n, dtype=np.int64).tolist()
        lon, lat = points(rng, n)
        keys, clon, clat = self.grid.cells(lon, lat)
        geo = ewkb_points(lon, lat)
        centres = ewkb_points(clon, clat)
        radius = RADIUS_KM[rng.choice(len(RADIUS_KM), n, p=_weights(RADIUS_WEIGHTS))] * 1000
        cat_counts = rng.choice([1, 2, 3, 4], size=n, p=[0.3, 0.35, 0.22, 0.13])
        categories = _weighted_subsets(rng, CATEGORIES, CATEGORY_WEIGHTS, cat_counts)
        skill_counts = rng.choice([0, 1, 2, 3], size=n, p=[0.3, 0.35, 0.25, 0.1])
        has_category = np.array([[c in row for c in CATEGORIES] for row in categories])
        skill_weights = SKILL_WEIGHTS[None, :] * (OFF_CATEGORY_SKILL + has_category @ LINK)
        skills = _weighted_subsets(rng, SKILLS, skill_weights, skill_counts)
        languages = _languages(rng, n)
        avail_idx = rng.integers(0, AVAILABILITY_POOL, n).tolist()
        max_active = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.25, 0.3, 0.25, 0.1, 0.1])
        # Most volunteers hold nothing right now; some are busy, ~4 % are full.
        busy = rng.random(n)
        active = np.where(
            busy < 0.80, 0, np.where(busy < 0.96, rng.integers(0, max_active), max_active)
        )
        paused = (rng.random(n) < PAUSED_SHARE).tolist()
        vet = rng.random(n)
        vetted = vet < VETTED_SHARE
        id_checked = vet < VETTED_SHARE + ID_ONLY_SHARE
        id_days = rng.integers(10, 900, n)
        extract_days = rng.integers(5, 730, n)
        proposed = rng.random(n) < 0.4
        proposed_minutes = rng.integers(10, 28 * 24 * 60, n)
        matched = rng.random(n) < 0.2
        matched_days = rng.integers(1, 180, n)
        completed = rng.geometric(0.35, n) - 1
        no_show = np.where(rng.random(n) < 0.03, rng.integers(1, 3, n), 0)
        created_days = rng.integers(1, 1000, n)

        now, today = self.now, self.now.date()
        staff = self.staff_id
        users: list[tuple[object, ...]] = []
        vols: list[tuple] = []
        radius_l, max_l, active_l = radius.tolist(), max_active.tolist(), active.tolist()
        for i, uid in enumerate(ids):
            created = now - timedelta(days=int(created_days[i]))
            users.append((uid, f"v{uid}", True, "resident", created))
            checked = bool(id_checked[i])
            ok = bool(vetted[i])
            vols.append(
                (
                    uid,
                    geo[i],
                    keys[i],
                    centres[i],
                    radius_l[i],
                    categories[i],
                    skills[i],
                    languages[i],
                    self.availability[avail_idx[i]],
                    max_l[i],
                    paused[i],
                    now - timedelta(days=int(id_days[i])) if checked else None,
                    staff if checked else None,
                    today - timedelta(days=int(extract_days[i])) if ok else None,
                    staff if ok else None,
                    created,
                    created,
                    active_l[i],
                    now - timedelta(minutes=int(proposed_minutes[i])) if proposed[i] else None,
                    now - timedelta(days=int(matched_days[i])) if matched[i] else None,
                    int(completed[i]),
                    int(no_show[i]),
                )
            )
        return users, vols


USER_COLUMNS = ("id", "display_name", "assisted", "role", "created_at")
VOLUNTEER_COLUMNS = (
    "user_id",
    "point",
    "cell_key",
    "cell_centre",
    "radius_m",
    "categories",
    "skill_tags",
    "languages",
    "availability",
    "max_active_matches",
    "paused",
    "id_checked_at",
    "id_checked_by",
    "record_extract_date",
    "record_checked_by",
    "created_at",
    "updated_at",
    "active_matches",
    "last_proposed_at",
    "last_matched_at",
    "completed_count",
    "no_show_count",
)


def id_chunks(first_id: int, n: int, chunk: int) -> Iterator[tuple[int, int]]:
    done = 0
    while done < n:
        size = min(chunk, n - done)
        yield first_id + done, size
        done += size


async def copy_volunteers(conn: asyncpg.Connection, users: list, vols: list) -> None:
    await conn.copy_records_to_table("users", records=users, columns=USER_COLUMNS)
    await conn.copy_records_to_table("volunteers", records=vols, columns=VOLUNTEER_COLUMNS)


# ---------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class RequestSpec:
    lon: float
    lat: float
    category: str
    skill_tags: list[str]
    languages: list[str]
    schedule_kind: str
    starts_at: datetime | None
    ends_at: datetime | None
    weekly_days: list[int] | None
    weekly_start: str | None
    weekly_end: str | None
    slots: list[tuple[int, int]]
    volunteers_needed: int
    urgency: str
    beneficiary_flags: list[str]
    sensitive: bool
    search_radius_m: int
    language_required: bool = False


# About 10 % of the requests that name languages need one of them: mostly people who
# speak no French (a third of those need their language), rarely French speakers.
# A required rare language is the filter that makes the walk come up short, so the
# sweep runs too.
LANGUAGE_REQUIRED_WITHOUT_FRENCH = 0.35
LANGUAGE_REQUIRED_WITH_FRENCH = 0.02


def request_specs(seed: int, n: int, now: datetime) -> list[RequestSpec]:
    """``n`` requests at uniform points within 3 km of Châtelet (dense Paris)."""
    rng = np.random.default_rng([seed, 7])
    r_km = 3.0 * np.sqrt(rng.random(n))
    theta = rng.uniform(0, 2 * math.pi, n)
    lat = CHATELET[1] + r_km * np.sin(theta) / 111.32
    lon = CHATELET[0] + r_km * np.cos(theta) / (111.32 * math.cos(math.radians(CHATELET[1])))
    cats = rng.choice(len(CATEGORIES), size=n, p=_weights(CATEGORY_WEIGHTS))
    specs = []
    for i in range(n):
        category = CATEGORIES[int(cats[i])]
        # Half the requests name no skill; the others one or two that fit the category.
        related = CATEGORY_SKILLS[category]
        n_skills = min(len(related), int(rng.choice([0, 1, 2], p=[0.5, 0.35, 0.15])))
        skills = sorted(rng.choice(related, size=n_skills, replace=False).tolist())
        languages = [
            [],
            ["fr"],
            ["ar"],
            ["ar", "fr"],
            ["en"],
            ["es"],
            ["pt"],
            ["tr"],
            ["wo"],
        ][int(rng.choice(9, p=[0.25, 0.5, 0.06, 0.06, 0.05, 0.03, 0.02, 0.015, 0.015]))]
        starts_at: datetime | None
        ends_at: datetime | None
        if rng.random() < 0.5:
            day = now + timedelta(days=int(rng.integers(1, 8)))
            start_h = int(rng.integers(8, 20))
            starts_at = day.replace(hour=start_h, minute=0, second=0, microsecond=0)
            ends_at = starts_at + timedelta(hours=int(rng.integers(1, 4)))
            slots = once_slots(starts_at, ends_at)
            weekly: tuple[list[int] | None, str | None, str | None] = (None, None, None)
            kind = "once"
        else:
            days = sorted(
                int(d) for d in rng.choice(np.arange(1, 8), rng.integers(1, 4), replace=False)
            )
            start = int(rng.integers(8, 19)) * 60
            end = start + int(rng.choice([60, 90, 120, 180]))
            weekly = (days, _clock(start), _clock(end))
            slots = weekly_slots(days, weekly[1], weekly[2])
            starts_at, ends_at = None, None
            kind = "weekly"
        flags = (
            [str(rng.choice(["isolated_elderly", "precarious", "minor"]))]
            if rng.random() < 0.15
            else []
        )
        specs.append(
            RequestSpec(
                lon=round(float(lon[i]), 7),
                lat=round(float(lat[i]), 7),
                category=category,
                skill_tags=skills,
                languages=languages,
                schedule_kind=kind,
                starts_at=starts_at,
                ends_at=ends_at,
                weekly_days=weekly[0],
                weekly_start=weekly[1],
                weekly_end=weekly[2],
                slots=slots,
                volunteers_needed=int(rng.choice([1, 2, 3], p=[0.8, 0.15, 0.05])),
                urgency="urgent" if rng.random() < 0.1 else "normal",
                beneficiary_flags=flags,
                sensitive=category in SENSITIVE_CATEGORIES or bool(flags),
                search_radius_m=int(rng.choice([2000, 3000, 5000, 10000], p=[0.1, 0.2, 0.6, 0.1])),
                language_required=bool(languages)
                and rng.random()
                < (
                    LANGUAGE_REQUIRED_WITH_FRENCH
                    if "fr" in languages
                    else LANGUAGE_REQUIRED_WITHOUT_FRENCH
                ),
            )
        )
    return specs


def clock_time(value: str | None) -> time | None:
    return None if value is None else time(int(value[:2]), int(value[3:]))


async def insert_requests(
    conn: asyncpg.Connection, specs: list[RequestSpec], grid: Grid, staff_id: int, now: datetime
) -> list[int]:
    """Published requests by assisted residents (created by the bench social worker)."""
    lon = np.array([s.lon for s in specs])
    lat = np.array([s.lat for s in specs])
    keys, clon, clat = grid.cells(lon, lat)
    post_ids = []
    for i, s in enumerate(specs):
        author = await conn.fetchval(
            "INSERT INTO users (display_name, assisted, role, created_by) "
            "VALUES ($1, true, 'resident', $2) RETURNING id",
            f"habitant {i}",
            staff_id,
        )
        post_id = await conn.fetchval(
            """
            INSERT INTO posts (
                author_id, created_by, kind, category, skill_tags, title, description,
                schedule_kind, starts_at, ends_at, weekly_days, weekly_start, weekly_end,
                slots, volunteers_needed, languages, urgency, beneficiary_flags, sensitive,
                search_radius_m, point, cell_key, cell_centre, status, expires_at, published_at,
                language_required)
            VALUES ($1, $2, 'request', $3, $4, $5, '', $6, $7, $8, $9, $10, $11,
                    $12::int4multirange, $13, $14, $15, $16, $17, $18,
                    ST_SetSRID(ST_MakePoint($19::float8, $20::float8), 4326), $21,
                    ST_SetSRID(ST_MakePoint($22::float8, $23::float8), 4326),
                    'published', $24, $25, $26)
            RETURNING id
            """,
            author,
            staff_id,
            s.category,
            s.skill_tags,
            f"Demande de test {i}",
            s.schedule_kind,
            s.starts_at,
            s.ends_at,
            s.weekly_days,
            clock_time(s.weekly_start),
            clock_time(s.weekly_end),
            to_multirange(s.slots),
            s.volunteers_needed,
            s.languages,
            s.urgency,
            s.beneficiary_flags,
            s.sensitive,
            s.search_radius_m,
            s.lon,
            s.lat,
            keys[i],
            float(clon[i]),
            float(clat[i]),
            now + timedelta(days=14),
            now - timedelta(minutes=5),
            s.language_required,
        )
        post_ids.append(int(post_id))
    return post_ids


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
