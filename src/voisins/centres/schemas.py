"""Bodies of the centres API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from voisins.accounts.schemas import Email, Phone
from voisins.request_bodies import Input

ModerationLevel = Literal["all_posts", "sensitive_only", "none"]
CentreName = Annotated[
    str, Meta(min_length=2, max_length=120, examples=["Centre social Belleville"])
]
PublicAddress = Annotated[str, Meta(max_length=300)]
# GeoJSON is checked by geo.territory (shapely), which names the failing part.
GeoJSON = Annotated[
    dict[str, Any],
    Meta(
        description="GeoJSON Polygon or MultiPolygon in WGS84 (longitude, latitude)",
        examples=[
            {
                "type": "Polygon",
                "coordinates": [
                    [[2.35, 48.88], [2.36, 48.88], [2.36, 48.89], [2.35, 48.89], [2.35, 48.88]]
                ],
            }
        ],
    ),
]


class CentreIn(Input):
    name: CentreName
    territory: GeoJSON
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    address: PublicAddress | None = None
    moderation_level: ModerationLevel = "sensitive_only"


class CentreUpdate(Input):
    name: CentreName | UnsetType = UNSET
    territory: GeoJSON | UnsetType = UNSET
    contact_email: Email | UnsetType | None = UNSET
    contact_phone: Phone | UnsetType | None = UNSET
    address: PublicAddress | UnsetType | None = UNSET
    moderation_level: ModerationLevel | UnsetType = UNSET


class CentreOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    contact_email: str | None
    contact_phone: str | None
    address: str | None
    moderation_level: ModerationLevel
    partner_ids: list[int]
    territory: dict[str, Any]


class MemberIn(Input):
    user_id: int
    member_role: Literal["social_worker", "centre_admin"] = "social_worker"


class PartnerIn(Input):
    partner_id: int


class Member(msgspec.Struct):
    centre_id: int
    user_id: int
    member_role: str


class MemberOut(msgspec.Struct, kw_only=True):
    """A centre's member as its administrators see them."""

    centre_id: int
    user_id: int
    member_role: str
    display_name: str
    email: str | None
    status: str
