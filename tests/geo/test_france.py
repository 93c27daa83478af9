"""The coarse outlines of France: valid, separate, and on the right side of the borders."""

from __future__ import annotations

import itertools

import pytest

from tests.geo.places import FOREIGN_PLACES, FRENCH_PLACES, OVERSEAS_PLACES
from voisins.geo.france import GRID_SRIDS, ZONES, zone_at


def test_every_zone_outline_is_a_valid_polygon_and_zones_do_not_overlap() -> None:
    for zone in ZONES:
        assert zone.polygon.is_valid, zone.name
    for a, b in itertools.combinations(ZONES, 2):
        assert not a.polygon.intersects(b.polygon), (a.name, b.name)


def test_grids_are_lambert_93_and_the_local_utm_projections() -> None:
    assert {zone.name: zone.srid for zone in ZONES} == {
        "metropole": 2154,
        "guadeloupe": 5490,
        "martinique": 5490,
        "saint-martin-saint-barthelemy": 5490,
        "guyane": 2972,
        "reunion": 2975,
        "mayotte": 4471,
    }
    assert {2154, 5490, 2972, 2975, 4471} == GRID_SRIDS


@pytest.mark.parametrize("name", sorted(FRENCH_PLACES))
def test_places_near_the_edges_of_metropolitan_france_and_corsica_are_inside(name: str) -> None:
    zone = zone_at(*FRENCH_PLACES[name])
    assert zone is not None and zone.name == "metropole"


@pytest.mark.parametrize("name", sorted(OVERSEAS_PLACES))
def test_overseas_places_are_in_their_own_zone(name: str) -> None:
    point, zone_name, _ = OVERSEAS_PLACES[name]
    zone = zone_at(*point)
    assert zone is not None and zone.name == zone_name


@pytest.mark.parametrize("name", sorted(FOREIGN_PLACES))
def test_foreign_places_are_outside(name: str) -> None:
    assert zone_at(*FOREIGN_PLACES[name]) is None
