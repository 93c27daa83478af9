"""The conversation pages (issue 15) over the real app: only the two sides (and the
social worker acting for an assisted resident) see them, writing and sharing contacts
work as plain forms, the page closes 30 days after the help ended, and it reads in
English too."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.links import page_path
from voisins.typography import french_spaces

from ..support.conversations import confirmed_pair
from ..support.csrf import csrf_of
from ..support.people import register
from ..support.routes import serves
from ..support.sign_in import sign_in
from ..support.world import build_world, with_matches

_HREF = re.compile(r'\bhref="(/[^"]*)"')
_ACTION = re.compile(r'<form method="post" action="(/[^"]*)"')


async def _page(client: AsyncTestClient, person: Any, match_id: int, status: int = 200) -> str:
    sign_in(client, person)
    shown = await client.get(page_path("conversation_page", match_id=match_id))
    assert shown.status_code == status, shown.text
    return shown.text


async def _write(client: AsyncTestClient, person: Any, match_id: int, words: str) -> Any:
    html = await _page(client, person, match_id)
    return await client.post(
        f"/conversations/{match_id}/messages",
        data={"_csrf_token": csrf_of(html), "text": words},
        follow_redirects=False,
    )


async def test_both_sides_see_the_conversation_and_nobody_else(client: AsyncTestClient) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    stranger = await register(client, "Sam")

    for_alice = await _page(client, alice, match_id)
    assert "Conversation avec Vera" in for_alice
    # Nobody wrote yet: the charter is open, and no number is shown.
    assert '<details class="charter" open>' in for_alice
    assert "tel:" not in for_alice and "06 11 22 33 44" not in for_alice
    assert 'href="/conversations"' in for_alice  # the menu's link
    for_vera = await _page(client, vera, match_id)
    assert "Conversation avec Alice" in for_vera and "06 55 66 77 88" not in for_vera
    assert f'href="/bloquer?mise_en_relation={match_id}"' in for_vera

    listed = (await client.get("/conversations")).text
    assert f'href="/conversations/{match_id}"' in listed and "Alice" in listed

    await _page(client, stranger, match_id, status=404)
    assert f"/conversations/{match_id}" not in (await client.get("/conversations")).text
    await _page(client, stranger, match_id + 10_000, status=404)


async def test_every_link_of_the_conversation_page_leads_to_a_route(
    client: AsyncTestClient,
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    assert (await _write(client, vera, match_id, "Bonjour")).status_code == 303
    html = await _page(client, alice, match_id)
    links, forms = _HREF.findall(html), _ACTION.findall(html)
    assert "/signaler?message=" in html and "/bloquer?mise_en_relation=" in html
    assert len(links) > 10 and len(forms) >= 4
    assert [link for link in links if not serves(client.app, link)] == []
    assert [form for form in forms if not serves(client.app, form, "POST")] == []


async def test_a_message_sent_by_the_form_reaches_the_other_side_marked_read_once_seen(
    client: AsyncTestClient,
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    sent = await _write(client, alice, match_id, "Bonjour Vera, <b>jeudi</b> ?")
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert re.fullmatch(rf"/conversations/{match_id}#message-\d+", location)
    message_id = int(location.rsplit("-", 1)[1])

    mine = await _page(client, alice, match_id)
    assert "Bonjour Vera, &lt;b&gt;jeudi&lt;/b&gt; ?" in mine and "<b>jeudi" not in mine
    assert f"/signaler?message={message_id}" not in mine  # not my own message
    assert '<details class="charter">' in mine  # closed once someone wrote

    sign_in(client, vera)
    assert french_spaces("Messages non lus : 1") in (await client.get("/conversations")).text
    theirs = await _page(client, vera, match_id)
    assert "Bonjour Vera, &lt;b&gt;jeudi&lt;/b&gt; ?" in theirs
    assert f'href="/signaler?message={message_id}"' in theirs
    # Shown, so read.
    assert "Messages non lus" not in (await client.get("/conversations")).text

    # An empty message: the form again, with what is wrong, nothing written.
    empty = await _write(client, vera, match_id, "   ")
    assert empty.status_code == 422 and 'id="text-error"' in empty.text


async def test_older_messages_are_a_link_away(client: AsyncTestClient, engine: AsyncEngine) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO conversation_messages (match_id, side, author_id, on_behalf, body, "
                "created_at) SELECT :m, 'volunteer', :v, false, 'message ' || n, now() "
                "FROM generate_series(1, 55) AS n"
            ),
            {"m": match_id, "v": vera.id},
        )
    latest = await _page(client, alice, match_id)
    assert "message 55" in latest and "message 6<" in latest and "message 5<" not in latest
    older = re.search(rf'href="(/conversations/{match_id}\?avant=\d+)"', latest)
    assert older, "no link to the older messages"
    sign_in(client, alice)
    earlier = (await client.get(older.group(1))).text
    assert "message 5<" in earlier and "message 1<" in earlier and "message 6<" not in earlier


async def test_sharing_my_phone_from_the_conversation_shows_it_to_the_other_side(
    client: AsyncTestClient,
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    html = await _page(client, vera, match_id)
    shared = await client.post(
        f"/conversations/{match_id}/coordonnees",
        data={"_csrf_token": csrf_of(html), "phone": "1"},
        follow_redirects=False,
    )
    assert shared.status_code == 303, shared.text
    mine = (await client.get(shared.headers["location"])).text
    assert 'name="phone" value="1" checked' in mine and 'name="email" value="1" checked' not in mine
    for_alice = await _page(client, alice, match_id)
    assert 'href="tel:0611223344"' in for_alice and "mailto:" not in for_alice

    # Taken back: unticked boxes are not sent at all.
    html = await _page(client, vera, match_id)
    await client.post(f"/conversations/{match_id}/coordonnees", data={"_csrf_token": csrf_of(html)})
    assert "tel:" not in await _page(client, alice, match_id)


async def test_thirty_days_after_the_end_the_conversation_is_read_only(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    assert (await _write(client, alice, match_id, "Merci encore")).status_code == 303
    html = await _page(client, vera, match_id)
    await client.post(
        f"/conversations/{match_id}/coordonnees",
        data={"_csrf_token": csrf_of(html), "phone": "1", "email": "1"},
    )
    assert "tel:" in await _page(client, alice, match_id)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE matches SET closed_at = now() - interval '31 days' WHERE id = :m"),
            {"m": match_id},
        )
    closed = await _page(client, alice, match_id)
    assert "il y a plus de 30 jours" in closed and "Merci encore" in closed
    assert f'action="/conversations/{match_id}/messages"' not in closed
    assert f'action="/conversations/{match_id}/coordonnees"' not in closed
    assert "tel:" not in closed and "mailto:" not in closed
    # A form sent from a page left open: refused, said on the page.
    refused = await client.post(
        f"/conversations/{match_id}/messages",
        data={"_csrf_token": csrf_of(closed), "text": "Encore un mot"},
    )
    assert refused.status_code == 409 and "il y a plus de 30 jours" in refused.text
    assert "Encore un mot" not in await _page(client, vera, match_id)
    sign_in(client, alice)
    assert french_spaces("Fermée : lecture seule") in (await client.get("/conversations")).text


async def test_the_page_reads_in_english(client: AsyncTestClient) -> None:
    alice, _vera, match_id = await confirmed_pair(client)
    # The account's language comes before the page's switch.
    chosen = await client.patch("/api/v1/me", json={"locale": "en"}, headers=alice.headers)
    assert chosen.status_code == 200, chosen.text
    sign_in(client, alice)
    shown = await client.get(f"/conversations/{match_id}")
    assert shown.status_code == 200
    assert '<html lang="en"' in shown.text
    assert "Conversation with Vera" in shown.text and "Send" in shown.text
    assert "Conversation avec" not in shown.text
    listed = await client.get("/conversations")
    assert "My conversations" in listed.text


async def test_before_confirmation_the_page_says_it_opens_later_and_the_worker_writes_for_odile(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    """A sensitive visit for Odile (assisted) waits for the centre's approval: the
    conversation opens then, and her social worker writes in it, signed as such."""
    world = await with_matches(client, engine, await build_world(client, engine))
    client.cookies.clear()
    match_id = world.matches["odile_vera_1"]
    waiting = await _page(client, world.vera, match_id, status=409)
    assert "pas encore ouverte" in waiting
    await _page(client, world.worker_18, match_id, status=409)
    # The other centre's worker does not act for Odile: nothing there.
    await _page(client, world.worker_20, match_id, status=404)

    approved = await client.post(
        f"/api/v1/matches/{match_id}/approve",
        json={"reason": "Bénévole connue du centre"},
        headers=world.worker_18.headers,
    )
    assert approved.json()["status"] == "confirmed", approved.text
    async with engine.connect() as conn:
        worker_name = (
            await conn.execute(
                text("SELECT display_name FROM users WHERE id = :u"), {"u": world.worker_18.id}
            )
        ).scalar_one()

    for_worker = await _page(client, world.worker_18, match_id)
    assert "Vous écrivez pour Odile" in for_worker
    assert f'href="/bloquer?mise_en_relation={match_id}"' not in for_worker
    sent = await _write(client, world.worker_18, match_id, "Odile vous attend jeudi")
    assert sent.status_code == 303, sent.text
    for_vera = await _page(client, world.vera, match_id)
    assert f"{worker_name}, pour Odile" in for_vera and "Odile vous attend jeudi" in for_vera
    # The followed post's page links the conversation.
    sign_in(client, world.worker_18)
    followed = await client.get(f"/annonces/{world.posts['odile_1']}")
    assert f'href="/conversations/{match_id}"' in followed.text
    await _page(client, world.worker_20, match_id, status=404)
