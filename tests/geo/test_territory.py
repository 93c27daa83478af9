"""Territories: a real neighbourhood passes; every kind of bad GeoJSON is named precisely."""

from __future__ import annotations

import math
from typing import Any

import pytest
from shapely.geometry import LinearRing, MultiPolygon, Point

from voisins.errors import Invalid
from voisins.geo.grid import project
from voisins.geo.territory import (
    MAX_VERTICES,
    ewkt,
    parse_territory,
    to_geojson,
    to_wkt,
)

# Roughly the Goutte d'Or, Paris 18e: boulevard de la Chapelle, the Nord railway lines,
# rue Ordener, boulevard Barbès (about 1 km²).
GOUTTE_DOR = [
    [2.3475, 48.8830],
    [2.3600, 48.8830],
    [2.3610, 48.8925],
    [2.3480, 48.8935],
    [2.3475, 48.8830],
]
# Lyon, Presqu'île north and the slopes of the Croix-Rousse, with a hole.
LYON_SHELL = [[4.820, 45.765], [4.845, 45.765], [4.845, 45.780], [4.820, 45.780], [4.820, 45.765]]
LYON_HOLE = [[4.830, 45.770], [4.830, 45.774], [4.835, 45.774], [4.835, 45.770], [4.830, 45.770]]
GUADELOUPE_SQUARE = [
    [-61.54, 16.23],
    [-61.52, 16.23],
    [-61.52, 16.25],
    [-61.54, 16.25],
    [-61.54, 16.23],
]
MARTINIQUE_SQUARE = [
    [-61.08, 14.59],
    [-61.06, 14.59],
    [-61.06, 14.61],
    [-61.08, 14.61],
    [-61.08, 14.59],
]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [list(ring) for ring in rings]}


def refused(geojson: object) -> dict[str, str]:
    with pytest.raises(Invalid) as exc:
        parse_territory(geojson)
    return exc.value.fields


def area_km2(territory: MultiPolygon) -> float:
    return float(project(territory, 2154).area) / 1e6


def test_the_goutte_dor_is_a_valid_territory_of_about_one_square_km() -> None:
    territory = parse_territory(polygon(GOUTTE_DOR))
    assert isinstance(territory, MultiPolygon) and len(territory.geoms) == 1
    assert 0.9 < area_km2(territory) < 1.3
    assert territory.covers(Point(2.3545, 48.8870))  # square Léon
    assert not territory.covers(Point(2.3522, 48.8566))  # Hôtel de Ville


def test_a_lyon_territory_with_a_hole_in_a_feature_is_valid() -> None:
    feature = {
        "type": "Feature",
        "properties": {"name": "Lyon 1er"},
        "geometry": polygon(LYON_SHELL, LYON_HOLE),
    }
    territory = parse_territory(feature)
    assert len(territory.geoms[0].interiors) == 1
    assert not territory.covers(Point(4.8325, 45.772))  # in the hole
    assert territory.covers(Point(4.825, 45.768))


def test_a_multipolygon_of_two_neighbourhoods_is_valid() -> None:
    territory = parse_territory(
        {"type": "MultiPolygon", "coordinates": [[GOUTTE_DOR], [LYON_SHELL, LYON_HOLE]]}
    )
    assert len(territory.geoms) == 2


def test_an_overseas_territory_is_measured_in_its_own_zone() -> None:
    territory = parse_territory(polygon(GUADELOUPE_SQUARE))
    assert 4.5 < float(project(territory, 5490).area) / 1e6 < 5.0  # 2.1 km x 2.2 km


def test_a_third_value_in_positions_is_refused_naming_the_position() -> None:
    with_altitude = [[*position, 35.0] for position in GOUTTE_DOR]
    with pytest.raises(Invalid) as refused:
        parse_territory(polygon(with_altitude))
    assert refused.value.fields == {
        "territory.coordinates[0][0]": "must be a [longitude, latitude] position"
    }


