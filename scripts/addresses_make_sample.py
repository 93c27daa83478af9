"""Writes data/ban-sample-75018.ndjson: a small address file in the format the Base
Adresse Nationale publishes for addok ("adresses-addok-*.ndjson"), covering the demo
neighbourhood (La Chapelle / Goutte d'Or, Paris 18e).

The BAN files cannot be downloaded here, so the streets are the real streets of the
area, drawn as straight lines between their two ends (as read on a map), with house
numbers spread along both sides (odd on one side, even on the other), every ~12 m.
Good enough to search and to place a pin; not survey data. Deterministic: running it
again writes the same file.

    .venv/bin/python scripts/addresses_make_sample.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pyproj import Transformer

OUT = Path(__file__).resolve().parents[1] / "data" / "ban-sample-75018.ndjson"
TO_LAMBERT93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)

# name, street code (FANTOIR-like), start (lon, lat), end (lon, lat), first number,
# highest number, importance
STREETS: list[tuple[str, str, tuple[float, float], tuple[float, float], int, int, float]] = [
    ("Rue Marx Dormoy", "6031", (2.35999, 48.88440), (2.35970, 48.89080), 1, 72, 0.62),
    ("Rue de la Chapelle", "1798", (2.35970, 48.89080), (2.35930, 48.89800), 1, 90, 0.64),
    ("Rue Philippe de Girard", "7326", (2.36120, 48.88420), (2.36075, 48.89250), 1, 94, 0.6),
    ("Rue Pajol", "7047", (2.36270, 48.88460), (2.36380, 48.89080), 1, 80, 0.58),
    ("Rue Doudeauville", "2903", (2.35955, 48.88800), (2.34980, 48.88950), 1, 80, 0.6),
    ("Rue Myrha", "6586", (2.35790, 48.88715), (2.35240, 48.88790), 1, 70, 0.57),
    ("Rue Polonceau", "7502", (2.35180, 48.88630), (2.35640, 48.88600), 1, 60, 0.56),
    ("Rue Léon", "5563", (2.35340, 48.88640), (2.35380, 48.89180), 1, 44, 0.56),
    ("Rue des Poissonniers", "7492", (2.35260, 48.88480), (2.35160, 48.89650), 1, 110, 0.6),
    ("Rue Stephenson", "9091", (2.35740, 48.88470), (2.35700, 48.89050), 1, 84, 0.57),
    ("Rue de Jessaint", "4989", (2.35800, 48.88430), (2.35980, 48.88470), 1, 20, 0.54),
    ("Rue de la Goutte d'Or", "4203", (2.35070, 48.88520), (2.35590, 48.88560), 1, 60, 0.58),
    ("Rue Affre", "0094", (2.35620, 48.88540), (2.35650, 48.88720), 1, 30, 0.54),
    ("Rue Cavé", "1622", (2.35430, 48.88610), (2.35740, 48.88620), 1, 40, 0.54),
    ("Rue Ordener", "6918", (2.35970, 48.89080), (2.34700, 48.89170), 1, 100, 0.63),
    ("Boulevard de la Chapelle", "1118", (2.34980, 48.88360), (2.36500, 48.88420), 2, 150, 0.66),
    ("Rue Caplat", "1546", (2.35380, 48.88480), (2.35430, 48.88620), 1, 20, 0.53),
    ("Rue de Chartres", "1812", (2.35260, 48.88420), (2.35460, 48.88470), 1, 26, 0.53),
    ("Rue Jean-François Lépine", "5041", (2.35800, 48.88500), (2.35990, 48.88560), 1, 26, 0.54),
    ("Rue Ernestine", "3428", (2.35380, 48.88900), (2.35530, 48.89000), 1, 30, 0.53),
    ("Rue Laghouat", "5273", (2.35290, 48.88760), (2.35600, 48.88820), 1, 30, 0.53),
    ("Rue Richomme", "8117", (2.35340, 48.88700), (2.35500, 48.88720), 1, 18, 0.52),
    ("Rue Saint-Bruno", "8580", (2.35420, 48.88660), (2.35600, 48.88700), 1, 24, 0.52),
    ("Rue Boucry", "1183", (2.35960, 48.89350), (2.36250, 48.89330), 1, 34, 0.53),
    ("Rue Riquet", "8202", (2.36020, 48.88880), (2.36600, 48.88830), 1, 50, 0.56),
    ("Place de la Chapelle", "1796", (2.35980, 48.88420), (2.36080, 48.88440), 1, 14, 0.55),
]

SIDE_M = 9.0  # a house number sits this far from the middle of the street
STEP_M = 12.0


def metres(lon: float, lat: float, lat0: float) -> tuple[float, float]:
    return (lon * 111_320 * math.cos(math.radians(lat0)), lat * 110_574)


def degrees(x: float, y: float, lat0: float) -> tuple[float, float]:
    return (x / (111_320 * math.cos(math.radians(lat0))), y / 110_574)


def lambert(lon: float, lat: float) -> tuple[float, float]:
    x, y = TO_LAMBERT93.transform(lon, lat)
    return round(x, 2), round(y, 2)


def street_document(
    name: str,
    code: str,
    start: tuple[float, float],
    end: tuple[float, float],
    first: int,
    last: int,
    importance: float,
) -> dict[str, object]:
    lat0 = (start[1] + end[1]) / 2
    (x0, y0), (x1, y1) = metres(*start, lat0), metres(*end, lat0)
    length = math.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    left = (-uy, ux)
    per_side = (last - first) // 2 + 1
    spacing = min(STEP_M * 2, length / per_side)
    numbers: dict[str, dict[str, object]] = {}
    for number in range(first, last + 1):
        rank = (number - first) // 2
        along = min(spacing * (rank + 0.5), length - 1)
        side = SIDE_M if number % 2 else -SIDE_M  # odd numbers on the left
        lon, lat = degrees(x0 + ux * along + left[0] * side, y0 + uy * along + left[1] * side, lat0)
        x, y = lambert(lon, lat)
        numbers[str(number)] = {
            "id": f"75118_{code}_{number:05d}",
            "x": x,
            "y": y,
            "lon": round(lon, 6),
            "lat": round(lat, 6),
        }
        if number % 7 == 3:  # some buildings also have a "bis"
            bis_lon, bis_lat = degrees(
                x0 + ux * (along + 4) + left[0] * side, y0 + uy * (along + 4) + left[1] * side, lat0
            )
            bx, by = lambert(bis_lon, bis_lat)
            numbers[f"{number} bis"] = {
                "id": f"75118_{code}_{number:05d}_bis",
                "x": bx,
                "y": by,
                "lon": round(bis_lon, 6),
                "lat": round(bis_lat, 6),
            }
    mid_lon, mid_lat = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    x, y = lambert(mid_lon, mid_lat)
    return {
        "id": f"75118_{code}",
        "type": "street",
        "name": name,
        "postcode": "75018",
        "citycode": "75118",
        "x": x,
        "y": y,
        "lon": round(mid_lon, 6),
        "lat": round(mid_lat, 6),
        "city": "Paris",
        "district": "Paris 18e Arrondissement",
        "context": "75, Paris, Île-de-France",
        "importance": importance,
        "housenumbers": numbers,
    }


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as out:
        for street in STREETS:
            out.write(json.dumps(street_document(*street), ensure_ascii=False) + "\n")
    count = sum(len(street_document(*s)["housenumbers"]) for s in STREETS)  # type: ignore[arg-type]
    print(f"{OUT}: {len(STREETS)} streets, {count} addresses")


if __name__ == "__main__":
    main()
