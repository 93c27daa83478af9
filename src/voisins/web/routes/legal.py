"""Legal and help pages anyone may open: mentions légales, privacy policy, conditions
and the volunteers' charter, accessibility statement, help.

The organisation that runs the service (name, address, data protection contact,
publication director, host) comes from settings, never from the templates, so each
deployment names itself. The retention periods quoted are those the worker applies
(moderation/gdpr.py, audit.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
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


async def _legal_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    return page(
        request, PAGES[request.url.path], await me_of(tx, viewer), org=settings,
        cell_m=settings.grid_cell_m,
        followup_isolated_days=settings.followup_isolated_days,
        retention_days=settings.support_retention_days,
    )  # fmt: skip


@get("/mentions-legales", name="legal_notice", include_in_schema=False)
async def legal_notice(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    return await _legal_page(request, tx, optional_viewer, settings)


@get("/confidentialite", name="privacy", include_in_schema=False)
async def privacy(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    return await _legal_page(request, tx, optional_viewer, settings)


@get("/conditions", name="conditions", include_in_schema=False)
async def conditions(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    return await _legal_page(request, tx, optional_viewer, settings)


@get("/accessibilite", name="accessibility", include_in_schema=False)
async def accessibility(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    return await _legal_page(request, tx, optional_viewer, settings)


@get("/aide", name="help", include_in_schema=False)
async def help_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, settings: SettingsDep
) -> Template:
    return await _legal_page(request, tx, optional_viewer, settings)


ROUTES = [legal_notice, privacy, conditions, accessibility, help_page]