@pytest.mark.parametrize(
    ("geojson", "path", "words"),
    [
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "territory", "GeoJSON"),
        (None, "territory", "GeoJSON"),
        ({"type": "Point", "coordinates": [2.35, 48.85]}, "territory.type", "not Point"),
        ({"type": "FeatureCollection", "features": []}, "territory.type", "FeatureCollection"),
        ({"coordinates": [GOUTTE_DOR]}, "territory.type", "Polygon or MultiPolygon"),
        ({"type": "Feature", "geometry": None}, "territory.geometry", "GeoJSON"),
        (
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": GOUTTE_DOR}},
            "territory.geometry.type",
            "not LineString",
        ),
        ({"type": "Polygon"}, "territory.coordinates", "list"),
        ({"type": "Polygon", "coordinates": "2.35 48.88"}, "territory.coordinates", "list"),
        ({"type": "Polygon", "coordinates": []}, "territory.coordinates", "empty"),
        ({"type": "MultiPolygon", "coordinates": []}, "territory.coordinates", "empty"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "territory.coordinates[0]", "empty"),
        # One nesting level missing: a ring given as the polygon.
        ({"type": "Polygon", "coordinates": GOUTTE_DOR}, "territory.coordinates[0][0]", "position"),
    ],
)
def test_wrong_types_and_shapes_are_refused(geojson: object, path: str, words: str) -> None:
    fields = refused(geojson)
    assert list(fields) == [path]
    assert words in fields[path]


def test_strings_as_coordinates_are_refused_at_the_position() -> None:
    ring: list[Any] = [list(position) for position in GOUTTE_DOR]
    ring[2] = ["2.3610", "48.8925"]
    assert refused(polygon(ring)) == {"territory.coordinates[0][2]": "longitude must be a number"}


@pytest.mark.parametrize(
    ("position", "words"),
    [
        ([math.nan, 48.88], "longitude must be a finite number"),
        ([2.35, math.inf], "latitude must be a finite number"),
        ([2.35, 148.0], "latitude must be between -90 and 90"),
        ([True, 48.88], "longitude must be a number"),
        ([2.35], "[longitude, latitude] position"),
        ([2.35, 48.88, 0, 0], "[longitude, latitude] position"),
        (2.35, "[longitude, latitude] position"),
    ],
)
def test_malformed_positions_are_refused_at_the_position(position: object, words: str) -> None:
    ring: list[Any] = [list(p) for p in GOUTTE_DOR]
    ring[1] = position
    fields = refused(polygon(ring))
    assert list(fields) == ["territory.coordinates[0][1]"]
    assert words in fields["territory.coordinates[0][1]"]


def test_a_ring_of_three_positions_is_refused() -> None:
    ring = [[2.35, 48.88], [2.36, 48.88], [2.35, 48.88]]
    fields = refused(polygon(ring))
    assert list(fields) == ["territory.coordinates[0]"]
    assert "at least 4 positions" in fields["territory.coordinates[0]"]


def test_an_unclosed_ring_is_refused_although_shapely_would_close_it() -> None:
    fields = refused(polygon(GOUTTE_DOR[:-1]))
    assert list(fields) == ["territory.coordinates[0]"]
    assert "not closed" in fields["territory.coordinates[0]"]


def test_an_unclosed_hole_in_a_multipolygon_is_named_by_its_full_path() -> None:
    geojson = {"type": "MultiPolygon", "coordinates": [[GOUTTE_DOR], [LYON_SHELL, LYON_HOLE[:-1]]]}
    assert list(refused(geojson)) == ["territory.coordinates[1][1]"]


def test_a_self_intersecting_bow_tie_is_refused_with_the_reason() -> None:
    bow_tie = [[2.35, 48.88], [2.36, 48.89], [2.36, 48.88], [2.35, 48.89], [2.35, 48.88]]
    fields = refused(polygon(bow_tie))
    assert list(fields) == ["territory"]
    assert fields["territory"].startswith("invalid geometry: Self-intersection")


def test_a_hole_outside_its_shell_is_refused() -> None:
    fields = refused(polygon(GOUTTE_DOR, LYON_HOLE))
    assert fields["territory"].startswith("invalid geometry: Hole lies outside shell")


