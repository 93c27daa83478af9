"""The volunteer's pages over the real app (HTTP level): the profile form, the
propositions near me (bands only before confirmation), accept and decline with the
CSRF token, and my matches.

Over 400 lines: the volunteer's whole page journey, on one seeded world."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.typography import french_spaces

from ..support.csrf import csrf_of, form_token
from ..support.people import register
from ..support.sign_in import HTMX, sign_in
from ..support.world import (
    ADDRESS_ALICE,
    HOME_ALICE,
    HOME_VERA,
    World,
    build_world,
    post_body,
    volunteer_body,
    with_matches,
)

SIX_DECIMALS = re.compile(r"\d\.\d{6}")


@pytest.fixture
async def world(client: AsyncTestClient, engine: AsyncEngine) -> World:
    world = await with_matches(client, engine, await build_world(client, engine))
    client.cookies.clear()
    return world


async def test_pages_without_a_session_go_to_the_login_page_and_back(
    client: AsyncTestClient,
) -> None:
    for path in ("/benevole", "/propositions", "/mes-aides"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/connexion?suite={path}"


async def test_the_profile_is_saved_through_the_form_and_shown_again(
    client: AsyncTestClient,
) -> None:
    camille = await register(client, "Camille")
    sign_in(client, camille)
    first = await client.get("/benevole")
    assert first.status_code == 200
    assert "Mon profil bénévole" in first.text and 'data-radius-input="radius_km"' in first.text
    saved = await client.post(
        "/benevole",
        data={
            "_csrf_token": csrf_of(first.text),
            "lat": "48.886641",
            "lon": "2.355713",
            "address": "",
            "radius_km": "4.5",
            "categories": ["courses", "aide_numerique"],
            "slots": ["1-matin", "3-apres-midi", "3-soir"],
            "skills": "cuisine, couture",
            "languages": ["fr", "ar"],
            "max_active_matches": "2",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/benevole?enregistre=1"

    shown = await client.get("/benevole?enregistre=1")
    assert 'role="status"' in shown.text
    assert 'name="radius_km" type="range" min="0.5" max="20" step="0.5" value="4.5"' in shown.text
    for ticked in ("slot-1-matin", "slot-3-apres-midi", "slot-3-soir", "cat-courses", "lang-ar"):
        assert re.search(rf'id="{ticked}"[^>]*checked', shown.text), ticked
    for unticked in ("slot-1-soir", "slot-2-matin", "cat-pret_don"):
        assert not re.search(rf'id="{unticked}"[^>]*checked', shown.text), unticked
    assert 'value="couture, cuisine"' in shown.text  # kept sorted

    # What the page saved is what the API reads: the same service.
    client.cookies.clear()
    profile = (await client.get("/api/v1/me/volunteer", headers=camille.headers)).json()
    assert profile["radius_km"] == 4.5
    assert profile["availability"] == [
        {"day": 1, "start": "08:00", "end": "12:00"},
        {"day": 3, "start": "12:00", "end": "22:00"},
    ]
    assert profile["categories"] == ["aide_numerique", "courses"]
    assert profile["max_active_matches"] == 2


async def test_a_profile_without_place_or_kind_of_help_is_sent_back_with_linked_errors(
    client: AsyncTestClient,
) -> None:
    camille = await register(client, "Camille")
    sign_in(client, camille)
    refused = await client.post(
        "/benevole",
        data={
            "_csrf_token": await form_token(client, "/benevole"),
            "radius_km": "3",
            "languages": ["fr"],
            "slots": ["2-soir"],
        },
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    # One message at a time: the first refused field is named and linked.
    assert 'aria-describedby="categories-error"' in refused.text
    assert 'id="categories-error"' in refused.text
    assert "Cochez au moins une sorte d&#39;aide." in refused.text
    assert re.search(r'id="slot-2-soir"[^>]*checked', refused.text)  # kept
    refused = await client.post(
        "/benevole",
        data={
            "_csrf_token": await form_token(client, "/benevole"),
            "radius_km": "3",
            "categories": ["courses"],
            "languages": ["fr"],
        },
    )
    assert refused.status_code == 422
    assert 'id="location-error"' in refused.text
    assert "Placez l&#39;épingle sur la carte, ou entrez votre adresse." in refused.text
    client.cookies.clear()
    missing = await client.get("/api/v1/me/volunteer", headers=camille.headers)
    assert missing.status_code == 404  # nothing was written


async def test_volunteer_pages_are_refused_to_staff_as_a_page(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.worker_18)
    refused = await client.get("/benevole")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "Accès refusé" in refused.text and "Espace du centre" in refused.text


async def test_propositions_show_bands_only_until_the_match_is_confirmed(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.vera)
    listing = await client.get("/propositions")
    assert listing.status_code == 200
    match_id = world.matches["alice_vera"]
    assert f'id="proposition-{match_id}"' in listing.text
    assert "Courses du samedi" in listing.text
    assert re.search(r"moins de 1 km|\d+ à \d+ km", listing.text)
    # Why it came to her: the category she helps with, a language in common (Vera
    # speaks French and Arabic), whether she is free, the distance band.
    card = listing.text.split(f'id="proposition-{match_id}"', 1)[1].split("<form", 1)[0]
    assert "Pourquoi vous" in card and french_spaces("Vous aidez pour : Courses") in card
    assert re.search(r"Distance\u00a0: (moins de 1 km|\d+ à \d+ km)", card)
    # Neither who asks nor where, before confirmation.
    assert "Alice" not in listing.text
    assert ADDRESS_ALICE not in listing.text and world.phones["alice"] not in listing.text
    assert not SIX_DECIMALS.search(listing.text)
    # The sensitive visits Vera accepted wait for review: not among the propositions.
    assert f'id="proposition-{world.matches["odile_vera_1"]}"' not in listing.text

    refused = await client.post(f"/propositions/{match_id}/accepter")
    assert refused.status_code == 403  # no CSRF token: a page that says so, not JSON
    assert "Formulaire expiré" in refused.text
    assert refused.headers["content-type"].startswith("text/html")

    accepted = await client.post(
        f"/propositions/{match_id}/accepter",
        data={"_csrf_token": csrf_of(listing.text)},
        headers=HTMX,
    )
    assert accepted.status_code == 200, accepted.text
    card = accepted.text
    assert card.lstrip().startswith(f'<li class="card" id="proposition-{match_id}"')
    assert "Confirmée" in card and "Alice" in card
    # The exact address is revealed on confirmation; the phone only once Alice shares it
    # from the conversation (issue 15).
    assert ADDRESS_ALICE in card and world.phones["alice"] not in card

    mine = await client.get("/mes-aides")
    assert mine.status_code == 200
    assert "Alice" in mine.text and ADDRESS_ALICE in mine.text
    assert "En attente de validation par le centre social" in mine.text  # Odile's visits


async def test_declining_with_a_plain_form_goes_back_to_the_list(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.victor)
    match_id = world.matches["alice_victor"]
    listing = await client.get("/propositions")
    assert f'id="proposition-{match_id}"' in listing.text
    declined = await client.post(
        f"/propositions/{match_id}/refuser",
        data={"_csrf_token": csrf_of(listing.text)},
        follow_redirects=False,
    )
    assert declined.status_code == 303
    assert declined.headers["location"] == "/propositions"
    after = await client.get("/propositions")
    assert f'id="proposition-{match_id}"' not in after.text
    past = await client.get("/mes-aides")
    assert "Refusée par vous" in past.text

    # Answering twice: the page says it is no longer possible (409), in the layout.
    again = await client.post(
        f"/propositions/{match_id}/refuser", data={"_csrf_token": csrf_of(after.text)}
    )
    assert again.status_code == 409
    assert "Ce n&#39;est plus possible" in again.text


async def test_a_proposition_of_someone_else_is_not_found(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.victor)
    listing = await client.get("/propositions")
    other = await client.post(
        f"/propositions/{world.matches['alice_vera']}/accepter",
        data={"_csrf_token": csrf_of(listing.text)},
    )
    assert other.status_code == 404
    assert "Page introuvable" in other.text


async def test_a_confirmed_match_is_cancelled_only_with_a_reason(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.victor)
    match_id = world.matches["basile_victor"]
    mine = await client.get("/mes-aides")
    # Contacts are a choice (issue 15): Basile shared nothing from the conversation.
    assert world.phones["basile"] not in mine.text
    refused = await client.post(
        f"/mes-aides/{match_id}/annuler", data={"_csrf_token": csrf_of(mine.text), "reason": ""}
    )
    assert refused.status_code == 422
    assert f'aria-describedby="raison-{match_id}-erreur"' in refused.text
    cancelled = await client.post(
        f"/mes-aides/{match_id}/annuler",
        data={"_csrf_token": csrf_of(mine.text), "reason": "Je suis malade"},
        headers=HTMX,
    )
    assert cancelled.status_code == 200
    assert "Annulée" in cancelled.text


async def test_a_proposition_taken_meanwhile_is_said_on_its_card(
    client: AsyncTestClient, world: World
) -> None:
    sign_in(client, world.victor)
    listing = await client.get("/propositions")
    victors = world.matches["alice_victor"]
    assert f'id="proposition-{victors}"' in listing.text
    # Vera takes Alice's only place while Victor's page is open (the bearer token wins
    # over Victor's cookie).
    taken = await client.post(
        f"/api/v1/matches/{world.matches['alice_vera']}/accept", headers=world.vera.headers
    )
    assert taken.status_code == 200, taken.text
    late = await client.post(
        f"/propositions/{victors}/accepter",
        data={"_csrf_token": csrf_of(listing.text)},
        headers=HTMX,
    )
    assert late.status_code == 200  # htmx swaps the card, which says why
    assert 'role="alert"' in late.text and "n&#39;est plus ouverte" in late.text
    assert "Alice" not in late.text and ADDRESS_ALICE not in late.text


async def test_a_confirmed_match_is_marked_done(client: AsyncTestClient, world: World) -> None:
    sign_in(client, world.victor)
    match_id = world.matches["basile_victor"]
    mine = await client.get("/mes-aides")
    done = await client.post(
        f"/mes-aides/{match_id}/terminer", data={"_csrf_token": csrf_of(mine.text)}, headers=HTMX
    )
    assert done.status_code == 200
    assert french_spaces("Merci pour votre aide !") in done.text and "Terminée" in done.text
    after = await client.get("/mes-aides")
    past = after.text.split('id="passees"', 1)[1]
    assert f'id="proposition-{match_id}"' in past


async def test_after_the_help_the_volunteer_gives_feedback_once(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    sign_in(client, world.victor)
    match_id = world.matches["basile_victor"]
    mine = await client.get("/mes-aides")
    token = csrf_of(mine.text)
    await client.post(f"/mes-aides/{match_id}/terminer", data={"_csrf_token": token}, headers=HTMX)
    done = await client.get("/mes-aides")
    assert f'action="/mes-aides/{match_id}/avis"' in done.text
    sent = await client.post(
        f"/mes-aides/{match_id}/avis",
        data={"_csrf_token": csrf_of(done.text), "kind": "no_show"},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    async with engine.connect() as conn:
        kind = (
            await conn.execute(
                text("SELECT kind FROM feedback WHERE match_id = :m AND author_id = :v"),
                {"m": match_id, "v": world.victor.id},
            )
        ).scalar()
    assert kind == "no_show"
    after = await client.get("/mes-aides")
    assert f'action="/mes-aides/{match_id}/avis"' not in after.text
    assert "La personne n&#39;était pas là." in after.text


async def _also_proposed_to(engine: AsyncEngine, like: int, post_id: int, shift: timedelta) -> int:
    """Another open proposition for the volunteer of match ``like``, proposed ``shift``
    after it (the matcher proposes one request per volunteer in this world)."""
    async with engine.begin() as conn:
        made = (
            await conn.execute(
                text(
                    "INSERT INTO matches (post_id, volunteer_id, sensitive, score, "
                    "score_breakdown, distance_m, proposed_at, deadline_at) "
                    "SELECT :post, volunteer_id, false, score, score_breakdown, distance_m, "
                    "proposed_at + :shift, deadline_at FROM matches WHERE id = :like "
                    "RETURNING id"
                ),
                {"post": post_id, "shift": shift, "like": like},
            )
        ).scalar_one()
    return int(made)


def _cards(html: str) -> list[str]:
    """The cards of the live list, in the order shown, each as its own text."""
    listing = html.split('id="propositions"', 1)[1]
    return re.split(r'(?=<li class="card")', listing)[1:]


def _card_ids(html: str) -> list[int]:
    return [int(re.search(r'id="proposition-(\d+)"', card)[1]) for card in _cards(html)]  # type: ignore[index]


async def test_the_live_refresh_keeps_a_card_answered_here_in_its_place(
    client: AsyncTestClient, world: World, engine: AsyncEngine
) -> None:
    accepted_id = world.matches["alice_vera"]
    newer = await _also_proposed_to(engine, accepted_id, world.posts["odile"], timedelta(minutes=5))
    older = await _also_proposed_to(
        engine, accepted_id, world.posts["outside"], -timedelta(minutes=5)
    )
    sign_in(client, world.vera)
    listing = await client.get("/propositions")
    assert _card_ids(listing.text) == [newer, accepted_id, older]
    # The live list sends the ids of the cards answered here (the answered card's input
    # belongs to the page's form "gardees", which the list includes).
    assert 'hx-include="#gardees"' in listing.text and '<form id="gardees" hidden>' in listing.text

    accepted = await client.post(
        f"/propositions/{accepted_id}/accepter",
        data={"_csrf_token": csrf_of(listing.text)},
        headers=HTMX,
    )
    assert accepted.status_code == 200, accepted.text
    hold = f'<input type="hidden" name="gardees" value="{accepted_id}" form="gardees">'
    assert hold in accepted.text

    # Without the ids (as before), the refresh dropped the answered card and the older
    # card's « J'accepte » took its place.
    assert _card_ids((await client.get("/propositions", headers=HTMX)).text) == [newer, older]

    # The refresh as the page sends it: the answered card stays where it was, with its
    # answer and the contact (Alice's request needs no review: confirmed at once); the
    # others keep their buttons around it, in the same order. Someone else's match and
    # what is not an id are ignored.
    others = world.matches["alice_victor"]
    refreshed = await client.get(
        "/propositions",
        params=[
            ("gardees", str(accepted_id)),
            ("gardees", str(others)),
            ("gardees", "x1"),
            ("gardees", "9" * 40),
        ],
        headers=HTMX,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert _card_ids(refreshed.text) == [newer, accepted_id, older]
    first, kept, last = _cards(refreshed.text)
    assert hold in kept  # kept again on the next refresh
    assert "Confirmée" in kept and "C&#39;est confirmé" in kept
    assert "Alice" in kept and ADDRESS_ALICE in kept
    assert world.phones["alice"] not in kept  # not shared from the conversation
    assert "/accepter" not in kept
    for card in (first, last):
        assert "/accepter" in card and "gardees" not in card


async def test_a_language_in_common_is_said_on_the_card_by_its_name(
    client: AsyncTestClient, world: World
) -> None:
    """A request in Arabic reaches Leila, who speaks it: the card names the language."""
    leila = await register(client, "Leila")
    profile = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=leila.headers
    )
    assert profile.status_code == 200, profile.text
    nadia = await register(client, "Nadia")
    response = await client.post(
        "/api/v1/posts",
        json=post_body(HOME_ALICE, title="Courses en arabe", languages=["ar"]),
        headers=nadia.headers,
    )
    assert response.status_code == 201, response.text
    sign_in(client, leila)
    listing = await client.get("/propositions")
    assert listing.status_code == 200, listing.text
    card = listing.text.split("Courses en arabe", 1)[1].split("<form", 1)[0]
    assert french_spaces("Langue parlée en commun : Arabe") in card, card
