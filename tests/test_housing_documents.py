"""The pair's documents (issue 16): the charter and the agreement of the cohabitation
intergénérationnelle solidaire, drawn up as PDF by the centre's social worker from the
pair's data, read back as text; when each may be drawn up; who downloads them (the
centre and the two people once introduced; anyone else the 404 of an unknown id); and
that they go with the pair."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .support.housing import (
    API,
    ODILE_HOME_ADDRESS,
    end,
    in_trial,
    ok,
    proposed,
)
from .support.housing import step as record_step
from .support.housing_documents import ALICE_HOME_ADDRESS, alice_hosts_sam, day_fr, pdf_text
from .support.people import Person
from .support.world import build_world


async def generate(client: AsyncTestClient, pair_id: int, kind: str, who: Person) -> Any:
    return await client.post(
        f"{API}/housing/pairs/{pair_id}/documents", json={"kind": kind}, headers=who.headers
    )


async def download(client: AsyncTestClient, pair_id: int, document_id: int, who: Person) -> Any:
    return await client.get(
        f"{API}/housing/pairs/{pair_id}/documents/{document_id}", headers=who.headers
    )


async def test_the_agreement_and_the_charter_state_the_pair_s_terms(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    housing = await in_trial(client, world, moved_in_days_ago=5)
    assert housing.pair is not None
    pair = await ok(
        await client.get(f"{API}/housing/pairs/{housing.pair}", headers=world.worker_18.headers),
        200,
    )
    texts = {}
    async with engine.connect() as conn:
        audited_before = (
            await conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log"))
        ).scalar_one()
    for kind, filename in (
        ("agreement", f"convention-binome-{housing.pair}.pdf"),
        ("charter", f"charte-binome-{housing.pair}.pdf"),
    ):
        info = await ok(await generate(client, housing.pair, kind, world.worker_18))
        assert info["kind"] == kind
        response = await download(client, housing.pair, info["id"], world.worker_18)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
        assert response.headers["cache-control"] == "no-store"
        assert response.content.startswith(b"%PDF-")
        assert hashlib.sha256(response.content).hexdigest() == info["sha256"]
        texts[kind] = pdf_text(response.content)
    for kind, content in texts.items():
        for expected in (
            "Odile",
            "Basile",
            ODILE_HOME_ADDRESS,
            "Centre social Goutte d'Or",
            "Contribution solidaire aux charges du logement",
            "150 € par mois",
            f"du {day_fr(pair['trial_started_on'])} au {day_fr(pair['trial_ends_on'])}",
            "L.118-1",
            "(78 ans)" if kind == "charter" else "âgé·e de 78 ans",
        ):
            assert expected in content, (kind, expected)
    agreement, charter = texts["agreement"], texts["charter"]
    assert "Convention de cohabitation intergénérationnelle solidaire" in agreement
    assert "ELAN" in agreement and "Période d'essai" in agreement
    # The services both agreed on: Odile hopes for them, Basile offers them.
    assert "menus services suivants : présence le soir, aide au numérique." in agreement
    assert "Charte de la cohabitation intergénérationnelle solidaire" in charter
    for commitment in (
        "Le respect mutuel",
        "La présence",
        "L'intimité et la vie privée",
        "Les services ne sont pas un emploi",
        "Le suivi par le centre social",
    ):
        assert commitment in charter, commitment
    listed = await ok(
        await client.get(f"{API}/housing/pairs/{housing.pair}", headers=world.worker_18.headers),
        200,
    )
    assert [d["kind"] for d in listed["documents"]] == ["agreement", "charter"]
    async with engine.connect() as conn:
        actions = (
            await conn.execute(
                # The audit log is append-only and outlives each test: this test's rows.
                text(
                    "SELECT action, count(*) FROM audit_log WHERE action LIKE 'housing_document.%' "
                    "AND id > :before GROUP BY action ORDER BY action"
                ),
                {"before": audited_before},
            )
        ).all()
    assert [tuple(a) for a in actions] == [
        ("housing_document.generate", 2),
        ("housing_document.read", 2),
    ]


async def test_no_agreement_before_a_trial_nor_any_document_once_ended(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world, _, pair_id = await proposed(client, engine)
    for kind in ("charter", "agreement"):
        early = await generate(client, pair_id, kind, world.worker_18)
        assert early.status_code == 409, early.text
        assert early.json()["fields"] == {"kind": kind}
    await record_step(client, world.worker_18, f"/housing/pairs/{pair_id}", "meeting", 3)
    await ok(await generate(client, pair_id, "charter", world.worker_18))
    refused = await generate(client, pair_id, "agreement", world.worker_18)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == "no agreement before a trial period"
    assert refused.json()["fields"] == {"kind": "agreement"}
    await record_step(client, world.worker_18, f"/housing/pairs/{pair_id}", "trial", 1)
    await ok(await generate(client, pair_id, "agreement", world.worker_18))
    await record_step(client, world.worker_18, f"/housing/pairs/{pair_id}", "agreement", 0)
    await ok(await generate(client, pair_id, "agreement", world.worker_18))
    await end(client, world.worker_18, f"/housing/pairs/{pair_id}", "moved")
    for kind in ("charter", "agreement"):
        late = await generate(client, pair_id, kind, world.worker_18)
        assert late.status_code == 409, late.text
    async with engine.connect() as conn:
        kinds = (
            await conn.execute(
                text("SELECT kind FROM housing_documents WHERE pair_id = :p ORDER BY id"),
                {"p": pair_id},
            )
        ).scalars()
        assert list(kinds) == ["charter", "agreement", "agreement"]


async def test_the_two_people_download_and_nobody_else_learns_the_documents_exist(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    odile_basile = await in_trial(client, world)
    alice_sam = await alice_hosts_sam(client, world)
    assert odile_basile.pair is not None and alice_sam.pair is not None
    pair_id = alice_sam.pair
    # A person of the pair does not draw up its documents; one not in it is not told it exists.
    assert (await generate(client, pair_id, "charter", world.alice)).status_code == 403
    assert (await generate(client, pair_id, "charter", world.stranger)).status_code == 403
    for who in (world.basile, world.vera, world.worker_20, world.admin):
        assert (await generate(client, pair_id, "agreement", who)).status_code == 404, who.role
    charter = await ok(await generate(client, pair_id, "charter", world.worker_18))
    agreement = await ok(await generate(client, pair_id, "agreement", world.worker_18))
    other = await ok(await generate(client, odile_basile.pair, "agreement", world.worker_18))
    for who in (world.alice, world.stranger, world.worker_18):
        for document in (charter, agreement):
            response = await download(client, pair_id, document["id"], who)
            assert response.status_code == 200, (who.role, response.text)
            assert hashlib.sha256(response.content).hexdigest() == document["sha256"]
    sam_reads = pdf_text((await download(client, pair_id, agreement["id"], world.stranger)).content)
    assert ALICE_HOME_ADDRESS in sam_reads and "280 € par mois" in sam_reads
    assert "Loyer modeste" in sam_reads and "CAP boulanger" in sam_reads
    made_up = await download(client, pair_id, other["id"] + 1000, world.alice)
    assert made_up.status_code == 404
    # Another pair's document under this pair's address: the same answer as a made-up id.
    crossed = await download(client, pair_id, other["id"], world.alice)
    assert crossed.status_code == 404 and crossed.content == made_up.content
    unknown_pair = await download(client, pair_id + 1000, charter["id"], world.vera)
    for who in (world.vera, world.basile, world.worker_20, world.admin):
        for document in (charter, agreement):
            refused = await download(client, pair_id, document["id"], who)
            assert refused.status_code == 404, who.role
            assert refused.content == unknown_pair.content, who.role


async def test_before_the_introduction_the_people_do_not_see_the_documents(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    alice_sam = await alice_hosts_sam(client, world, trial=False)
    assert alice_sam.pair is not None
    charter = await ok(await generate(client, alice_sam.pair, "charter", world.worker_18))
    async with engine.begin() as conn:
        # As if the meeting had not happened: the pair is only proposed.
        await conn.execute(
            text(
                "UPDATE housing_pairs SET status = 'proposed', introduced_on = NULL WHERE id = :p"
            ),
            {"p": alice_sam.pair},
        )
    for who in (world.alice, world.stranger):
        refused = await download(client, alice_sam.pair, charter["id"], who)
        assert refused.status_code == 404, refused.text
    assert (
        await download(client, alice_sam.pair, charter["id"], world.worker_18)
    ).status_code == 200


async def test_the_documents_go_with_the_pair(client: AsyncTestClient, engine: AsyncEngine) -> None:
    world = await build_world(client, engine)
    housing = await in_trial(client, world)
    assert housing.pair is not None
    for kind in ("charter", "agreement"):
        await ok(await generate(client, housing.pair, kind, world.worker_18))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM housing_pairs WHERE id = :p"), {"p": housing.pair})
    async with engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM housing_documents"))).scalar()
    assert left == 0


async def test_the_openapi_document_describes_the_pdf_download(client: AsyncTestClient) -> None:
    schema = await ok(await client.get("/schema/openapi.json"), 200)
    base = "/api/v1/housing/pairs/{pair_id}/documents"
    generate_op = schema["paths"][base]["post"]
    assert generate_op["operationId"] == "generateHousingDocument"
    assert "201" in generate_op["responses"] and "409" in generate_op["responses"]
    download_op = schema["paths"][base + "/{document_id}"]["get"]
    assert download_op["operationId"] == "getHousingDocument"
    assert "application/pdf" in download_op["responses"]["200"]["content"]