def test_too_many_vertices_are_refused_before_any_geometry_is_built() -> None:
    n = MAX_VERTICES  # plus the closing position: one too many
    circle = [
        [2.35 + 0.01 * math.cos(2 * math.pi * i / n), 48.88 + 0.01 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    fields = refused(polygon([*circle, circle[0]]))
    assert list(fields) == ["territory.coordinates"]
    assert "too many vertices" in fields["territory.coordinates"]
    # The same circle with one vertex fewer is accepted.
    assert parse_territory(polygon([*circle[:-1], circle[0]])).is_valid


def test_all_of_france_is_too_large() -> None:
    france = [[-1.0, 47.0], [5.0, 47.0], [5.0, 49.0], [-1.0, 49.0], [-1.0, 47.0]]
    fields = refused(polygon(france))
    assert list(fields) == ["territory"] and "too large" in fields["territory"]


def test_a_50_m_square_is_too_small() -> None:
    d = 0.0005  # about 37 m x 55 m
    tiny = [
        [2.35, 48.88],
        [2.35 + d, 48.88],
        [2.35 + d, 48.88 + d],
        [2.35, 48.88 + d],
        [2.35, 48.88],
    ]
    fields = refused(polygon(tiny))
    assert list(fields) == ["territory"] and "too small" in fields["territory"]


def test_a_territory_outside_france_is_refused() -> None:
    brussels = [[4.33, 50.84], [4.37, 50.84], [4.37, 50.86], [4.33, 50.86], [4.33, 50.84]]
    fields = refused(polygon(brussels))
    assert list(fields) == ["territory"] and "France" in fields["territory"]


def test_a_territory_crossing_the_border_is_refused() -> None:
    strasbourg_to_kehl_and_beyond = [
        [7.70, 48.55], [8.20, 48.55], [8.20, 48.60], [7.70, 48.60], [7.70, 48.55],
    ]  # fmt: skip
    fields = refused(polygon(strasbourg_to_kehl_and_beyond))
    assert list(fields) == ["territory"] and "entirely in France" in fields["territory"]


def test_a_territory_spread_over_two_island_groups_is_refused() -> None:
    geojson = {"type": "MultiPolygon", "coordinates": [[GUADELOUPE_SQUARE], [MARTINIQUE_SQUARE]]}
    assert "within one region" in refused(geojson)["territory"]


def test_the_field_name_prefixes_error_paths() -> None:
    with pytest.raises(Invalid) as exc:
        parse_territory(polygon(GOUTTE_DOR[:-1]), field="centre.territory")
    assert list(exc.value.fields) == ["centre.territory.coordinates[0]"]


def test_geojson_output_uses_lists_rounded_coordinates_and_ccw_outer_rings() -> None:
    clockwise = [[2.3475, 48.8830], [2.3480, 48.8935], [2.3610, 48.8925], [2.36000004, 48.8830]]
    territory = parse_territory(polygon([*clockwise, clockwise[0]]))
    assert not territory.geoms[0].exterior.is_ccw
    out = to_geojson(territory)
    assert out["type"] == "MultiPolygon"
    ring = out["coordinates"][0][0]
    assert isinstance(out["coordinates"], list) and all(isinstance(p, list) for p in ring)
    assert [2.36, 48.883] in ring  # 2.36000004 rounded to 6 decimals
    assert LinearRing(ring).is_ccw  # RFC 7946 winding
    assert parse_territory(out).hausdorff_distance(territory) < 1e-6


def test_wkt_keeps_full_precision_and_ewkt_names_the_srid() -> None:
    ring = [[2.3475, 48.8830], [2.3600, 48.8830], [2.361000001, 48.8925], [2.3475, 48.8830]]
    territory = parse_territory(polygon(ring))
    assert to_wkt(territory).startswith("MULTIPOLYGON (((2.3475 48.883, 2.36 48.883, 2.361000001")
    assert ewkt(territory) == "SRID=4326;" + to_wkt(territory)
    assert ewkt(territory, srid=2154).startswith("SRID=2154;MULTIPOLYGON")
