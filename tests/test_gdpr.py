"""GDPR on the real services: a person downloads their data and only theirs; an erased
person leaves no trace in a ``pg_dump`` of the database nor in any Redis value, while
anonymous statistics stay; a social worker exports or erases only the assisted
residents they act for; support records are anonymised two years after the last
contact.

Over 400 lines: one regulation's rights (export, erasure, retention), each traced
through every table and Redis."""

from __future__ import annotations

import json
import struct
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.access import Viewer
from voisins.accounts.ratelimit import account_key
from voisins.housekeeping import apply_retention, finish_erasures
from voisins.moderation import gdpr_erase
from voisins.moderation.gdpr_erase import ERASED_NAME, ERASURE_REASON
from voisins.notify.fanout import fan_out
from voisins.settings import Settings

from .support import matching
from .support.people import PASSWORD, Person, login, register
from .support.world import (
    ADDRESS_ALICE,
    HOME_ALICE,
    HOME_VERA,
    ODILE_PHONE,
    World,
    build_world,
    post_body,
    volunteer_body,
    with_matches,
)

API = "/api/v1"

CANARY_NAME = "Zéphyrine Canari-7Q"
CANARY_EMAIL = "zephyrine.canari7q@example.org"
CANARY_PHONE = "06 98 76 54 32"
CANARY_ADDRESS = "17 impasse des Canaris-9X"
CANARY_HOME_ADDRESS = "5 passage du Canari-9X, escalier B"
# Inside the Goutte d'Or territory, within Vera's reach; sixth decimals set.
CANARY_POINT = (2.357291, 48.889157)
CANARY_HOME = (2.349871, 48.881379)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def call(
    client: AsyncTestClient, who: Person | None, method: str, url: str, body: Any = None
) -> Any:
    client.cookies.clear()
    headers = who.headers if who else {}
    return await client.request(method, API + url, json=body, headers=headers)


async def deliver_inapp(engine: AsyncEngine) -> None:
    """What the notification worker would do with every pending event (in-app only)."""
    async with engine.connect() as conn:
        events = (
            await conn.execute(text("SELECT id FROM outbox WHERE processed_at IS NULL ORDER BY id"))
        ).scalars()
        pending = list(events)
    for event_id in pending:
        async with engine.begin() as conn:
            await fan_out(conn, event_id, now=datetime.now(UTC), enabled=frozenset({"inapp"}))


def pg_dump(database: str) -> bytes:
    return subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", "--dbname", database],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


def _coordinate_forms(value: float) -> list[bytes]:
    """A coordinate as text to 6 decimals and as the little-endian double that PostGIS
    writes inside the hex EWKB of a geometry or geography."""
    return [f"{value:.6f}".encode(), struct.pack("<d", value).hex().encode()]


def _text_forms(value: str) -> list[bytes]:
    """A string as UTF-8 and as the hex of a bytea column (a stored response)."""
    raw = value.casefold().encode()
    return [raw, value.encode().hex().encode()]


def traces(blob: bytes, needles: dict[str, list[bytes]]) -> list[str]:
    folded = blob.lower()
    return sorted({name for name, forms in needles.items() for f in forms if f.lower() in folded})


async def redis_blob(redis: Redis) -> bytes:
    """Every key of the test database with its serialised value."""
    parts = []
    async for key in redis.scan_iter(count=500):
        parts.append(key)
        value = await redis.dump(key)
        if value is not None:
            parts.append(value)
    return b"\n".join(parts)


