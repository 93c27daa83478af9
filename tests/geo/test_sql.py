"""The spatial SQL fragments render exactly, with explicit casts and SRIDs."""

from __future__ import annotations

import pytest

from voisins.geo import sql


def test_point_4326_casts_both_parameters_and_sets_the_srid() -> None:
    assert sql.point_4326("lon", "lat") == (
        "ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision), "
        "CAST(:lat AS double precision)), 4326)"
    )
    assert ":cell_lon AS" in sql.point_4326("cell_lon", "cell_lat")


def test_geom_from_ewkt_casts_the_parameter_to_text() -> None:
    assert sql.geom_from_ewkt("territory") == "ST_GeomFromEWKT(CAST(:territory AS text))"


def test_contains_point_covers_the_boundary() -> None:
    assert sql.contains_point("c.territory", sql.point_4326("lon", "lat")) == (
        "ST_Covers(c.territory, ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision), "
        "CAST(:lat AS double precision)), 4326))"
    )


def test_lon_lat_selects_two_aliased_columns() -> None:
    assert sql.lon_lat("p.point") == "ST_X(p.point) AS lon, ST_Y(p.point) AS lat"
    assert sql.lon_lat("p.cell_centre", "cell_") == (
        "ST_X(p.cell_centre) AS cell_lon, ST_Y(p.cell_centre) AS cell_lat"
    )
    assert sql.lon_lat("p.cell_centre", prefix="c_").endswith("AS c_lat")


@pytest.mark.parametrize("name", ["", "1lon", "lon; DROP TABLE posts", "lon)", ":lon"])
def test_bad_parameter_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        sql.point_4326(name, "lat")
    with pytest.raises(ValueError):
        sql.geom_from_ewkt(name)


def test_bad_alias_prefixes_are_refused() -> None:
    with pytest.raises(ValueError):
        sql.lon_lat("p.point", "x AS y, ")
