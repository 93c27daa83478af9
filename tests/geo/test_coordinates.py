"""validate_point: real French positions pass; garbage, foreign and swapped ones are named."""

from __future__ import annotations

import math

import pytest

from tests.geo.places import FOREIGN_PLACES, OVERSEAS_PLACES, PARIS
from voisins.errors import Invalid
from voisins.geo.coordinates import LonLat, validate_point


def reason(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return exc.value.fields


def test_a_french_point_comes_back_as_floats_in_lon_lat_order() -> None:
    point = validate_point(*PARIS)
    assert point == LonLat(2.3522, 48.8566)
    assert (point.lon, point.lat) == PARIS


def test_integers_are_accepted_as_floats() -> None:
    point = validate_point(2, 47)
    assert point == (2.0, 47.0) and isinstance(point.lon, float)


@pytest.mark.parametrize("name", sorted(OVERSEAS_PLACES))
def test_overseas_points_are_valid(name: str) -> None:
    lon, lat = OVERSEAS_PLACES[name][0]
    assert validate_point(lon, lat) == (lon, lat)


@pytest.mark.parametrize(
    ("lon", "lat", "path", "words"),
    [
        (math.nan, 48.85, "location.lon", "finite"),
        (2.35, math.nan, "location.lat", "finite"),
        (math.inf, 48.85, "location.lon", "finite"),
        (2.35, -math.inf, "location.lat", "finite"),
        (200.0, 48.85, "location.lon", "between -180 and 180"),
        (-180.5, 48.85, "location.lon", "between -180 and 180"),
        (2.35, 95.0, "location.lat", "between -90 and 90"),
        ("2.35", 48.85, "location.lon", "number"),
        (True, 48.85, "location.lon", "number"),
    ],
)
def test_garbage_numbers_are_refused_naming_the_coordinate(
    lon: float, lat: float, path: str, words: str
) -> None:
    with pytest.raises(Invalid) as exc:
        validate_point(lon, lat)
    assert list(reason(exc)) == [path]
    assert words in reason(exc)[path]


@pytest.mark.parametrize(
    "swapped", [(48.85, 2.35), (14.60, -61.07), (-20.88, 55.45), (4.93, -52.33)]
)
def test_swapped_longitude_and_latitude_are_detected(swapped: tuple[float, float]) -> None:
    with pytest.raises(Invalid) as exc:
        validate_point(*swapped)
    assert reason(exc) == {"location": "longitude and latitude look swapped"}


@pytest.mark.parametrize(
    "name", ["London", "New York", "Madrid", "Berlin", "Null Island", "Port Louis (Mauritius)"]
)
def test_points_outside_france_are_refused(name: str) -> None:
    with pytest.raises(Invalid) as exc:
        validate_point(*FOREIGN_PLACES[name])
    assert list(reason(exc)) == ["location"]
    assert "France" in reason(exc)["location"]
    assert "swapped" not in reason(exc)["location"]


def test_the_field_name_prefixes_every_error_path() -> None:
    with pytest.raises(Invalid) as exc:
        validate_point(math.nan, 48.85, field="home")
    assert list(reason(exc)) == ["home.lon"]
    with pytest.raises(Invalid) as exc:
        validate_point(*FOREIGN_PLACES["Berlin"], field="home")
    assert list(reason(exc)) == ["home"]