async def test_an_erased_resident_leaves_no_trace_but_anonymous_statistics(
    client: AsyncTestClient,
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    database: str,
) -> None:
    # audit_log survives between tests (append-only) while ids restart: only the rows
    # written from here on count.
    async with engine.connect() as conn:
        audit_before = (
            await conn.execute(text("SELECT COALESCE(max(id), 0) FROM audit_log"))
        ).scalar_one()
    world = await build_world(client, engine)
    registered = await ok(
        await client.post(
            f"{API}/auth/register",
            json={
                "email": CANARY_EMAIL,
                "password": PASSWORD,
                "display_name": CANARY_NAME,
                "phone": CANARY_PHONE,
            },
        ),
        201,
    )
    canary = await login(client, CANARY_EMAIL, registered["id"], "resident")
    # A volunteer too: her exact home is one more thing to erase.
    await ok(
        await call(
            client,
            canary,
            "PUT",
            "/me/volunteer",
            volunteer_body(
                CANARY_HOME,
                location={
                    "lon": CANARY_HOME[0],
                    "lat": CANARY_HOME[1],
                    "address": CANARY_HOME_ADDRESS,
                },
            ),
        )
    )
    location = {"lon": CANARY_POINT[0], "lat": CANARY_POINT[1], "address": CANARY_ADDRESS}
    posts = []
    for n, title in enumerate((f"Courses pour {CANARY_NAME}", "Porter un colis")):
        client.cookies.clear()
        created = await client.post(
            f"{API}/posts",
            json=post_body(
                CANARY_POINT,
                title=title,
                # A public text cannot hold an address (posts/screening.py): the
                # canary's name stands in it for what the erasure must find.
                description=f"Sonnez à l'interphone, demandez {CANARY_NAME}.",
                location=location,
            ),
            # The stored response of an Idempotency-Key holds the address.
            headers={**canary.headers, "Idempotency-Key": f"canari-post-{n}"},
        )
        posts.append((await ok(created, 201))["id"])
    # Alice asks for help next door: the canary, as a volunteer, takes it on.
    alices = (
        await ok(await call(client, world.alice, "POST", "/posts", post_body(HOME_ALICE)), 201)
    )["id"]
    helping = await matching.match_of(engine, alices, canary.id)
    accepted = await ok(await call(client, canary, "POST", f"/matches/{helping}/accept"))
    assert accepted["status"] == "confirmed"
    matches = [await matching.match_of(engine, post, world.vera.id) for post in posts]
    for match in matches:
        accepted = await ok(await call(client, world.vera, "POST", f"/matches/{match}/accept"))
        assert accepted["status"] == "confirmed"
    # The first request took place and both sides thanked; the second is still open.
    await ok(await call(client, canary, "POST", f"/matches/{matches[0]}/complete"))
    for who, comment in (
        (canary, f"Merci Vera ! {CANARY_NAME}"),
        (world.vera, f"Ravie d'avoir aidé {CANARY_NAME}, {CANARY_ADDRESS}"),
    ):
        feedback = {"kind": "thanks", "comment": comment}
        await ok(await call(client, who, "POST", f"/matches/{matches[0]}/feedback", feedback), 201)
    # Her conversation with Vera: her words, and Vera's words to her, which name her.
    for who, words in (
        (canary, f"Mon numéro : {CANARY_PHONE}"),
        (world.vera, f"Bonjour {CANARY_NAME}, je sonne au {CANARY_ADDRESS}"),
    ):
        await ok(
            await call(client, who, "POST", f"/matches/{matches[1]}/messages", {"text": words}), 201
        )
    await ok(await client.post(f"{API}/auth/password-reset", json={"email": CANARY_EMAIL}), 202)
    refused = await client.post(
        f"{API}/auth/login", json={"email": CANARY_EMAIL, "password": "not her password"}
    )
    assert refused.status_code == 401
    limit_key = account_key(settings.secret_key, CANARY_EMAIL)
    assert await redis.zcard(limit_key) == 1  # one failure in its sliding log
    async with engine.begin() as conn:
        # What others wrote about her: a report, a follow-up note; and her own report.
        await conn.execute(
            text(
                "INSERT INTO reports (reporter_id, reported_id, reason, comment) VALUES "
                "(:vera, :canary, 'other', :about), (:canary, NULL, 'other', :hers)"
            ),
            {
                "vera": world.vera.id,
                "canary": canary.id,
                "about": f"{CANARY_NAME} m'a donné une mauvaise adresse",
                "hers": f"Signalé par {CANARY_NAME}",
            },
        )
        await conn.execute(
            text(
                "INSERT INTO followups (post_id, centre_id, reason, contacted_at, contacted_by, "
                "outcome) VALUES (:p, :c, 'no_response', now(), :w, :o)"
            ),
            {
                "p": posts[1],
                "c": world.centre_18,
                "w": world.worker_18.id,
                "o": f"Appelé {CANARY_NAME} au {CANARY_PHONE}",
            },
        )
    await deliver_inapp(engine)
    async with engine.connect() as conn:
        inbox = (
            await conn.execute(
                text("SELECT user_id, body FROM notifications WHERE user_id IN (:c, :v)"),
                {"c": canary.id, "v": world.vera.id},
            )
        ).all()
        before = (
            await conn.execute(
                text("SELECT id, category, cell_key FROM posts WHERE id = ANY(:p) ORDER BY id"),
                {"p": posts},
            )
        ).all()
    assert {r.user_id for r in inbox} == {canary.id, world.vera.id}
    assert any(CANARY_NAME in r.body for r in inbox if r.user_id == world.vera.id)

    needles = {
        "name": _text_forms(CANARY_NAME) + _text_forms("Canari-7Q"),
        "address": _text_forms(CANARY_ADDRESS) + _text_forms("Canaris-9X"),
        "home address": _text_forms(CANARY_HOME_ADDRESS),
        "e-mail": _text_forms(CANARY_EMAIL),
        "phone": _text_forms(CANARY_PHONE),
        "request lon": _coordinate_forms(CANARY_POINT[0]),
        "request lat": _coordinate_forms(CANARY_POINT[1]),
        "home lon": _coordinate_forms(CANARY_HOME[0]),
        "home lat": _coordinate_forms(CANARY_HOME[1]),
    }
    # The hunt finds what it looks for before the erasure (so it can fail).
    assert traces(pg_dump(database), needles) == sorted(needles)

    refused = await call(client, canary, "POST", "/me/erasure", {"confirm": False})
    assert refused.status_code == 422 and "confirm" in refused.json()["fields"]
    assert (await call(client, canary, "POST", "/me/erasure", {})).status_code == 422
    await ok(await call(client, canary, "GET", "/me"))

    erased = await call(client, canary, "POST", "/me/erasure", {"confirm": True})
    body = await ok(erased)
    assert body["status"] == "erased" and body["message"].startswith("Votre compte")
    cookie = erased.headers.get("set-cookie", "").lower()
    assert "voisins_session=" in cookie and "max-age=0" in cookie

    # Nothing of her in PostgreSQL...
    assert traces(pg_dump(database), needles) == []
    # ...nor in Redis: the pseudonymous login counter of her address is gone too.
    assert await redis.exists(limit_key) == 0
    assert traces(await redis_blob(redis), needles) == []

    # Her token and her password are dead. (A new attempt to log in with her address
    # counts again, for the length of the window: that counter is about the attempt.)
    assert (await call(client, canary, "GET", "/me")).status_code == 401
    assert (await call(client, canary, "GET", "/me/export")).status_code == 401
    relogin = await client.post(
        f"{API}/auth/login", json={"email": CANARY_EMAIL, "password": PASSWORD}
    )
    assert relogin.status_code == 401

    async with engine.connect() as conn:
        user = (
            await conn.execute(
                text(
                    "SELECT status, email, phone, display_name, password_hash, totp_secret "
                    "FROM users WHERE id = :id"
                ),
                {"id": canary.id},
            )
        ).one()
        after = (
            await conn.execute(
                text(
                    "SELECT id, category, cell_key, status, address, "
                    "ST_Equals(point, cell_centre) AS at_cell_centre "
                    "FROM posts WHERE id = ANY(:p) ORDER BY id"
                ),
                {"p": posts},
            )
        ).all()
        open_matches = (
            await conn.execute(
                text("SELECT status, close_reason FROM matches WHERE id IN (:a, :b)"),
                {"a": matches[1], "b": helping},
            )
        ).all()
        alices_status = (
            await conn.execute(text("SELECT status FROM posts WHERE id = :id"), {"id": alices})
        ).scalar_one()
        left = {
            table: (
                await conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": canary.id}
                )
            ).scalar_one()
            for table, column in (
                ("sessions", "user_id"),
                ("password_resets", "user_id"),
                ("idempotency_keys", "user_id"),
                ("notifications", "user_id"),
                ("deliveries", "user_id"),
                ("notification_preferences", "user_id"),
                ("volunteers", "user_id"),
            )
        }
        erasure = (
            await conn.execute(
                text("SELECT requested_by, redis_done_at FROM erasures WHERE user_id = :id"),
                {"id": canary.id},
            )
        ).one()
        audit = (
            await conn.execute(
                text(
                    "SELECT actor_id FROM audit_log WHERE action = 'gdpr.erase' "
                    "AND object_id = :id AND id > :before"
                ),
                {"id": canary.id, "before": audit_before},
            )
        ).scalars()
        audited = list(audit)
    assert user.status == "erased" and user.display_name == ERASED_NAME
    assert (user.email, user.phone, user.password_hash, user.totp_secret) == (None,) * 4
    # Anonymous statistics stay: each post, its kind of help and its public cell.
    assert [(r.id, r.category, r.cell_key) for r in after] == [tuple(r) for r in before]
    assert all(r.address is None and r.at_cell_centre for r in after)
    assert [r.status for r in after] == ["closed", "withdrawn"]
    # The match still open was cancelled through the life cycle, with a reason.
    # Her open matches, on either side, were cancelled through the life cycle with a
    # reason; Alice's request, which lost its volunteer, is open again.
    assert [tuple(r) for r in open_matches] == [("cancelled", ERASURE_REASON)] * 2
    assert alices_status == "published"
    assert left == dict.fromkeys(left, 0)
    assert erasure.requested_by == canary.id and erasure.redis_done_at is not None
    assert audited == [canary.id]


