"""Turning what a person typed into a stored place: the exact (private) point and
address, and the public grid cell everyone else sees."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from voisins.errors import Invalid
from voisins.geo.coordinates import LonLat, validate_point
from voisins.geo.geocoder import Geocoder
from voisins.geo.grid import Cell, cell_centre, snap

Longitude = Annotated[float, Meta(ge=-180, le=180)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Address = Annotated[str, Meta(min_length=3, max_length=300)]


class LocationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Either longitude + latitude (WGS84), or an address to look up (when the address
    search is configured). An address given with coordinates is kept as a private detail
    (floor, door code) shown only to those who may see the exact location."""

    lon: Longitude | None = None
    lat: Latitude | None = None
    address: Address | None = None


class Place(msgspec.Struct, frozen=True):
    point: LonLat
    address: str | None
    cell: Cell
    centre: LonLat

    def params(self, prefix: str = "") -> dict[str, object]:
        """SQL parameters for the point, address and public cell columns."""
        return {
            f"{prefix}lon": self.point.lon,
            f"{prefix}lat": self.point.lat,
            f"{prefix}address": self.address,
            f"{prefix}cell_key": self.cell.key,
            f"{prefix}cell_lon": self.centre.lon,
            f"{prefix}cell_lat": self.centre.lat,
        }


async def resolve(
    location: LocationIn, geocoder: Geocoder, *, cell_size_m: int, field: str = "location"
) -> Place:
    if location.lon is not None and location.lat is not None:
        point = validate_point(location.lon, location.lat, field=field)
        address = location.address
    elif location.lon is not None or location.lat is not None:
        missing = "lat" if location.lat is None else "lon"
        raise Invalid.field(f"{field}.{missing}", "give both longitude and latitude")
    elif location.address:
        try:
            found = await geocoder.geocode(location.address)
        except Invalid as exc:
            reason = exc.fields.get("address", exc.detail)
            raise Invalid.field(f"{field}.address", reason) from None
        if found is None:
            raise Invalid.field(f"{field}.address", "address not found; check it or pin the map")
        point = validate_point(found.point.lon, found.point.lat, field=field)
        address = found.label
    else:
        raise Invalid.field(field, "give longitude and latitude, or an address")
    cell = snap(point, cell_size_m)
    return Place(point=point, address=address, cell=cell, centre=cell_centre(cell))
