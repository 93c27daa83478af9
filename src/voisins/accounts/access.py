"""Who is asking: the authenticated viewer and the role rules every service checks."""

from __future__ import annotations

from typing import Literal

import msgspec

from voisins.errors import Forbidden

Role = Literal["resident", "social_worker", "admin"]
STAFF_ROLES = frozenset({"social_worker", "admin"})


class Viewer(msgspec.Struct, frozen=True):
    """The person behind a request. ``centre_ids`` are the centres a social worker acts
    for: their own memberships and those centres' partners."""

    id: int
    role: Role
    second_factor: bool
    centre_ids: frozenset[int] = frozenset()
    session_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_social_worker(self) -> bool:
        return self.role == "social_worker"


def require_social_worker(viewer: Viewer) -> None:
    if viewer.role != "social_worker":
        raise Forbidden("only social workers may do this")


def require_admin(viewer: Viewer) -> None:
    if viewer.role != "admin":
        raise Forbidden("only administrators may do this")


def acts_for_any(viewer: Viewer, centre_ids: set[int] | frozenset[int]) -> bool:
    """A social worker acts for an item when one of its centres is theirs (or a partner's)."""
    return viewer.is_social_worker and bool(viewer.centre_ids & set(centre_ids))