async def test_a_redis_outage_leaves_the_erasure_to_the_workers_sweep(
    client: AsyncTestClient, engine: AsyncEngine, redis: Redis, settings: Settings
) -> None:
    basile = await register(client, "Basile")
    key = account_key(settings.secret_key, basile.email)
    await redis.set(key, 3)
    async with engine.begin() as conn:
        erasure = await gdpr_erase.erase(
            conn,
            basile.id,
            actor=Viewer(id=basile.id, role="resident", second_factor=False),
            settings=settings,
            now=datetime.now(UTC),
        )
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        assert await gdpr_erase.finish_redis(engine, down, erasure.id) is False
    finally:
        await down.aclose()
    assert await gdpr_erase.pending_redis(engine) == [erasure.id]
    assert await redis.exists(key) == 1

    assert await finish_erasures({"engine": engine, "redis": redis}) == 1
    assert await redis.exists(key) == 0
    assert await gdpr_erase.pending_redis(engine) == []
    # Running again finds nothing to do.
    assert await finish_erasures({"engine": engine, "redis": redis}) == 0


async def test_my_export_holds_my_data_and_nobody_elses(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await with_matches(client, engine, await build_world(client, engine))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO reports (reporter_id, reported_id, reason, comment) "
                "VALUES (:basile, :alice, 'other', 'Basile se plaint d''Alice')"
            ),
            {"basile": world.basile.id, "alice": world.alice.id},
        )

    response = await call(client, world.alice, "GET", "/me/export")
    mine = await ok(response)
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "no-store" in response.headers["cache-control"]
    raw = response.text
    assert mine["account"]["email"] == world.alice.email
    assert mine["account"]["phone"] == world.phones["alice"]
    own = {p["id"]: p for p in mine["posts"]}
    assert set(own) == {world.posts["alice"], world.posts["alice_draft"]}
    assert own[world.posts["alice"]]["location"] == {
        "lon": HOME_ALICE[0],
        "lat": HOME_ALICE[1],
        "address": ADDRESS_ALICE,
    }
    assert {m["id"] for m in mine["matches"]} == {
        world.matches["alice_vera"],
        world.matches["alice_victor"],
    }
    assert {m["side"] for m in mine["matches"]} == {"author"}
    # A report about her is a number: not who made it, nor what it says.
    assert mine["reports_about_me"]["count"] == 1
    assert "Basile se plaint" not in raw and str(world.basile.id) not in json.dumps(
        mine["reports_about_me"]
    )
    # Nothing of the others: their contacts, their homes.
    for secret in (
        world.vera.email,
        world.victor.email,
        world.basile.email,
        world.phones["vera"],
        world.phones["basile"],
        ODILE_PHONE,
        f"{HOME_VERA[0]:.6f}",
        f"{HOME_VERA[1]:.6f}",
    ):
        assert secret not in raw

    # A volunteer's export has her home and her side of her matches, not the requester's.
    vera = await ok(await call(client, world.vera, "GET", "/me/export"))
    assert vera["volunteer"]["home"]["lon"] == HOME_VERA[0]
    assert {m["side"] for m in vera["matches"]} == {"volunteer"}
    vera_raw = json.dumps(vera, ensure_ascii=False)
    for secret in (ADDRESS_ALICE, world.alice.email, world.phones["alice"], "Odile"):
        assert secret not in vera_raw
    # Victor's confirmed match with Basile does not bring Basile's contact along.
    victor = json.dumps(await ok(await call(client, world.victor, "GET", "/me/export")))
    assert world.basile.email not in victor and world.phones["basile"] not in victor

    assert (await call(client, None, "GET", "/me/export")).status_code == 401


