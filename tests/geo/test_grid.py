"""The public grid: fixed, deterministic, square, and drawn in each zone's own CRS."""

from __future__ import annotations

import itertools

import pytest
from pyproj import Geod
from shapely.geometry import Point

from tests.geo.places import FOREIGN_PLACES, LYON, OVERSEAS_PLACES, PARIS, from_grid
from voisins.errors import Invalid
from voisins.geo.coordinates import LonLat
from voisins.geo.grid import (
    Cell,
    cell_centre,
    cell_polygon,
    distance_m,
    point_in_cell,
    snap,
    to_grid,
    zone_for,
)

GEOD = Geod(ellps="WGS84")
NOTRE_DAME = LonLat(2.3499, 48.8530)


def moved(point: LonLat, azimuth_deg: float, metres: float) -> LonLat:
    lon, lat, _ = GEOD.fwd(point.lon, point.lat, azimuth_deg, metres)
    return LonLat(lon, lat)


def test_known_points_snap_to_pinned_keys() -> None:
    # Pinned: a change of PROJ version or transformation must not move anybody's cell.
    assert snap(NOTRE_DAME, 500).key == "2154:500:1304:13723"
    assert snap(LonLat(55.45, -20.88), 500).key == "2975:500:677:15380"
    assert snap(LonLat(-61.07, 14.60), 500).key == "5490:500:1415:3229"
    assert snap(LonLat(-52.33, 4.93), 500).key == "2972:500:705:1090"
    assert snap(LonLat(45.23, -12.78), 500).key == "4471:500:1049:17174"


def test_snapping_is_floor_of_projected_metres_over_the_cell_size() -> None:
    x, y = to_grid(NOTRE_DAME, 2154)
    assert 652_000 < x < 652_500 and 6_861_500 < y < 6_862_000  # Lambert-93 of Notre-Dame
    assert snap(NOTRE_DAME, 500) == Cell(2154, 500, int(x // 500), int(y // 500))
    assert snap(NOTRE_DAME, 1000) == Cell(2154, 1000, int(x // 1000), int(y // 1000))


def test_the_same_point_always_gives_the_same_cell_and_identical_centre_floats() -> None:
    first, second = snap(NOTRE_DAME, 500), snap(LonLat(*NOTRE_DAME), 500)
    assert first == second
    assert repr(cell_centre(first)) == repr(cell_centre(second))
    assert cell_centre(first) == LonLat(2.349247, 48.854018)


def test_two_points_100_m_apart_in_one_cell_share_the_centre() -> None:
    centre = cell_centre(snap(NOTRE_DAME, 500))
    west, east = moved(centre, 270, 50), moved(centre, 90, 50)
    assert 99 < distance_m(west, east) < 101
    assert snap(west, 500) == snap(east, 500)
    assert cell_centre(snap(west, 500)) == cell_centre(snap(east, 500)) == centre


def test_points_a_metre_apart_across_a_cell_edge_fall_in_different_cells() -> None:
    cell = snap(NOTRE_DAME, 500)
    edge_x = (cell.ix + 1) * 500  # the eastern edge, in Lambert-93 metres
    mid_y = (cell.iy + 0.5) * 500
    inside = LonLat(*from_grid(2154, edge_x - 0.5, mid_y))
    outside = LonLat(*from_grid(2154, edge_x + 0.5, mid_y))
    assert distance_m(inside, outside) == pytest.approx(1.0, abs=0.01)
    assert snap(inside, 500) == cell
    assert snap(outside, 500) == cell._replace(ix=cell.ix + 1)
    assert cell_centre(snap(inside, 500)) != cell_centre(snap(outside, 500))


@pytest.mark.parametrize("point", [NOTRE_DAME, LonLat(*LYON), LonLat(55.45, -20.88)])
def test_the_centre_lies_inside_the_cell_polygon(point: LonLat) -> None:
    cell = snap(point, 500)
    polygon = cell_polygon(cell)
    assert polygon.contains(Point(cell_centre(cell)))
    assert polygon.covers(Point(point))


@pytest.mark.parametrize("size_m", [500, 1000, 5000])
def test_a_cell_in_paris_is_a_square_of_the_requested_side(size_m: int) -> None:
    polygon = cell_polygon(snap(LonLat(*PARIS), size_m))
    corners = list(polygon.exterior.coords)
    assert len(corners) == 5 and corners[0] == corners[-1]
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(corners):
        side = GEOD.inv(lon1, lat1, lon2, lat2)[2]
        assert side == pytest.approx(size_m, rel=0.01)  # 500 ± 5 m
    assert polygon.exterior.is_ccw


@pytest.mark.parametrize("name", sorted(OVERSEAS_PLACES))
def test_overseas_points_snap_in_their_own_zone_grid(name: str) -> None:
    point, zone_name, srid = OVERSEAS_PLACES[name]
    cell = snap(LonLat(*point), 500)
    assert cell.srid == srid and zone_for(LonLat(*point)).name == zone_name
    polygon = cell_polygon(cell)
    assert polygon.covers(Point(point))
    side = GEOD.inv(*polygon.exterior.coords[0], *polygon.exterior.coords[1])[2]
    assert side == pytest.approx(500, rel=0.01)  # a local UTM keeps cells square overseas


def test_cell_key_round_trips() -> None:
    cell = Cell(2154, 500, 1304, 13641)
    assert cell.key == "2154:500:1304:13641"
    assert Cell.from_key(cell.key) == cell
    assert Cell.from_key("2975:250:-1:7") == Cell(2975, 250, -1, 7)


@pytest.mark.parametrize(
    "key", ["", "2154:500:1", "2154:500:a:1", "4326:500:1:1", "2154:0:1:1", "2154:500:1:1:1"]
)
def test_malformed_cell_keys_are_invalid(key: str) -> None:
    with pytest.raises(Invalid) as exc:
        Cell.from_key(key)
    assert list(exc.value.fields) == ["cell"]


def test_points_outside_france_have_no_zone_and_no_cell() -> None:
    berlin = LonLat(*FOREIGN_PLACES["Berlin"])
    with pytest.raises(Invalid) as exc:
        zone_for(berlin)
    assert list(exc.value.fields) == ["location"]
    with pytest.raises(Invalid):
        snap(berlin, 500)
    with pytest.raises(ValueError):
        snap(NOTRE_DAME, 0)


def test_distance_is_geodesic_on_wgs84() -> None:
    assert distance_m(LonLat(0.0, 0.0), LonLat(0.0, 1.0)) == pytest.approx(110_574.39, abs=0.01)
    assert distance_m(LonLat(*PARIS), LonLat(*LYON)) == pytest.approx(391_500, rel=0.005)
    assert distance_m(NOTRE_DAME, NOTRE_DAME) == 0.0


@pytest.mark.parametrize("fx, fy", [(0.001, 0.001), (0.5, 0.5), (0.999, 0.001), (0.2, 0.8)])
def test_points_in_a_cell_snap_back_to_it(fx: float, fy: float) -> None:
    cell = snap(LonLat(2.347, 48.8589), 500)
    neighbour = Cell(cell.srid, cell.size_m, cell.ix + 3, cell.iy - 2)
    assert snap(point_in_cell(neighbour, fx, fy), 500) == neighbour


def test_point_in_cell_refuses_fractions_outside_the_cell() -> None:
    cell = snap(LonLat(2.347, 48.8589), 500)
    with pytest.raises(ValueError):
        point_in_cell(cell, 1.0, 0.5)
