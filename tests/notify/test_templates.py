from __future__ import annotations

import msgspec
import pytest

from tests.notify.samples import LONG, PLAIN, message
from voisins.notify.channels import KINDS, SMS_MAX_CHARS, TRANSACTIONAL_KINDS, Message
from voisins.notify.channels.base import PermanentError
from voisins.notify.channels.render import TEMPLATES_DIR, render_email, render_sms

BASE = "https://voisins.example.org"
UNSUBSCRIBE = BASE + "/unsubscribe/42.token"
CASES = [(kind, locale) for kind in KINDS for locale in ("fr", "en")]


def test_every_template_file_belongs_to_a_known_kind() -> None:
    expected = {f"{kind}.{locale}" for kind, locale in CASES}
    for folder, suffixes in (("email", (".txt", ".html")), ("sms", (".txt",))):
        for suffix in suffixes:
            found = {
                path.name.removesuffix(suffix)
                for path in (TEMPLATES_DIR / folder).glob("*" + suffix)
                if not path.name.startswith("_")
            }
            assert found == expected, (folder, suffix)


@pytest.mark.parametrize(("kind", "locale"), CASES)
def test_email_renders_subject_text_and_html_with_links(kind: str, locale: str) -> None:
    unsubscribe = None if kind in TRANSACTIONAL_KINDS else UNSUBSCRIBE
    rendered = render_email(message(kind, locale), base_url=BASE, unsubscribe_url=unsubscribe)
    assert rendered.subject and "\n" not in rendered.subject
    assert "{" not in rendered.subject + rendered.text + rendered.html
    greeting = "Bonjour Jeanne," if locale == "fr" else "Hello Jeanne,"
    assert rendered.text.startswith(greeting)
    assert f'<html lang="{locale}">' in rendered.html
    # The mail's one link: a reset link, else ``url`` (account notices have one too).
    link = BASE + (
        "/password/reset/abcdef" if "reset_url" in KINDS[kind].required else "/matches/12"
    )
    assert link in rendered.text and f'href="{link}"' in rendered.html
    if unsubscribe:
        assert unsubscribe in rendered.text and f'href="{unsubscribe}"' in rendered.html
    else:
        assert "unsubscribe" not in rendered.text + rendered.html


def test_french_and_english_subjects_of_a_proposal() -> None:
    fr = render_email(message("match.proposed", "fr"), base_url=BASE, unsubscribe_url=None)
    en = render_email(message("match.proposed", "en"), base_url=BASE, unsubscribe_url=None)
    assert fr.subject == "Nouvelle proposition près de chez vous"
    assert en.subject == "A new request near you"
    assert "moins de 1 km" in fr.text


def test_optional_lines_appear_only_when_given() -> None:
    spec = KINDS["match.rejected"]
    with_reason = message("match.rejected")
    without = Message(
        delivery_id=1,
        recipient_id=1,
        kind="match.rejected",
        locale="fr",
        recipient_name="Jeanne",
        context={key: PLAIN[key] for key in spec.required},
    )
    assert "La raison" in render_email(with_reason, base_url=BASE, unsubscribe_url=None).text
    assert "La raison" not in render_email(without, base_url=BASE, unsubscribe_url=None).text


def test_digest_lists_every_item_with_absolute_links() -> None:
    rendered = render_email(message("digest", "en"), base_url=BASE, unsubscribe_url=UNSUBSCRIBE)
    assert rendered.subject == "Your news on Voisins (2)"
    assert "Visite du jeudi" in rendered.text and "Confirmée" in rendered.text
    assert f'href="{BASE}/matches/13"' in rendered.html


def test_html_escapes_values_and_text_keeps_them() -> None:
    title = '<script>alert("x")</script>'
    msg = message("match.proposed", title=title)
    rendered = render_email(msg, base_url=BASE, unsubscribe_url=None)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert title in rendered.text


def test_an_empty_distance_label_leaves_its_line_out() -> None:
    msg = message("match.proposed", "fr", PLAIN, band_label="")
    rendered = render_email(msg, base_url=BASE, unsubscribe_url=None)
    assert "Distance" not in rendered.text and "Distance" not in rendered.html
    assert "(Courses)" in render_sms(msg, base_url=BASE)


def test_missing_context_is_a_permanent_error_naming_the_key() -> None:
    msg = Message(
        delivery_id=1,
        recipient_id=1,
        kind="match.proposed",
        locale="fr",
        recipient_name="Jeanne",
        context={"title": "x", "category_label": "y", "url": "/m/1"},
    )
    with pytest.raises(PermanentError, match="band_label"):
        render_email(msg, base_url=BASE, unsubscribe_url=None)


@pytest.mark.parametrize("kind", ["match.unknown", "../../etc/passwd", "Match.Proposed"])
def test_unknown_kinds_are_permanent_errors(kind: str) -> None:
    msg = Message(
        delivery_id=1, recipient_id=1, kind=kind, locale="fr", recipient_name="J", context={}
    )
    with pytest.raises(PermanentError):
        render_email(msg, base_url=BASE, unsubscribe_url=None)
    with pytest.raises(PermanentError):
        render_sms(msg, base_url=BASE)


@pytest.mark.parametrize("key", ["address", "latitude", "lon"])
def test_location_fields_cannot_reach_a_channel(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        message("match.proposed", **{key: "12 rue des Lilas"})
    raw = {
        "delivery_id": 1,
        "recipient_id": 1,
        "kind": "digest",
        "locale": "fr",
        "recipient_name": "J",
        "context": {"url": "/i", "items": [{"title": "t", "url": "/u", key: "48.85"}]},
    }
    with pytest.raises(msgspec.ValidationError, match=key):
        msgspec.convert(raw, Message)


@pytest.mark.parametrize(("kind", "locale"), CASES)
def test_sms_stays_short_even_with_long_values(kind: str, locale: str) -> None:
    text = render_sms(message(kind, locale, LONG), base_url=BASE)
    assert len(text) <= SMS_MAX_CHARS, len(text)
    assert "\n" not in text and "{" not in text
    link = LONG["reset_url"] if "reset_url" in KINDS[kind].required else LONG["url"]
    assert link in text


def test_sms_relative_links_become_absolute() -> None:
    text = render_sms(message("match.confirmed", "fr"), base_url=BASE + "/")
    assert text.endswith(BASE + "/matches/12")
