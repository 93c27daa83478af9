"""Rendering a page: the template, the viewer, the language, the CSRF token.

Every page handler returns ``page(request, "name.html", viewer, …)``; the context
always holds ``_`` (translate), ``locale``, ``me`` (the signed-in person or None),
``large_text`` and the map settings, so templates need nothing else."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request
from litestar.response import Redirect, Template
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.categories import LABELS
from voisins.settings import Settings
from voisins.web.i18n import LANG_COOKIE, gettext_for, negotiate, ngettext_for

LARGE_TEXT_COOKIE = "voisins_large_text"


class Me(msgspec.Struct, frozen=True):
    id: int
    display_name: str
    role: str
    locale: str
    is_volunteer: bool
    # Shown in the header from the first page on; SSE events then add to it live.
    unread: int = 0
    # The header shows a helper's pages (propositions, "my help") only to people who
    # help: a volunteer profile, or an offer that requests were proposed to.
    helps: bool = False


async def me_of(conn: AsyncConnection, viewer: Viewer | None) -> Me | None:
    if viewer is None:
        return None
    row = (
        await conn.execute(
            text(
                "SELECT u.id, u.display_name, u.role, u.locale, v.user_id IS NOT NULL AS vol, "
                "(SELECT count(*) FROM notifications n "
                " WHERE n.user_id = u.id AND n.read_at IS NULL) AS unread, "
                # matches_volunteer (volunteer_id, status) answers this from the index.
                "EXISTS (SELECT 1 FROM matches m WHERE m.volunteer_id = u.id) AS helped "
                "FROM users u LEFT JOIN volunteers v ON v.user_id = u.id WHERE u.id = :id"
            ),
            {"id": viewer.id},
        )
    ).one()
    return Me(
        row.id, row.display_name, row.role, row.locale, row.vol, row.unread,
        helps=row.vol or row.helped,
    )  # fmt: skip


def locale_of(request: Request[Any, Any, Any], me: Me | None) -> str:
    return negotiate(
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language", ""),
        me.locale if me else None,
    )


def page(
    request: Request[Any, Any, Any],
    template: str,
    me: Me | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    settings: Settings = request.app.state.settings
    locale = locale_of(request, me)
    which = 0 if locale == "fr" else 1

    def category_label(code: str) -> str:
        return LABELS.get(code, (code, code))[which]

    return Template(
        template_name=template,
        status_code=status_code,
        context={
            "_": gettext_for(locale),
            "ngettext": ngettext_for(locale),
            "locale": locale,
            "me": me,
            "large_text": request.cookies.get(LARGE_TEXT_COOKIE) == "1",
            "path": request.url.path,
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "cell_m": settings.grid_cell_m,
            "category_label": category_label,
            "categories": [(code, labels[which]) for code, labels in LABELS.items()],
            **context,
        },
    )


def to_login(request: Request[Any, Any, Any]) -> Redirect:
    """Pages for signed-in people send others to the login page, then back."""
    return Redirect(f"/connexion?suite={quote(request.url.path)}", status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path of this site: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"
