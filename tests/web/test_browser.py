"""Journeys in a real headless Chromium (Debian's package, driven by Playwright), with
an axe-core accessibility check of every page visited and screenshots of each."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from .conftest import axe_violations, new_page, screenshot


async def test_a_newcomer_signs_up_from_the_home_page(browser: Browser, live_server: str) -> None:
    page = await new_page(browser, live_server)
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("L'entraide entre voisins")
    violations = await axe_violations(page)
    assert violations == [], violations
    await screenshot(page, "home")

    await page.get_by_role("link", name="Créer un compte").first.click()
    await expect(page).to_have_url(f"{live_server}/inscription")
    assert await axe_violations(page) == []
    await page.get_by_label("Votre prénom").fill("Camille")
    await page.get_by_label("Adresse e-mail").fill("camille.browser@example.org")
    await page.get_by_label("Mot de passe (10 caractères au moins)").fill("un mot de passe sûr")
    await page.get_by_role("button", name="Créer mon compte").click()
    await expect(page).to_have_url(f"{live_server}/")
    await expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()

    # English, from the switch in the header; the choice is kept.
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Help between neighbours")
    await page.goto("/connexion")
    await expect(page.locator("html")).to_have_attribute("lang", "en")


async def test_a_wrong_password_is_announced_and_the_form_stays_usable(
    browser: Browser, live_server: str
) -> None:
    page = await new_page(browser, live_server)
    await page.goto("/connexion")
    await page.get_by_label("Adresse e-mail").fill("personne@example.org")
    await page.get_by_label("Mot de passe", exact=True).fill("pas le bon mot de passe")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("E-mail ou mot de passe incorrect.")
    assert await axe_violations(page) == []
    await screenshot(page, "login-error")
