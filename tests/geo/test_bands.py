"""Distances shown to people: 1 km bands, from cell centres only."""

from __future__ import annotations

import math

import pytest

from tests.geo.places import from_grid
from voisins.geo.bands import Band, band_for_m, public_distance, public_distance_m
from voisins.geo.coordinates import LonLat
from voisins.geo.grid import Cell, cell_centre, distance_m, snap


@pytest.mark.parametrize(
    ("metres", "band"),
    [
        (0.0, Band(0, 1, "moins de 1 km", "less than 1 km")),
        (999.0, Band(0, 1, "moins de 1 km", "less than 1 km")),
        (999.999, Band(0, 1, "moins de 1 km", "less than 1 km")),
        (1000.0, Band(1, 2, "1 à 2 km", "1 to 2 km")),
        (1999.9, Band(1, 2, "1 à 2 km", "1 to 2 km")),
        (2000.0, Band(2, 3, "2 à 3 km", "2 to 3 km")),
        (12_345.0, Band(12, 13, "12 à 13 km", "12 to 13 km")),
    ],
)
def test_bands_are_whole_kilometres_floored(metres: float, band: Band) -> None:
    assert band_for_m(metres) == band


@pytest.mark.parametrize("metres", [-1.0, math.nan, math.inf])
def test_impossible_distances_are_a_programming_error(metres: float) -> None:
    with pytest.raises(ValueError):
        band_for_m(metres)


def cell_point(cell: Cell, fx: float, fy: float) -> LonLat:
    """A point at fractions (fx, fy) of the way across ``cell``."""
    x, y = (cell.ix + fx) * cell.size_m, (cell.iy + fy) * cell.size_m
    return LonLat(*from_grid(cell.srid, x, y))


def test_public_distance_depends_only_on_the_two_cells() -> None:
    a = snap(LonLat(2.3499, 48.8530), 500)
    b = a._replace(ix=a.ix + 4)  # centres 2 km apart on the grid
    # Two pairs of exact points in the same two cells: 1.6 km and 2.4 km apart.
    near_pair = (cell_point(a, 0.9, 0.5), cell_point(b, 0.1, 0.5))
    far_pair = (cell_point(a, 0.1, 0.5), cell_point(b, 0.9, 0.5))
    assert band_for_m(distance_m(*near_pair)).min_km == 1
    assert band_for_m(distance_m(*far_pair)).min_km == 2
    assert snap(near_pair[0], 500) == snap(far_pair[0], 500) == a
    assert snap(near_pair[1], 500) == snap(far_pair[1], 500) == b
    # ...yet what is shown is one band and one sort distance, from the centres.
    shown = public_distance(a, b)
    assert shown == public_distance(snap(far_pair[0], 500), snap(far_pair[1], 500))
    assert public_distance_m(a, b) == distance_m(cell_centre(a), cell_centre(b))
    assert public_distance_m(a, b) == pytest.approx(2000, abs=5)
    assert shown == band_for_m(public_distance_m(a, b))


def test_public_distance_is_symmetric_and_zero_within_a_cell() -> None:
    a = snap(LonLat(4.8357, 45.7640), 500)
    b = a._replace(ix=a.ix + 3, iy=a.iy - 2)
    assert public_distance_m(a, b) == public_distance_m(b, a)
    assert public_distance(a, a) == Band(0, 1, "moins de 1 km", "less than 1 km")
    assert public_distance_m(a, a) == 0.0
