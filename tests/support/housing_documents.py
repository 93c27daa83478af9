"""The housing documents in tests: a second pair whose host logs in herself (Alice hosts
Sam, both with accounts, so both download), and the text of a PDF as one line."""

from __future__ import annotations

import io
from datetime import date

from babel.dates import format_date
from litestar.testing import AsyncTestClient
from pypdf import PdfReader

from .housing import API, Housing, host_body, ok, pair_up, step, vet, years_ago, young_body
from .typography import as_typed
from .world import HOME_ALICE, World

ALICE_HOME_ADDRESS = "14 rue Myrha, 4e étage gauche"
# Sam's place of work (exact, private): a bakery on the rue des Poissonniers.
WORK_SAM = (2.351211, 48.890133)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, French no-break spaces made plain and every run of spaces and
    line breaks one space (a name or an address may be broken across lines)."""
    reader = PdfReader(io.BytesIO(pdf))
    raw = " ".join(page.extract_text() or "" for page in reader.pages)
    return " ".join(as_typed(raw).split())


def day_fr(iso: str) -> str:
    """A date as the documents write it (« 6 décembre 2026 », « 1er mars 2027 »)."""
    day = date.fromisoformat(iso)
    written = str(format_date(day, "d MMMM y", locale="fr"))
    return "1er" + written[1:] if day.day == 1 else written


async def alice_hosts_sam(client: AsyncTestClient, world: World, *, trial: bool = True) -> Housing:
    """Alice (78) applies herself to host Sam (the world's stranger, 24, a baker's
    apprentice); vetted, proposed, introduced and, with ``trial``, moved in 4 days ago."""
    host = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=host_body(
                world.centre_18,
                location={
                    "lon": HOME_ALICE[0],
                    "lat": HOME_ALICE[1],
                    "address": ALICE_HOME_ADDRESS,
                },
                formulas=["modest_rent"],
                monthly_eur=280,
            ),
            headers=world.alice.headers,
        )
    )
    young = await ok(
        await client.post(
            f"{API}/housing/applications",
            json=young_body(
                world.centre_18,
                birth_date=years_ago(24, days=40),
                location={"lon": WORK_SAM[0], "lat": WORK_SAM[1]},
                formulas=["modest_rent"],
                monthly_eur=300,
                occupation="apprentice",
                occupation_detail="CAP boulanger",
            ),
            headers=world.stranger.headers,
        )
    )
    world.exact_points.extend([HOME_ALICE, WORK_SAM])
    world.addresses.append(ALICE_HOME_ADDRESS)
    await vet(client, world, host["id"], young["id"], days_ago=30)
    pair_id = await pair_up(client, world, host["id"], young["id"])
    url = f"/housing/pairs/{pair_id}"
    await step(client, world.worker_18, url, "meeting", 7)
    if trial:
        await step(client, world.worker_18, url, "trial", 4)
    return Housing(host_application=host["id"], young_application=young["id"], pair=pair_id)
