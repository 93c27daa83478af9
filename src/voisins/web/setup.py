"""What the Litestar app needs for the pages: templates, static files (ours and the
npm libraries, served by the app itself), CSRF protection and the page headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from voisins.settings import Settings
from voisins.web.routes import (
    account,
    addresses,
    conversations,
    housing,
    inbox,
    legal,
    public,
    safety,
)
from voisins.web.routes.admin import centres as admin_centres
from voisins.web.routes.admin import members as admin_members
from voisins.web.routes.admin import staff as admin_staff
from voisins.web.routes.admin import uncovered as admin_uncovered
from voisins.web.routes.admin import webhooks as admin_webhooks
from voisins.web.routes.centre import followups as centre_followups
from voisins.web.routes.centre import housing as centre_housing
from voisins.web.routes.centre import post_for as centre_post_for
from voisins.web.routes.centre import reports as centre_reports
from voisins.web.routes.centre import residents as centre_residents
from voisins.web.routes.centre import review as centre_review
from voisins.web.routes.centre import territory as centre_territory
from voisins.web.routes.centre import vetting as centre_vetting
from voisins.web.routes.resident import answers as resident_answers
from voisins.web.routes.resident import new_post as resident_new_post
from voisins.web.routes.resident import post_edit as resident_post_edit
from voisins.web.routes.resident import posts as resident_posts
from voisins.web.routes.volunteer import matches as volunteer_matches
from voisins.web.routes.volunteer import profile as volunteer_profile
from voisins.web.security import page_headers_middleware
from voisins.web.signed_in import PAGE_DEPENDENCIES
from voisins.web.typography import FrenchTemplateText

WEB_DIR = Path(__file__).resolve().parent
REPO_NODE_MODULES = WEB_DIR.parents[2] / "node_modules"
# What each library ships for browsers, under /static/vendor/<name>/.
VENDOR = {"leaflet": "leaflet/dist", "htmx": "htmx.org/dist", "axe": "axe-core"}
# The API authenticates writes by bearer token only (a cookie is refused there): it
# needs no CSRF token. (The one-click unsubscribe POST, sent by mail providers, is
# exempted on its handler only, so its page still gets a token for the header's forms.)
CSRF_EXEMPT = [r"^/api/", r"^/schema", r"^/health"]


def assets_dir(settings: Settings) -> Path:
    return Path(settings.web_assets_dir) if settings.web_assets_dir else REPO_NODE_MODULES


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.add_extension(FrenchTemplateText)
        engine.engine.autoescape = True
        engine.engine.trim_blocks = True
        engine.engine.lstrip_blocks = True

    return TemplateConfig(
        directory=WEB_DIR / "templates", engine=JinjaTemplateEngine, engine_callback=configure
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        exclude=CSRF_EXEMPT,
    )


def static_routers(settings: Settings) -> list[Router]:
    routers = [create_static_files_router(path="/static/app", directories=[WEB_DIR / "static"])]
    base = assets_dir(settings)
    for name, sub in VENDOR.items():
        if not (base / sub).is_dir():
            continue  # e.g. axe-core, a test-only library, is not in production images
        routers.append(
            create_static_files_router(
                path=f"/static/vendor/{name}", directories=[base / sub], name=f"vendor-{name}"
            )
        )
    return routers


def page_routes() -> list[Any]:
    """Every page, under one router that provides who is signed in (web/signed_in.py)."""
    return [Router(path="/", dependencies=PAGE_DEPENDENCIES, route_handlers=[
        *public.ROUTES,
        *legal.ROUTES,
        *resident_new_post.ROUTES,
        *resident_posts.ROUTES,
        *resident_post_edit.ROUTES,
        *resident_answers.ROUTES,
        *inbox.ROUTES,
        *account.ROUTES,
        *addresses.ROUTES,
        *volunteer_profile.ROUTES,
        *volunteer_matches.ROUTES,
        *centre_review.ROUTES,
        *centre_followups.ROUTES,
        *centre_reports.ROUTES,
        *centre_territory.ROUTES,
        *centre_vetting.ROUTES,
        *centre_residents.ROUTES,
        *centre_post_for.ROUTES,
        *conversations.ROUTES,
        *safety.ROUTES,
        *centre_housing.ROUTES,
        *housing.ROUTES,
        *admin_centres.ROUTES,
        *admin_members.ROUTES,
        *admin_webhooks.ROUTES,
        *admin_staff.ROUTES,
        *admin_uncovered.ROUTES,
    ])]  # fmt: skip


__all__ = [
    "csrf_config",
    "page_headers_middleware",
    "page_routes",
    "static_routers",
    "template_config",
]
