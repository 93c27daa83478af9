"""The administrators' pages over the real app (HTTP level, then Chromium): centres and
their territory from a GeoJSON file, members and roles, partnerships, webhooks, staff
accounts (create, deactivate, suspend) and the reports and follow-ups no centre covers
— and everyone else refused, as an audited page.

Over 400 lines: every administrator page, on one seeded world."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings
from voisins.typography import french_spaces

from ..support.browser import check_page, new_page
from ..support.csrf import csrf_of
from ..support.people import PASSWORD, fresh_code
from ..support.sign_in import sign_in
from ..support.world import HOME_OUTSIDE, World, build_world, post_body, volunteer_body

API = "/api/v1"
# A small square of the 14e, in no centre's territory yet.
MONTPARNASSE = {
    "type": "Polygon",
    "coordinates": [
        [[2.3150, 48.8350], [2.3300, 48.8350], [2.3300, 48.8450], [2.3150, 48.8450],
         [2.3150, 48.8350]]
    ],
}  # fmt: skip
OPEN_RING = {
    "type": "Polygon",
    "coordinates": [[[2.3150, 48.8350], [2.3300, 48.8350], [2.3300, 48.8450], [2.3150, 48.8450]]],
}
IN_LONDON = {
    "type": "Polygon",
    "coordinates": [
        [[-0.13, 51.50], [-0.12, 51.50], [-0.12, 51.51], [-0.13, 51.51], [-0.13, 51.50]]
    ],
}


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await build_world(client, engine)
    client.cookies.clear()
    return world


@pytest.fixture
async def mark(world: World, engine: AsyncEngine) -> int:
    """The audit trail outlives each test (append-only): only rows after this count."""
    return int(await scalar(engine, "SELECT COALESCE(max(id), 0) FROM audit_log"))


async def form_token(client: AsyncTestClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def column(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).scalars())


def geojson_file(shape: Any, name: str = "territoire.geojson") -> dict[str, Any]:
    body = shape if isinstance(shape, bytes) else json.dumps(shape).encode()
    return {"territory": (name, body, "application/geo+json")}


def error_of(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert found, f"no error on {field}"
    return found.group(1)


ADMIN_PAGES = ("/admin", "/admin/centres/nouveau", "/admin/equipe", "/admin/hors-territoire")


def centre_pages(centre_id: int) -> list[str]:
    base = f"/admin/centres/{centre_id}"
    return [base, f"{base}/membres", f"{base}/partenariats", f"{base}/webhooks"]


# ---------------------------------------------------------------------------------------
# Who may
# ---------------------------------------------------------------------------------------


async def test_admin_pages_go_to_the_login_page_without_a_session(client: AsyncTestClient) -> None:
    for path in ADMIN_PAGES:
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/connexion?suite={path}"


async def test_admin_pages_are_refused_to_residents_and_social_workers_as_an_audited_page(
    client: AsyncTestClient, world: World, engine: AsyncEngine, mark: int
) -> None:
    for who in (world.alice, world.worker_18):
        client.cookies.clear()
        sign_in(client, who)
        for path in (*ADMIN_PAGES, *centre_pages(world.centre_18)):
            refused = await client.get(path)
            assert refused.status_code == 403, (who.role, path)
            assert refused.headers["content-type"].startswith("text/html")
            assert "Accès refusé" in refused.text and 'role="alert"' in refused.text
        # Writes too (with a valid form token): nothing changes.
        token = await form_token(client, "/mon-compte")
        for path in (
            f"/admin/equipe/{world.worker_20.id}/desactiver",
            f"/admin/centres/{world.centre_18}/membres/{world.worker_18.id}/retirer",
            f"/admin/centres/{world.centre_18}/partenariats",
        ):
            refused = await client.post(
                path, data={"_csrf_token": token, "partner_id": str(world.centre_20)}
            )
            assert refused.status_code == 403, path
    assert await scalar(engine, "SELECT status FROM users WHERE id = :u", u=world.worker_20.id) == (
        "active"
    )
    assert await scalar(engine, "SELECT count(*) FROM centre_members") == 2
    assert await scalar(engine, "SELECT count(*) FROM centre_partnerships") == 0
    actions = set(
        await column(
            engine, "SELECT action FROM audit_log WHERE actor_id = :w AND outcome = 'refused' "
            "AND id > :m", w=world.worker_18.id, m=mark,
        )
    )  # fmt: skip
    assert {"refused.pageAdminCentres", "refused.pageAdminStaffDeactivate"} <= actions


async def test_an_admin_form_without_its_csrf_token_writes_nothing(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sign_in(client, world.admin)
    forged = await client.post(
        f"/admin/equipe/{world.worker_18.id}/desactiver", data={"_csrf_token": "forged"}
    )
    assert forged.status_code == 403 and "Formulaire expiré" in forged.text
    missing = await client.post(
        "/admin/centres", data={"name": "Centre sans jeton"}, files=geojson_file(MONTPARNASSE)
    )
    assert missing.status_code == 403
    assert await scalar(engine, "SELECT count(*) FROM centres") == 2
    assert await scalar(engine, "SELECT status FROM users WHERE id = :u", u=world.worker_18.id) == (
        "active"
    )


async def test_the_header_links_the_admin_workspace_for_admins_only(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.admin)
    page = await client.get("/admin")
    assert page.status_code == 200
    assert '<a href="/admin" aria-current="page">Administration</a>' in page.text
    assert "Espace du centre" not in page.text
    client.cookies.clear()
    sign_in(client, world.worker_18)
    assert 'href="/admin"' not in (await client.get("/centre")).text


# ---------------------------------------------------------------------------------------
# Centres and territories
# ---------------------------------------------------------------------------------------


async def test_an_admin_creates_a_centre_from_a_geojson_file_and_sees_it_on_the_map(
    client: AsyncTestClient, world: World, engine: AsyncEngine, mark: int
) -> None:
    sign_in(client, world.admin)
    token = await form_token(client, "/admin/centres/nouveau")
    fields = {
        "_csrf_token": token, "name": "Centre social Montparnasse",
        "contact_email": "accueil@montparnasse.example.org", "contact_phone": "01 43 00 00 00",
        "address": "3 rue de l'Ouest, Paris 14e", "moderation_level": "all_posts",
    }  # fmt: skip
    created = await client.post(
        "/admin/centres", data=fields, files=geojson_file(MONTPARNASSE), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    centre_id = int(re.fullmatch(r"/admin/centres/(\d+)\?fait=centre-cree",
                                 created.headers["location"]).group(1))  # type: ignore[union-attr]  # fmt: skip
    shown = await client.get(created.headers["location"])
    assert "Le centre est créé." in shown.text
    assert "data-territory-map" in shown.text and "2.315" in shown.text
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in shown.text
    # A pretty-printed file larger than the site's usual 1 MB body is still read.
    token = await form_token(client, "/admin/centres/nouveau")
    padded = json.dumps(MONTPARNASSE, indent=1).replace("\n", "\n" + " " * 200) + " " * 1_500_000
    assert len(padded) > 1_500_000
    big = await client.post(
        "/admin/centres", data={**fields, "_csrf_token": token, "name": "Centre Plaisance"},
        files=geojson_file(padded.encode()), follow_redirects=False,
    )  # fmt: skip
    assert big.status_code == 303, big.text
    api = (await client.get(f"{API}/centres/{centre_id}")).json()
    assert api["moderation_level"] == "all_posts"
    assert api["territory"]["type"] == "MultiPolygon"
    assert api["contact_email"] == "accueil@montparnasse.example.org"
    assert await scalar(
        engine, "SELECT count(*) FROM audit_log WHERE action = 'centre.create' AND object_id = :c "
        "AND actor_id = :a AND id > :m", c=centre_id, a=world.admin.id, m=mark,
    ) == 1  # fmt: skip


@pytest.mark.parametrize(
    ("upload", "status", "message"),
    [
        (None, 422, "Choisissez le fichier GeoJSON du territoire."),
        (b"ceci n'est pas du JSON", 422, "pas du GeoJSON lisible"),
        (OPEN_RING, 422, "Un contour n&#39;est pas fermé"),
        (IN_LONDON, 422, "doit être en France"),
        ({"type": "Point", "coordinates": [2.3, 48.8]}, 422, "Polygon ou un MultiPolygon"),
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": OPEN_RING}]},
            422,
            "pas fermé",
        ),
    ],
)
async def test_a_bad_territory_file_is_said_on_its_field_and_nothing_is_created(
    client: AsyncTestClient, world: World, engine: AsyncEngine, upload: Any, status: int,
    message: str,
) -> None:  # fmt: skip
    sign_in(client, world.admin)
    token = await form_token(client, "/admin/centres/nouveau")
    refused = await client.post(
        "/admin/centres",
        data={"_csrf_token": token, "name": "Centre social Montparnasse",
              "moderation_level": "none"},
        files=geojson_file(upload) if upload is not None else {
            "territory": ("", b"", "application/octet-stream")
        },
    )  # fmt: skip
    assert refused.status_code == status
    assert message in error_of(refused.text, "territory")
    assert 'aria-invalid="true"' in refused.text
    assert 'value="Centre social Montparnasse"' in refused.text  # what was typed stays
    assert await scalar(engine, "SELECT count(*) FROM centres") == 2


async def test_centre_name_and_contact_errors_are_said_on_their_fields(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sign_in(client, world.admin)
    token = await form_token(client, "/admin/centres/nouveau")
    taken = await client.post(
        "/admin/centres",
        data={"_csrf_token": token, "name": "Centre social Belleville"},
        files=geojson_file(MONTPARNASSE),
    )
    assert taken.status_code == 409
    assert "que n&#39;a aucun autre centre" in error_of(taken.text, "name")
    bad_mail = await client.post(
        "/admin/centres",
        data={"_csrf_token": token, "name": "Centre Ouest", "contact_email": "pas une adresse"},
        files=geojson_file(MONTPARNASSE),
    )
    assert bad_mail.status_code == 422
    assert "adresse e-mail valide" in error_of(bad_mail.text, "contact_email")
    assert await scalar(engine, "SELECT count(*) FROM centres") == 2


async def test_an_admin_edits_a_centre_and_a_bad_new_territory_changes_nothing(
    client: AsyncTestClient, world: World, engine: AsyncEngine, mark: int
) -> None:
    sign_in(client, world.admin)
    path = f"/admin/centres/{world.centre_18}"
    page = await client.get(path)
    assert 'value="Centre social Goutte d&#39;Or"' in page.text
    assert 'id="niveau-sensitive_only" name="moderation_level" value="sensitive_only" checked' in (
        page.text
    )
    token = csrf_of(page.text)
    refused = await client.post(
        path,
        data={"_csrf_token": token, "name": "Goutte d'Or (nouveau nom)",
              "moderation_level": "all_posts"},
        files=geojson_file(IN_LONDON),
    )  # fmt: skip
    assert refused.status_code == 422
    assert "France" in error_of(refused.text, "territory")
    unchanged = (await client.get(f"{API}/centres/{world.centre_18}")).json()
    assert unchanged["name"] == "Centre social Goutte d'Or"
    assert unchanged["moderation_level"] == "sensitive_only"

    changed = await client.post(
        path,
        data={"_csrf_token": token, "name": "Centre social Goutte d'Or",
              "contact_phone": "01 42 52 00 00", "moderation_level": "all_posts"},
        files={"territory": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )  # fmt: skip
    assert changed.status_code == 303
    assert changed.headers["location"] == f"{path}?fait=centre-modifie"
    after = (await client.get(f"{API}/centres/{world.centre_18}")).json()
    assert after["moderation_level"] == "all_posts"
    assert after["contact_phone"] == "01 42 52 00 00"
    assert after["territory"] == unchanged["territory"]  # no new file: the territory stays
    assert await scalar(
        engine, "SELECT count(*) FROM audit_log WHERE action = 'centre.update' AND object_id = :c "
        "AND id > :m", c=world.centre_18, m=mark,
    ) == 1  # fmt: skip

    assert (await client.get("/admin/centres/999999")).status_code == 404


# ---------------------------------------------------------------------------------------
# Members and roles
# ---------------------------------------------------------------------------------------


async def test_members_are_added_by_email_given_a_role_and_removed(
    client: AsyncTestClient, world: World, engine: AsyncEngine, mark: int
) -> None:
    sign_in(client, world.admin)
    path = f"/admin/centres/{world.centre_18}/membres"
    page = await client.get(path)
    assert world.worker_18.email in page.text and world.worker_20.email not in page.text
    token = csrf_of(page.text)

    unknown = await client.post(path, data={"_csrf_token": token, "email": "nobody@example.org",
                                            "member_role": "social_worker"})  # fmt: skip
    assert unknown.status_code == 404
    assert "Aucun compte n&#39;a cette adresse" in error_of(unknown.text, "email")
    resident = await client.post(path, data={"_csrf_token": token, "email": world.alice.email,
                                             "member_role": "social_worker"})  # fmt: skip
    assert resident.status_code == 409
    assert "pas celui d&#39;un travailleur social" in error_of(resident.text, "email")
    bad_role = await client.post(path, data={"_csrf_token": token, "email": world.worker_20.email,
                                             "member_role": "boss"})  # fmt: skip
    assert bad_role.status_code == 422
    assert error_of(bad_role.text, "member_role")
    assert await scalar(engine, "SELECT count(*) FROM centre_members") == 2

    added = await client.post(
        path, data={"_csrf_token": token, "email": world.worker_20.email.upper(),
                    "member_role": "social_worker"}, follow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 303
    listed = await client.get(added.headers["location"])
    assert "Le membre est ajouté au centre." in listed.text and world.worker_20.email in listed.text

    role = await client.post(
        f"{path}/{world.worker_20.id}/role",
        data={"_csrf_token": token, "member_role": "centre_admin"}, follow_redirects=False,
    )  # fmt: skip
    assert role.status_code == 303
    assert await scalar(
        engine, "SELECT member_role FROM centre_members WHERE centre_id = :c AND user_id = :u",
        c=world.centre_18, u=world.worker_20.id,
    ) == "centre_admin"  # fmt: skip

    # Worker 20 now acts for the Goutte d'Or: Odile, its assisted resident, is listed.
    client.cookies.clear()
    sign_in(client, world.worker_20)
    assert "Odile" in (await client.get("/centre/habitants")).text
    client.cookies.clear()
    sign_in(client, world.admin)
    token = await form_token(client, path)
    removed = await client.post(
        f"{path}/{world.worker_20.id}/retirer", data={"_csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert removed.status_code == 303
    again = await client.post(f"{path}/{world.worker_20.id}/retirer", data={"_csrf_token": token})
    assert again.status_code == 404
    client.cookies.clear()
    sign_in(client, world.worker_20)
    # At once, in the same session: the Goutte d'Or's resident is no longer theirs.
    assert "Odile" not in (await client.get("/centre/habitants")).text
    actions = await column(
        engine, "SELECT action FROM audit_log WHERE object_type = 'user' AND object_id = :u "
        "AND actor_id = :a AND id > :m ORDER BY id", u=world.worker_20.id, a=world.admin.id, m=mark,
    )  # fmt: skip
    assert actions == ["centre.member_set", "centre.member_set", "centre.member_remove"]


# ---------------------------------------------------------------------------------------
# Partnerships and webhooks
# ---------------------------------------------------------------------------------------


async def test_partnerships_are_created_and_ended(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sign_in(client, world.admin)
    path = f"/admin/centres/{world.centre_18}/partenariats"
    page = await client.get(path)
    assert "Ce centre n&#39;a pas de partenaire." in page.text
    assert f'<option value="{world.centre_20}">Centre social Belleville</option>' in page.text
    token = csrf_of(page.text)
    itself = await client.post(path, data={"_csrf_token": token,
                                           "partner_id": str(world.centre_18)})  # fmt: skip
    assert itself.status_code == 409
    assert error_of(itself.text, "partner_id") == "Choisissez un autre centre."
    garbage = await client.post(path, data={"_csrf_token": token, "partner_id": "abc"})
    assert garbage.status_code == 422 and error_of(garbage.text, "partner_id")
    assert await scalar(engine, "SELECT count(*) FROM centre_partnerships") == 0

    made = await client.post(path, data={"_csrf_token": token, "partner_id": str(world.centre_20)},
                             follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    shown = await client.get(made.headers["location"])
    assert "Le partenariat est créé." in shown.text
    assert f'href="/admin/centres/{world.centre_20}">Centre social Belleville</a>' in shown.text
    assert (await client.get(f"{API}/centres/{world.centre_20}")).json()["partner_ids"] == [
        world.centre_18
    ]
    ended = await client.post(f"{path}/{world.centre_20}/fin", data={"_csrf_token": token},
                              follow_redirects=False)  # fmt: skip
    assert ended.status_code == 303
    assert await scalar(engine, "SELECT count(*) FROM centre_partnerships") == 0
    assert (await client.post(f"{path}/{world.centre_20}/fin",
                              data={"_csrf_token": token})).status_code == 404  # fmt: skip


async def test_webhooks_are_created_with_a_secret_shown_once_listed_and_disabled(
    client: AsyncTestClient, world: World, engine: AsyncEngine, mark: int
) -> None:
    sign_in(client, world.admin)
    path = f"/admin/centres/{world.centre_18}/webhooks"
    token = await form_token(client, path)
    for url in ("ftp://partenaire.example.org/hook", "pas une adresse", ""):
        refused = await client.post(path, data={"_csrf_token": token, "url": url})
        assert refused.status_code == 422, url
        assert "https://" in error_of(refused.text, "url")
    unknown_topic = await client.post(path, data={
        "_csrf_token": token, "url": "https://partenaire.example.org/hook", "topics": "post.view"
    })  # fmt: skip
    assert unknown_topic.status_code == 422 and error_of(unknown_topic.text, "topics")
    assert await scalar(engine, "SELECT count(*) FROM webhooks") == 0

    created = await client.post(path, data={
        "_csrf_token": token, "url": "https://partenaire.example.org/hook",
        "topics": ["report.filed", "match.confirmed"],
    })  # fmt: skip
    assert created.status_code == 201
    secret = await scalar(engine, "SELECT secret FROM webhooks")
    assert len(secret) >= 32 and secret in created.text
    assert "Il ne sera plus jamais affiché." in created.text

    webhook_id = await scalar(engine, "SELECT id FROM webhooks")
    async with engine.begin() as conn:
        event = (
            await conn.execute(
                text("INSERT INTO outbox (topic) VALUES ('report.filed') RETURNING id")
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO deliveries (event_id, webhook_id, channel, kind, status, attempts, "
                "last_error) VALUES (:e, :w, 'webhook', 'report.filed', 'dead', 5, 'HTTP 500')"
            ),
            {"e": event, "w": webhook_id},
        )
    listed = await client.get(path)
    assert secret not in listed.text
    assert "https://partenaire.example.org/hook" in listed.text
    assert "Signalement reçu, Mise en relation confirmée" in listed.text
    assert "Échec définitif" in listed.text and "HTTP 500" in listed.text

    disabled = await client.post(f"{path}/{webhook_id}/desactiver", data={"_csrf_token": token},
                                 follow_redirects=False)  # fmt: skip
    assert disabled.status_code == 303
    assert await scalar(engine, "SELECT active FROM webhooks") is False
    assert "Désactiver ce webhook" not in (await client.get(path)).text
    audited = await scalar(
        engine, "SELECT count(*) FROM audit_log WHERE object_type = 'webhook' AND object_id = :w "
        "AND id > :m", w=webhook_id, m=mark,
    )  # fmt: skip
    assert audited == 2


# ---------------------------------------------------------------------------------------
# Staff accounts
# ---------------------------------------------------------------------------------------


async def test_a_deactivated_staff_members_open_session_stops_at_once_and_sign_in_fails(
    client: AsyncTestClient, world: World, engine: AsyncEngine, mark: int
) -> None:
    worker = world.worker_18
    assert (await client.get(f"{API}/me", headers=worker.headers)).status_code == 200
    sign_in(client, worker)
    assert (await client.get("/centre")).status_code == 200  # their page session works
    client.cookies.clear()

    sign_in(client, world.admin)
    page = await client.get("/admin/equipe")
    assert worker.email in page.text
    token = csrf_of(page.text)
    own = await client.post(f"/admin/equipe/{world.admin.id}/desactiver",
                            data={"_csrf_token": token})  # fmt: skip
    assert own.status_code == 409  # an admin never locks themself out
    done = await client.post(f"/admin/equipe/{worker.id}/desactiver", data={"_csrf_token": token},
                             follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    listed = await client.get(done.headers["location"])
    assert french_spaces("Le compte est désactivé : ses sessions sont fermées.") in listed.text
    assert "Réactiver le compte" in listed.text

    # The same browser session and the same API token no longer work.
    client.cookies.clear()
    sign_in(client, worker)
    out = await client.get("/centre", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/connexion")
    client.cookies.clear()
    assert (await client.get(f"{API}/me", headers=worker.headers)).status_code == 401
    # The right password no longer leads anywhere: not even to the 6-digit code step.
    login = await client.post(f"{API}/auth/login", json={"email": worker.email,
                                                         "password": PASSWORD})  # fmt: skip
    assert login.status_code == 401 and login.json()["fields"] == {}
    assert await scalar(engine, "SELECT count(*) FROM sessions WHERE user_id = :u",
                        u=worker.id) == 0  # fmt: skip
    assert await scalar(
        engine, "SELECT count(*) FROM audit_log WHERE action = 'staff.deactivate' "
        "AND object_id = :u AND actor_id = :a AND id > :m", u=worker.id, a=world.admin.id, m=mark,
    ) == 1  # fmt: skip

    sign_in(client, world.admin)
    token = await form_token(client, "/admin/equipe")
    back = await client.post(f"/admin/equipe/{worker.id}/reactiver", data={"_csrf_token": token},
                             follow_redirects=False)  # fmt: skip
    assert back.status_code == 303
    client.cookies.clear()
    again = await client.post(f"{API}/auth/login", json={"email": worker.email,
                                                         "password": PASSWORD})  # fmt: skip
    # Re-activated: without the code the answer does not say whether the password
    # passed (tests/test_issue14_auth.py); with a code it signs in.
    assert again.status_code == 401 and again.json()["fields"] == {}
    assert worker.totp_secret
    code = await fresh_code(worker.totp_secret)
    coded = await client.post(f"{API}/auth/login", json={
        "email": worker.email, "password": PASSWORD, "totp_code": code,
    })  # fmt: skip
    client.cookies.clear()
    assert coded.status_code == 200, coded.text
    # Their centre is kept for the return.
    assert await scalar(engine, "SELECT count(*) FROM centre_members WHERE user_id = :u",
                        u=worker.id) == 1  # fmt: skip


async def test_an_admin_creates_a_staff_account_and_bad_input_is_said_on_the_field(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sign_in(client, world.admin)
    token = await form_token(client, "/admin/equipe")
    base = {"_csrf_token": token, "display_name": "Nadia Benali", "email": "nadia@example.org",
            "role": "social_worker", "centre_id": str(world.centre_20)}  # fmt: skip
    unnamed = await client.post("/admin/equipe", data={**base, "display_name": ""})
    assert unnamed.status_code == 422 and error_of(unnamed.text, "display_name")
    assert 'value="nadia@example.org"' in unnamed.text
    taken = await client.post("/admin/equipe", data={**base, "email": world.worker_18.email})
    assert taken.status_code == 409
    assert error_of(taken.text, "email") == "Un compte existe déjà avec cette adresse."
    admin_in_centre = await client.post("/admin/equipe", data={**base, "role": "admin"})
    assert admin_in_centre.status_code == 422 and error_of(admin_in_centre.text, "centre_id")
    assert await scalar(engine, "SELECT count(*) FROM users WHERE email = 'nadia@example.org'") == 0

    made = await client.post("/admin/equipe", data=base, follow_redirects=False)
    assert made.status_code == 303
    shown = await client.get(made.headers["location"])
    assert "Nadia Benali" in shown.text and "Pas encore activée" in shown.text
    assert await scalar(
        engine, "SELECT m.centre_id FROM centre_members m JOIN users u ON u.id = m.user_id "
        "WHERE u.email = 'nadia@example.org' AND u.role = 'social_worker'",
    ) == world.centre_20  # fmt: skip
    # No password went through the administrator: Nadia is invited to choose hers.
    assert await scalar(
        engine, "SELECT count(*) FROM outbox o JOIN users u ON u.id = "
        "CAST(o.payload ->> 'user_id' AS bigint) WHERE o.topic = 'account.staff_invited' "
        "AND u.email = 'nadia@example.org'",
    ) == 1  # fmt: skip


async def test_an_admin_may_suspend_a_social_worker_a_social_worker_may_not(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    reason = {"reason": "Plainte d'une habitante, en cours d'examen"}
    # The rule is the service's: the API says the same as the pages.
    refused = await client.post(f"{API}/moderation/people/{world.worker_20.id}/suspend",
                                json=reason, headers=world.worker_18.headers)  # fmt: skip
    assert refused.status_code == 403
    other_admin = await client.post(f"{API}/moderation/people/{world.admin.id}/suspend",
                                    json=reason, headers=world.admin.headers)  # fmt: skip
    assert other_admin.status_code == 403

    sign_in(client, world.admin)
    token = await form_token(client, "/admin/equipe")
    empty = await client.post(f"/admin/equipe/{world.worker_20.id}/suspendre",
                              data={"_csrf_token": token, "note": " "})  # fmt: skip
    assert empty.status_code == 422
    assert f'id="note-compte-{world.worker_20.id}-erreur"' in empty.text
    assert await scalar(engine, "SELECT status FROM users WHERE id = :u",
                        u=world.worker_20.id) == "active"  # fmt: skip
    done = await client.post(
        f"/admin/equipe/{world.worker_20.id}/suspendre",
        data={"_csrf_token": token, "note": reason["reason"]}, follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    assert await scalar(engine, "SELECT status FROM users WHERE id = :u",
                        u=world.worker_20.id) == "suspended"  # fmt: skip
    assert (await client.get(f"{API}/me", headers=world.worker_20.headers)).status_code == 401
    lifted = await client.post(f"/admin/equipe/{world.worker_20.id}/retablir",
                               data={"_csrf_token": token, "note": "Plainte classée"},
                               follow_redirects=False)  # fmt: skip
    assert lifted.status_code == 303
    assert await scalar(engine, "SELECT status FROM users WHERE id = :u",
                        u=world.worker_20.id) == "active"  # fmt: skip


async def test_an_admin_resets_a_staff_members_second_factor(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sign_in(client, world.admin)
    token = await form_token(client, "/admin/equipe")
    done = await client.post(f"/admin/equipe/{world.worker_18.id}/double-authentification",
                             data={"_csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert await scalar(engine, "SELECT totp_enabled_at FROM users WHERE id = :u",
                        u=world.worker_18.id) is None  # fmt: skip
    assert (await client.get(f"{API}/me", headers=world.worker_18.headers)).status_code == 401


# ---------------------------------------------------------------------------------------
# What no centre covers
# ---------------------------------------------------------------------------------------


async def test_a_report_about_a_volunteer_outside_every_territory_reaches_admins_only(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    # Vera moved outside every centre's territory, then was proposed a request posted
    # there too: no centre covers the match, nor her home (a report about a match on a
    # covered request goes to that centre).
    moved = await client.put(f"{API}/me/volunteer", json=volunteer_body(HOME_OUTSIDE),
                             headers=world.vera.headers)  # fmt: skip
    assert moved.status_code == 200, moved.text
    posted = await client.post(f"{API}/posts", json=post_body(HOME_OUTSIDE, title="Courses"),
                               headers=world.stranger.headers)  # fmt: skip
    assert posted.status_code == 201, posted.text
    match_id = await scalar(
        engine, "SELECT id FROM matches WHERE post_id = :p AND volunteer_id = :v",
        p=posted.json()["id"], v=world.vera.id,
    )  # fmt: skip
    assert match_id is not None
    filed = await client.post(
        f"{API}/reports",
        json={"match_id": match_id, "reason": "unsafe", "comment": "Propos déplacés"},
        headers=world.stranger.headers,
    )
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]
    assert await scalar(engine, "SELECT count(*) FROM report_centres WHERE report_id = :r",
                        r=report_id) == 0  # fmt: skip

    for worker in (world.worker_18, world.worker_20):
        seen = (await client.get(f"{API}/moderation/reports", headers=worker.headers)).json()
        assert report_id not in [r["id"] for r in seen["items"]]
        sign_in(client, worker)
        assert (
            f'id="signalement-{report_id}"' not in (await client.get("/centre/signalements")).text
        )
        client.cookies.clear()
    by_api = (await client.get(f"{API}/moderation/reports", headers=world.admin.headers)).json()
    assert [r["id"] for r in by_api["items"]] == [report_id]

    sign_in(client, world.admin)
    page = await client.get("/admin/hors-territoire")
    assert page.status_code == 200
    assert f'id="signalement-{report_id}"' in page.text and "Propos déplacés" in page.text
    assert french_spaces("Danger pour quelqu&#39;un : Vera") in page.text
    # The world's stranger posted outside too: no centre follows that request up.
    token = csrf_of(page.text)
    empty = await client.post(f"/admin/hors-territoire/signalements/{report_id}/resoudre",
                              data={"_csrf_token": token, "resolution": ""})  # fmt: skip
    assert empty.status_code == 422
    assert f'id="resolution-signalement-{report_id}-erreur"' in empty.text
    closed = await client.post(f"/admin/hors-territoire/signalements/{report_id}/resoudre",
                               data={"_csrf_token": token, "resolution": "Appel à Vera"},
                               follow_redirects=False)  # fmt: skip
    assert closed.status_code == 303
    assert await scalar(engine, "SELECT resolved_by FROM reports WHERE id = :r",
                        r=report_id) == world.admin.id  # fmt: skip
    assert f'id="signalement-{report_id}"' not in (await client.get("/admin/hors-territoire")).text
    assert "Appel à Vera" in (await client.get("/admin/hors-territoire?tous=1")).text


async def test_uncovered_follow_ups_are_listed_for_admins_and_contacted(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        followup = (
            await conn.execute(
                text(
                    "INSERT INTO followups (reason, post_id, centre_id) "
                    "VALUES ('no_response', :p, NULL) ON CONFLICT DO NOTHING RETURNING id"
                ),
                {"p": world.posts["outside"]},
            )
        ).scalar() or await conn.scalar(
            text("SELECT id FROM followups WHERE post_id = :p"), {"p": world.posts["outside"]}
        )
    sign_in(client, world.admin)
    page = await client.get("/admin/hors-territoire")
    assert f'id="suivi-{followup}"' in page.text and "Demande restée sans réponse" in page.text
    token = csrf_of(page.text)
    empty = await client.post(f"/admin/hors-territoire/suivi/{followup}/contact",
                              data={"_csrf_token": token, "outcome": "?"})  # fmt: skip
    assert empty.status_code == 422
    done = await client.post(f"/admin/hors-territoire/suivi/{followup}/contact",
                             data={"_csrf_token": token, "outcome": "Orientée vers la mairie"},
                             follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert await scalar(engine, "SELECT contacted_by FROM followups WHERE id = :f",
                        f=followup) == world.admin.id  # fmt: skip


# ---------------------------------------------------------------------------------------
# In Chromium: every admin page, on a phone and on a desktop
# ---------------------------------------------------------------------------------------


async def test_every_admin_page_passes_axe_and_fits_a_phone_and_a_desktop(
    browser: Browser, live_server: str, settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with AsyncTestClient(create_app(settings)) as api:
        world = await build_world(api, engine)
        webhook = await api.post(
            f"{API}/centres/{world.centre_18}/webhooks",
            json={"url": "https://une-association-partenaire-au-nom-tres-long.example.org/"
                  "voisins/evenements/recus", "secret": "a partner's shared secret"},
            headers=world.admin.headers,
        )  # fmt: skip
        assert webhook.status_code == 201
    paths = [*ADMIN_PAGES, *centre_pages(world.centre_18)]
    for name, viewport in (("phone", {"width": 412, "height": 915}),
                           ("desktop", {"width": 1280, "height": 900})):  # fmt: skip
        page = await new_page(browser, live_server, viewport=viewport)
        await page.context.add_cookies(
            [{"name": "voisins_session", "value": world.admin.token, "url": live_server}]
        )
        for path in paths:
            response = await page.goto(path)
            assert response is not None and response.status == 200, path
            await check_page(page, f"admin-{name}{path.replace('/', '-')}")
        # The territory is drawn by Leaflet from the page's GeoJSON.
        await page.goto(f"/admin/centres/{world.centre_18}")
        await expect(page.locator("#carte-territoire path.leaflet-interactive")).to_have_count(1)
        # A form's error, then a webhook's one-time secret.
        await page.goto(f"/admin/centres/{world.centre_18}/membres")
        await page.get_by_label("E-mail de son compte").fill("personne@example.org")
        await page.get_by_role("button", name="Ajouter au centre").click()
        await expect(page.locator("#email-error")).to_contain_text("Aucun compte")
        await check_page(page, f"admin-{name}-member-error")
        await page.goto(f"/admin/centres/{world.centre_18}/webhooks")
        await page.get_by_label("Adresse (URL) de l'association").fill(
            f"https://partenaire-{name}.example.org/hook"
        )
        await page.get_by_role("button", name="Créer le webhook").click()
        await expect(page.locator("#secret")).to_be_visible()
        await check_page(page, f"admin-{name}-webhook-secret")
        # Deactivating asks first: the button is behind its explanation.
        await page.goto("/admin/equipe")
        await page.get_by_text("Désactiver le compte").first.click()
        await expect(page.get_by_role("button", name="Désactiver le compte").first).to_be_visible()
        await check_page(page, f"admin-{name}-staff-open")
        await page.context.close()
    # A centre made from a real file chosen in the form: a wrong one is said on its field.
    page = await new_page(browser, live_server)
    await page.context.add_cookies(
        [{"name": "voisins_session", "value": world.admin.token, "url": live_server}]
    )
    wrong, right = tmp_path / "ouvert.geojson", tmp_path / "montparnasse.geojson"
    wrong.write_text(json.dumps(OPEN_RING))
    right.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": MONTPARNASSE}))
    await page.goto("/admin/centres/nouveau")
    await page.get_by_label("Nom du centre").fill("Centre social Montparnasse")
    await page.get_by_label("Territoire : fichier GeoJSON").set_input_files(str(wrong))
    await page.get_by_role("button", name="Créer le centre").click()
    await expect(page.locator("#territory-error")).to_contain_text("pas fermé")
    await check_page(page, "admin-phone-territory-error")
    await page.get_by_label("Territoire : fichier GeoJSON").set_input_files(str(right))
    await page.get_by_role("button", name="Créer le centre").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Centre social Montparnasse")
    await expect(page.locator("#carte-territoire path.leaflet-interactive")).to_have_count(1)
    await check_page(page, "admin-phone-centre-created")
    await page.context.close()

    # The same pages in English (the switch in the header).
    page = await new_page(browser, live_server, viewport={"width": 1280, "height": 900})
    await page.context.add_cookies(
        [{"name": "voisins_session", "value": world.admin.token, "url": live_server}]
    )
    await page.goto("/admin/equipe")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Team accounts")).to_be_visible()
    await check_page(page, "admin-desktop-staff-en")
    await page.goto(f"/admin/centres/{world.centre_18}/webhooks")
    await expect(page.get_by_role("heading", name="Partner associations' webhooks")).to_be_visible()
    await check_page(page, "admin-desktop-webhooks-en")