async def test_only_a_social_worker_acting_for_the_resident_exports_or_erases_them(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world: World = await build_world(client, engine)
    resident = f"/assisted-residents/{world.odile_id}"
    async with engine.connect() as conn:
        last_audit = (
            await conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log"))
        ).scalar()

    others: list[Person | None] = [
        None,
        world.alice,
        world.vera,
        world.stranger,
        world.worker_20,  # a social worker of another centre
        world.admin,
    ]
    for who in others:
        for method, url, body in (
            ("GET", f"{resident}/export", None),
            ("POST", f"{resident}/erasure", {"confirm": True}),
        ):
            response = await call(client, who, method, url, body)
            expected = {401} if who is None else {403, 404}
            assert response.status_code in expected, (who and who.email, response.text)
            assert "Odile" not in response.text and ODILE_PHONE not in response.text
    # Nothing happened to her.
    still = await ok(await call(client, world.worker_18, "GET", resident))
    assert still["display_name"] == "Odile"

    exported = await call(client, world.worker_18, "GET", f"{resident}/export")
    data = await ok(exported)
    assert exported.headers["content-disposition"].startswith("attachment;")
    assert data["account"]["display_name"] == "Odile"
    assert data["account"]["phone"] == ODILE_PHONE
    assert [p["id"] for p in data["posts"]] == [world.posts["odile"]]
    assert len(data["consents"]) == 1

    refused = await call(client, world.worker_18, "POST", f"{resident}/erasure", {})
    assert refused.status_code == 422 and "confirm" in refused.json()["fields"]
    erased = await ok(
        await call(client, world.worker_18, "POST", f"{resident}/erasure", {"confirm": True})
    )
    assert erased["status"] == "erased"
    # She is no longer anyone's to act for.
    for url in (resident, f"{resident}/export"):
        assert (await call(client, world.worker_18, "GET", url)).status_code == 404
    again = await call(client, world.worker_18, "POST", f"{resident}/erasure", {"confirm": True})
    assert again.status_code == 404

    async with engine.connect() as conn:
        traced = (
            await conn.execute(
                text(
                    "SELECT actor_id, action, object_type, object_id FROM audit_log "
                    "WHERE id > :last AND action LIKE 'gdpr.%' ORDER BY id"
                ),
                {"last": last_audit},
            )
        ).all()
        user = (
            await conn.execute(
                text("SELECT status, phone, display_name FROM users WHERE id = :id"),
                {"id": world.odile_id},
            )
        ).one()
        consent = (
            await conn.execute(
                text("SELECT note, withdrawn_at FROM consents WHERE resident_id = :id"),
                {"id": world.odile_id},
            )
        ).one()
    assert [tuple(r) for r in traced] == [
        (world.worker_18.id, "gdpr.export", "user", world.odile_id),
        (world.worker_18.id, "gdpr.erase", "user", world.odile_id),
    ]
    assert (user.status, user.phone, user.display_name) == ("erased", None, ERASED_NAME)
    # The consent stays as proof (who, when, how), withdrawn and without its note.
    assert consent.note is None and consent.withdrawn_at is not None


# ---------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------

LONG_AGO = timedelta(days=3 * 365)
TERRITORY = "MULTIPOLYGON(((2.2 48.7, 2.6 48.7, 2.6 49.0, 2.2 49.0, 2.2 48.7)))"


async def _support_records(
    engine: AsyncEngine, settings: Settings, who: str, at: tuple[float, float], centre: int
) -> dict[str, int]:
    """A request helped then cancelled, reviewed, followed up, reported, consented."""
    volunteer = await matching.volunteer(engine, at)
    author = await matching.author(engine)
    post = await matching.request(engine, settings, author, at=at)
    match = await matching.match_of(engine, post, volunteer)
    async with engine.begin() as conn:
        worker = await matching.user(conn, "Travailleuse")
        await conn.execute(
            text(
                "SELECT set_config('voisins.actor_id', :a, true), "
                "set_config('voisins.reason', :r, true)"
            ),
            {"a": str(author.id), "r": f"Annulé : {who} malade"},
        )
        for status in ("accepted", "confirmed"):
            await conn.execute(
                text("UPDATE matches SET status = :s, confirmed_at = now() WHERE id = :m"),
                {"s": status, "m": match},
            )
        await conn.execute(
            text(
                "UPDATE matches SET status = 'cancelled', closed_at = now(), closed_by = :a, "
                "close_reason = :c, review_reason = :r WHERE id = :m"
            ),
            {
                "a": author.id,
                "c": f"Annulé : {who} malade",
                "r": f"Vu au centre ({who})",
                "m": match,
            },
        )
        await conn.execute(
            text("UPDATE posts SET review_reason = :r, reviewed_at = now() WHERE id = :p"),
            {"r": f"Relu ({who})", "p": post},
        )
        consent = (
            await conn.execute(
                text(
                    "INSERT INTO consents (resident_id, centre_id, obtained_by, obtained_at, "
                    "method, note) VALUES (:r, :c, :w, now(), 'phone', :n) RETURNING id"
                ),
                {"r": author.id, "c": centre, "w": worker, "n": f"Note ({who})"},
            )
        ).scalar_one()
        followup = (
            await conn.execute(
                text(
                    "INSERT INTO followups (person_id, centre_id, reason, contacted_at, "
                    "contacted_by, outcome) VALUES (:p, :c, 'isolated', now(), :w, :o) "
                    "RETURNING id"
                ),
                {"p": author.id, "c": centre, "w": worker, "o": f"Appelé ({who})"},
            )
        ).scalar_one()
        report = (
            await conn.execute(
                text(
                    "INSERT INTO reports (reporter_id, reported_id, reason, comment, resolved_at, "
                    "resolved_by, resolution) VALUES (:v, :a, 'other', :c, now(), :w, :r) "
                    "RETURNING id"
                ),
                {
                    "v": volunteer,
                    "a": author.id,
                    "w": worker,
                    "c": f"Signalement ({who})",
                    "r": f"Résolu ({who})",
                },
            )
        ).scalar_one()
    return {
        "volunteer": volunteer,
        "author": author.id,
        "post": post,
        "match": match,
        "consent": consent,
        "followup": followup,
        "report": report,
    }


async def _age(engine: AsyncEngine, records: dict[str, int]) -> None:
    """Move every date of these records and of their people three years back."""
    params = {**records, "ago": datetime.now(UTC) - LONG_AGO}
    async with engine.begin() as conn:
        for statement in (
            "UPDATE users SET created_at = :ago WHERE id IN (:volunteer, :author)",
            "UPDATE volunteers SET created_at = :ago, updated_at = :ago WHERE user_id = :volunteer",
            "UPDATE posts SET created_at = :ago, published_at = :ago, reviewed_at = :ago "
            "WHERE author_id = :author",
            "UPDATE matches SET proposed_at = :ago, responded_at = :ago, confirmed_at = :ago, "
            "closed_at = :ago, deadline_at = :ago WHERE post_id = :post",
            "UPDATE consents SET obtained_at = :ago, recorded_at = :ago WHERE id = :consent",
            "UPDATE followups SET created_at = :ago, contacted_at = :ago WHERE id = :followup",
            "UPDATE reports SET created_at = :ago, resolved_at = :ago WHERE id = :report",
        ):
            await conn.execute(text(statement), params)


async def _texts(engine: AsyncEngine, records: dict[str, int]) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT (SELECT outcome FROM followups WHERE id = :followup) AS outcome,
                           (SELECT note FROM consents WHERE id = :consent) AS note,
                           (SELECT comment FROM reports WHERE id = :report) AS comment,
                           (SELECT resolution FROM reports WHERE id = :report) AS resolution,
                           (SELECT review_reason FROM posts WHERE id = :post) AS post_review,
                           (SELECT close_reason FROM matches WHERE id = :match) AS close_reason,
                           (SELECT review_reason FROM matches WHERE id = :match) AS match_review,
                           ARRAY(SELECT reason FROM match_history WHERE match_id = :match
                                 AND reason IS NOT NULL ORDER BY id) AS history
                    """
                ),
                records,
            )
        ).one()
    return dict(row._mapping)


async def centre_on_territory(engine: AsyncEngine) -> int:
    """A centre whose territory is ``TERRITORY``, straight in SQL."""
    async with engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "INSERT INTO centres (name, territory) "
                        "VALUES ('Centre social test', ST_GeomFromText(:t, 4326)) RETURNING id"
                    ),
                    {"t": TERRITORY},
                )
            ).scalar_one()
        )


async def test_retention_anonymises_support_records_two_years_after_the_last_contact(
    engine: AsyncEngine, settings: Settings
) -> None:
    centre = await centre_on_territory(engine)
    old = await _support_records(engine, settings, "ancien", matching.CHATELET, centre)
    far = matching.offset(matching.CHATELET, east_m=15_000)
    recent = await _support_records(engine, settings, "récent", far, centre)
    await _age(engine, old)
    recent_before = await _texts(engine, recent)
    assert recent_before["history"] == ["Annulé : récent malade"] * 3

    counts = await apply_retention({"engine": engine, "settings": settings})
    assert counts == {
        "followup_outcomes": 1,
        "consent_notes": 1,
        "report_texts": 1,
        "post_review_reasons": 1,
        "match_reasons": 1,
        "conversation_texts": 0,
        "housing_pairs": 0,
        "housing_applications": 0,
        "audit_log": 0,
    }
    assert await _texts(engine, old) == {
        "outcome": None,
        "note": None,
        "comment": None,
        "resolution": "[effacé]",
        "post_review": None,
        "close_reason": "[effacé]",
        "match_review": "[effacé]",
        "history": [],
    }
    # Two years have not passed for the other records: they stay as they were.
    assert await _texts(engine, recent) == recent_before
    # A second run finds nothing more to do.
    assert set((await apply_retention({"engine": engine, "settings": settings})).values()) == {0}


async def test_a_recent_contact_keeps_an_old_record(
    engine: AsyncEngine, settings: Settings
) -> None:
    """The clock runs from the last contact with the person, not from the record."""
    centre = await centre_on_territory(engine)
    records = await _support_records(engine, settings, "suivi", matching.CHATELET, centre)
    await _age(engine, records)
    async with engine.begin() as conn:
        # A social worker reached the person last week.
        await conn.execute(
            text("UPDATE consents SET recorded_at = now() - interval '7 days' WHERE id = :c"),
            {"c": records["consent"]},
        )
    before = await _texts(engine, records)
    counts = await apply_retention({"engine": engine, "settings": settings})
    assert counts["consent_notes"] == counts["followup_outcomes"] == 0
    after = await _texts(engine, records)
    assert (after["note"], after["outcome"]) == (before["note"], before["outcome"])
