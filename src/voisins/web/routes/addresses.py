"""Address suggestions while a person types (the address fields of the new post
wizard, the centre's post-for-a-resident form and the volunteer profile).

``POST /adresses/suggestions`` takes the ``address`` typed so far and returns a small
HTML list of labels (each carrying its point, which only the person typing sees). It is
a POST with the form's CSRF token so the address never sits in a URL (no proxy log, no
history), and only for signed-in people: this is not a public geocoder. Nothing here
logs what was typed."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.response import Template

from voisins.api.deps import GeocoderDep, Tx
from voisins.errors import DomainError, Invalid
from voisins.geo.addresses import Suggestion
from voisins.geo.geocoder import MIN_QUERY_CHARS, AddressSuggester
from voisins.web.forms import form_values
from voisins.web.pages import page
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.signed_in import Person
from voisins.web.wizard import text_of

LIMIT = 5


@post("/suggestions", name="address_suggestions", operation_id="pageAddressSuggestions",
      include_in_schema=False)  # fmt: skip
async def suggestions(
    request: Request[Any, Any, Any], tx: Tx, person: Person, geocoder: GeocoderDep
) -> Template:
    me, _viewer = person
    typed = text_of(await form_values(request), "address")
    found: list[Suggestion] = []
    unavailable = False
    if len(typed) >= MIN_QUERY_CHARS and isinstance(geocoder, AddressSuggester):
        try:
            found = await geocoder.suggest(typed[:200], LIMIT)
        except Invalid:
            found = []  # e.g. starts with a sign: nothing to propose yet
        except DomainError:
            unavailable = True
    return page(
        request, "addresses/_suggestions.html", me, suggestions=found,
        asked=len(typed) >= MIN_QUERY_CHARS, unavailable=unavailable,
    )  # fmt: skip


ROUTES: list[Any] = [
    Router(path="/adresses", route_handlers=[suggestions], exception_handlers=PAGE_ERROR_HANDLERS)
]
