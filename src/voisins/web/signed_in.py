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

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from litestar import Request
from litestar.di import NamedDependency, Provide

from voisins.accounts.access import Viewer, require_admin, require_social_worker
from voisins.api.deps import OptionalViewer, Tx
from voisins.api.refusals import VIEWER_STATE_KEY
from voisins.web.pages import Me, me_of
from voisins.web.problems import ME_STATE_KEY, NotSignedIn


class SignedIn(NamedTuple):
    me: Me
    viewer: Viewer


Person = NamedDependency[SignedIn]


async def provide_person(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> SignedIn:
    """The person behind the page, remembered for the error pages and the refusal audit."""
    if optional_viewer is None:
        raise NotSignedIn
    request.state[VIEWER_STATE_KEY] = optional_viewer
    me = await me_of(tx, optional_viewer)
    assert me is not None
    request.state[ME_STATE_KEY] = me
    return SignedIn(me, optional_viewer)


def _provide_role(require: Callable[[Viewer], None]) -> Callable[..., Awaitable[SignedIn]]:
    """A provider of the person that ``require`` lets through (else its refusal)."""

    async def provide(
        request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
    ) -> SignedIn:
        person = await provide_person(request, tx, optional_viewer)
        require(person.viewer)
        return person

    return provide


PAGE_DEPENDENCIES = {
    "person": Provide(provide_person),
    "worker": Provide(_provide_role(require_social_worker)),
    "admin": Provide(_provide_role(require_admin)),
}
