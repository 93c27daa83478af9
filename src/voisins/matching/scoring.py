"""An explainable weighted score: each component lies in [0, 1], is multiplied by its
weight from the settings, and the breakdown is stored with the match."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any

import msgspec

from voisins.geo.bands import Band, band_for_m
from voisins.settings import Settings

# Fairness recovers over three days: someone asked an hour ago ranks after someone
# not asked for a week, so the same few are not always asked.
FAIRNESS_RECOVERY_H = 72.0
# Distance decays with this scale: the next cell (500 m) scores ~0.78, 3 km ~0.22.
# Distances are between public cell centres (candidates.py), never exact.
DISTANCE_SCALE_M = 2000.0


class Features(msgspec.Struct, frozen=True):
    """What the candidate query measured for one volunteer and one request."""

    volunteer_id: int
    distance_m: float
    skill_overlap: int
    post_skills: int
    available_minutes: int
    post_minutes: int
    language_match: bool
    last_proposed_at: datetime | None
    completed: int
    no_shows: int


class Component(msgspec.Struct, frozen=True):
    value: float
    weight: float


class Score(msgspec.Struct, frozen=True):
    total: float
    components: dict[str, Component]


def components(features: Features, now: datetime) -> dict[str, float]:
    if features.last_proposed_at is None:
        fairness = 1.0
    else:
        hours = (now - features.last_proposed_at).total_seconds() / 3600
        fairness = min(1.0, max(0.0, hours / FAIRNESS_RECOVERY_H))
    return {
        "distance": math.exp(-features.distance_m / DISTANCE_SCALE_M),
        "skill": features.skill_overlap / features.post_skills if features.post_skills else 1.0,
        "availability": (
            min(1.0, features.available_minutes / features.post_minutes)
            if features.post_minutes
            else 1.0
        ),
        "language": 1.0 if features.language_match else 0.0,
        "fairness": fairness,
        # Laplace-smoothed share of kept promises: newcomers start at 0.5.
        "reliability": (features.completed + 1) / (features.completed + features.no_shows + 2),
    }


def weights(settings: Settings) -> dict[str, float]:
    return {
        "distance": settings.weight_distance,
        "skill": settings.weight_skill,
        "availability": settings.weight_availability,
        "language": settings.weight_language,
        "fairness": settings.weight_fairness,
        "reliability": settings.weight_reliability,
    }


def total(features: Features, settings: Settings, now: datetime) -> float:
    """The weighted sum alone, for ranking every candidate (the breakdown is built
    only for the few who are chosen). Unrounded: fairness separates equally good
    volunteers by how long ago they were last asked, which can be seconds."""
    values = components(features, now)
    w = weights(settings)
    return sum(values[name] * w[name] for name in values)


def score(features: Features, settings: Settings, now: datetime) -> Score:
    values = components(features, now)
    w = weights(settings)
    parts = {name: Component(round(values[name], 4), w[name]) for name in values}
    return Score(total=sum(values[name] * w[name] for name in values), components=parts)


class MatchScore(msgspec.Struct, frozen=True, kw_only=True):
    """A stored score as social workers read it: the distance between the two public
    cells as a band (never as a number that would decode to metres), the other
    components in [0, 1] with their weights."""

    distance: Band
    components: dict[str, Component]


def match_score(breakdown: dict[str, Any], distance_m: int) -> MatchScore:
    """The score stored with a match (``matches.score_breakdown``), read back."""
    return MatchScore(
        distance=band_for_m(distance_m),
        components={
            name: Component(float(part["value"]), float(part["weight"]))
            for name, part in breakdown.items()
            if name != "distance"
        },
    )


def tiebreak(post_id: int, person_id: int) -> int:
    """A draw seeded by the request and the person: equally good candidates are ordered
    by it, never by where exactly they live. The same request draws the same order
    every time (no fresh noise to average out), another request another order."""
    digest = hashlib.blake2b(f"{post_id}:{person_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def ranked(post_id: int, totals: dict[int, float]) -> list[int]:
    """Ids of ``{id: total}``, best first: by total score, then by the draw."""
    return sorted(totals, key=lambda person_id: (-totals[person_id], tiebreak(post_id, person_id)))
