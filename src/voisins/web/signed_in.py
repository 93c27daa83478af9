"""Who is behind a page, as Litestar dependencies: a handler names the person it needs
by its parameter, and the routers' ``PAGE_DEPENDENCIES`` provide them, instead of each
handler calling a check first.

- ``person: Person`` — any signed-in account;
- ``worker: Person`` — a social worker (staff sessions carry their second factor);
- ``admin: Person`` — an administrator.

Nobody signed in: ``NotSignedIn``, which the page error handlers turn into the sign-in
page (then back here). The wrong role: the 403 page, and the refusal is audited. Either
way the person is remembered on the request for the error pages and the audit trace.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from litestar import Request
from litestar.di import NamedDependency, Provide

from voisins.accounts.access import Viewer, require_admin, require_social_worker
from voisins.api.deps import OptionalViewer, Tx
from voisins.web.pages import Me
from voisins.web.problems import signed_in


class SignedIn(NamedTuple):
    me: Me
    viewer: Viewer


Person = NamedDependency[SignedIn]


async def provide_person(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> SignedIn:
    return SignedIn(*await signed_in(request, tx, optional_viewer))


async def provide_worker(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> SignedIn:
    person = await provide_person(request, tx, optional_viewer)
    require_social_worker(person.viewer)
    return person


async def provide_admin(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> SignedIn:
    person = await provide_person(request, tx, optional_viewer)
    require_admin(person.viewer)
    return person


PAGE_DEPENDENCIES = {
    "person": Provide(provide_person),
    "worker": Provide(provide_worker),
    "admin": Provide(provide_admin),
}
