"""Legal and help pages anyone may open: mentions légales, privacy policy, conditions
and the volunteers' charter, accessibility statement, help.

The organisation that runs the service (name, address, data protection contact,
publication director, host) comes from settings, never from the templates, so each
deployment names itself. The retention periods quoted are those the worker applies
(moderation/gdpr.py, audit.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template

from voisins.api.deps import OptionalViewer, SettingsDep, Tx
from voisins.web.pages import me_of, page

# Every page of this module, in the footer's order: (path, template).
PAGES = {
    "/mentions-legales": "legal/mentions.html",
    "/confidentialite": "legal/privacy.html",
    "/conditions": "legal/conditions.html",
    "/accessibilite": "legal/accessibility.html",
    "/aide": "legal/help.html",
}


# The route name of each page (for url_for), by path.
ROUTE_NAMES = {
    "/mentions-legales": "legal_notice",
    "/confidentialite": "privacy",
    "/conditions": "conditions",
    "/accessibilite": "accessibility",
    "/aide": "help",
}


def _legal_route(path: str) -> HTTPRouteHandler:
    """The page at ``path``: its template with the organisation's settings."""

    async def legal_page(
        request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
        settings: SettingsDep,
    ) -> Template:  # fmt: skip
        return page(
            request, PAGES[path], await me_of(tx, optional_viewer), org=settings,
            cell_m=settings.grid_cell_m,
            followup_isolated_days=settings.followup_isolated_days,
            retention_days=settings.support_retention_days,
        )  # fmt: skip

    return get(path, name=ROUTE_NAMES[path], include_in_schema=False)(legal_page)


ROUTES = [_legal_route(path) for path in PAGES]
