"""Whole journeys, as real people live them: Chromium on a phone-sized screen, the app on
a real port, a real `voisins worker` sending real e-mails to an aiosmtpd server.

Each journey starts at the sign-up form, goes on through the e-mails people receive
(following their links, never typing a path a person could not know), and ends by
opening every link of every e-mail each person received, signed in as that person:
each must be a page for them (200, not «Page introuvable», not the login page)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import msgspec
import pyotp
import pytest
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.geo.addresses import import_file, sample_file
from voisins.settings import Settings

from ..support.browser import check_page, new_page
from ..support.mail import Mail, SmtpServer, received, smtp_server
from ..support.ports import free_port
from ..support.servers import running_worker, serving
from ..support.world import build_world

PASSWORD = "un mot de passe sûr"
MAIL_WAIT_S = 40


@dataclass
class Town:
    """The app, its worker and the mailbox everyone's e-mail lands in."""

    base_url: str
    smtp: SmtpServer
    settings: Settings

    def mails_to(self, address: str) -> list[Mail]:
        return [m for m in received(self.smtp) if m.to == address]

    async def mail(self, address: str, subject: str) -> Mail:
        """The first mail to ``address`` whose subject contains ``subject``, waiting for
        the worker to send it."""
        deadline = time.monotonic() + MAIL_WAIT_S
        while time.monotonic() < deadline:
            for mail in self.mails_to(address):
                if subject in mail.subject:
                    return mail
            await asyncio.sleep(0.2)
        got = [m.subject for m in self.mails_to(address)]
        raise AssertionError(f"no mail «{subject}» to {address} (got {got})")

    def link(self, mail: Mail, path_prefix: str) -> str:
        """The one link of ``mail`` to a path starting with ``path_prefix``."""
        (found,) = [p for p in mail.links(self.base_url) if p.startswith(path_prefix)]
        return found


@pytest.fixture
async def town(settings: Settings) -> AsyncIterator[Town]:
    port = free_port()
    with smtp_server() as smtp:
        configured = msgspec.structs.replace(
            settings,
            public_base_url=f"http://127.0.0.1:{port}",
            smtp_host=smtp.host,
            smtp_port=smtp.port,
        )
        # The shipped sample of the neighbourhood's addresses: people type addresses.
        import_file(configured.addok_redis_dsn, sample_file())
        async with serving(configured, port) as base_url:
            with running_worker(configured):
                yield Town(base_url, smtp, configured)


async def check(page: Page, name: str) -> None:
    """The page passes axe and fits the phone's screen; a screenshot for people."""
    await check_page(page, "journey-" + name)


async def sign_up(page: Page, name: str, email: str, phone: str | None = None) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Créer un compte").first.click()
    await page.get_by_label("Votre prénom").fill(name)
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe (10 caractères au moins)").fill(PASSWORD)
    if phone:
        await page.get_by_label("Téléphone (facultatif)").fill(phone)
    await page.get_by_role("button", name="Créer mon compte").click()
    await expect_signed_in(page)


async def expect_signed_in(page: Page) -> None:
    """The header (its menu, closed on a phone) offers to sign out."""
    await expect(page.locator("form[action='/deconnexion']")).to_have_count(1)


async def confirm_address(town: Town, page: Page, email: str) -> None:
    """Follow the confirmation link of the sign-up mail and press its one button."""
    mail = await town.mail(email, "Confirmez")
    await page.goto(town.link(mail, "/mon-compte/confirmer"))
    await check(page, "confirm-address")
    await page.get_by_role("button", name=re.compile("Confirmer")).click()
    await expect(page.get_by_role("status").first).to_contain_text("peut maintenant vous écrire")


async def no_quiet_hours(page: Page) -> None:
    """The journeys run at any hour, and by default e-mails wait out the night (21:00
    to 08:00 in Paris): whoever must get one at once chooses no quiet hours on their
    account page first, as anyone may."""
    await page.goto("/mon-compte")
    await page.get_by_label("Début des heures calmes").fill("00:00")
    await page.get_by_label("Fin des heures calmes").fill("00:00")
    await page.get_by_role("button", name="Enregistrer mes choix").click()
    await expect(page.get_by_role("status").first).to_contain_text("enregistrés")


async def opens_every_link(town: Town, page: Page, email: str) -> int:
    """Open every link of every mail ``email`` received, in ``page`` (signed in as its
    owner): each is a page for them. Returns how many links were opened."""
    mails = town.mails_to(email)
    assert mails, f"{email} received nothing"
    opened = 0
    for mail in mails:
        links = mail.links(town.base_url)
        assert links, (email, mail.subject)
        for path in links:
            response = await page.goto(path)
            assert response is not None and response.status == 200, (
                email, mail.subject, path, response and response.status,
            )  # fmt: skip
            heading = await page.get_by_role("heading", level=1).first.inner_text()
            assert heading not in ("Page introuvable", "Se connecter", "Connexion"), (
                email, mail.subject, path, heading,
            )  # fmt: skip
            opened += 1
    return opened


@contextlib.asynccontextmanager
async def person(browser: Browser, town: Town) -> AsyncIterator[Page]:
    page = await new_page(browser, town.base_url)
    try:
        yield page
    finally:
        await page.context.close()


async def test_a_resident_and_a_volunteer_from_sign_up_to_each_others_contact(
    browser: Browser, town: Town
) -> None:
    """Vic signs up and offers help with a typed address; Rose signs up and asks for
    shopping with a typed address; Vic gets the proposition by e-mail, follows it,
    accepts, and still sees Rose's address five seconds later (live refreshes keep the
    answered card), writes to her in the conversation; Rose follows the confirmation's
    mail to it and shares her phone, which Vic's open page shows; Rose forgets her
    password and gets back in through the e-mail."""
    vic_mail, rose_mail = "vic.journey@example.org", "rose.journey@example.org"
    async with person(browser, town) as vic, person(browser, town) as rose:
        await sign_up(vic, "Vic", vic_mail, phone="06 11 22 33 44")
        await confirm_address(town, vic, vic_mail)
        await no_quiet_hours(vic)
        await vic.goto("/benevole")
        await type_address(vic, "18 rue Marx Dormoy")
        await vic.get_by_label("Courses", exact=True).check()
        await check(vic, "volunteer-profile")
        await vic.get_by_role("button", name="Enregistrer mon profil").click()
        await expect(vic.get_by_role("status").first).to_contain_text("enregistré")

        await sign_up(rose, "Rose", rose_mail, phone="06 55 44 33 22")
        await confirm_address(town, rose, rose_mail)
        await no_quiet_hours(rose)
        await rose.goto("/annonces/nouvelle")
        await rose.get_by_label("Demander de l'aide").check()
        await rose.get_by_label("Courses", exact=True).check()
        await rose.get_by_label("Un titre court").fill("Des courses le samedi matin")
        await rose.get_by_role("button", name="Continuer").click()
        await type_address(rose, "22 rue Marx Dormoy")
        await check(rose, "post-typed-address")
        await rose.get_by_role("button", name="Continuer").click()
        await rose.get_by_label("Une seule fois", exact=True).check()
        day = await rose.evaluate("new Date(Date.now() + 2 * 86400e3).toISOString().slice(0, 10)")
        await rose.get_by_label("Quel jour ? (pour une seule fois)").fill(day)
        await rose.get_by_label("À partir de quelle heure ?").fill("09:00")
        await rose.get_by_label("Jusqu'à quelle heure ?").fill("11:00")
        await rose.get_by_role("button", name="Publier mon annonce").click()
        await expect(rose).to_have_url(re.compile(r"/annonces/\d+"))

        proposed = await town.mail(vic_mail, "Nouvelle proposition")
        await vic.goto(town.link(proposed, "/propositions"))
        card = vic.locator("li.card", has_text="Des courses le samedi matin")
        await expect(card).to_be_visible()
        await card.get_by_role("button", name="J'accepte").click()
        # Confirmed: Rose's address shows, her phone stays hers to share (issue 15).
        address = re.compile("Marx Dormoy", re.IGNORECASE)
        await expect(card).to_contain_text(address, timeout=10_000)
        await vic.wait_for_timeout(5_000)  # the live refreshes of its own new messages
        await expect(card).to_contain_text(address)
        await expect(card).not_to_contain_text("06 55 44 33 22")
        await expect(card.get_by_role("button", name="J'accepte")).to_have_count(0)
        await check(vic, "volunteer-accepted-contact")
        await card.get_by_role("link", name=re.compile("Conversation")).click()
        await expect(vic).to_have_url(re.compile(r"/conversations/\d+$"))
        await vic.get_by_label("Votre message").fill("Bonjour Rose, je passe samedi à 9 h.")
        await vic.get_by_role("button", name="Envoyer").click()
        await check(vic, "volunteer-conversation")

        # Rose follows the confirmation's link to the conversation and shares her phone.
        confirmed = await town.mail(rose_mail, "vous écrire")
        await rose.goto(town.link(confirmed, "/conversations/"))
        await expect(rose.get_by_text("Bonjour Rose, je passe samedi à 9 h.")).to_be_visible()
        await expect(rose.get_by_role("link", name="06 11 22 33 44")).to_have_count(0)
        await rose.get_by_label("Montrer le numéro de téléphone").check()
        await rose.get_by_role("button", name="Enregistrer ce choix").click()
        await check(rose, "resident-conversation-shared")
        # Vic's open page shows it live (the contacts event), without a reload.
        await expect(vic.get_by_role("link", name="06 55 44 33 22")).to_be_visible(timeout=10_000)

        # A forgotten password: from the login page, through the e-mail, back in.
        await rose.get_by_text("Menu", exact=True).click()
        await rose.get_by_role("button", name="Se déconnecter").click()
        await rose.goto("/connexion")
        await rose.get_by_role("link", name="Mot de passe oublié ?").click()
        await rose.get_by_label("Adresse e-mail").fill(rose_mail)
        await rose.get_by_role("button", name=re.compile("Recevoir")).click()
        reset = await town.mail(rose_mail, "mot de passe")
        await rose.goto(town.link(reset, "/mot-de-passe/nouveau"))
        await check(rose, "new-password")
        await rose.get_by_label("Nouveau mot de passe (10 caractères au moins)").fill(
            "un autre mot de passe"
        )
        await rose.get_by_label("Le même mot de passe, une seconde fois").fill(
            "un autre mot de passe"
        )
        await rose.get_by_role("button", name=re.compile("Enregistrer|Choisir")).click()
        await rose.get_by_label("Adresse e-mail").fill(rose_mail)
        await rose.get_by_label("Mot de passe", exact=True).fill("un autre mot de passe")
        await rose.get_by_role("button", name="Se connecter").click()
        await expect_signed_in(rose)

        assert await opens_every_link(town, vic, vic_mail) >= 3
        assert await opens_every_link(town, rose, rose_mail) >= 3


async def type_address(page: Page, typed: str) -> None:
    """Type an address and pick the first suggestion, as a person does; nothing else
    (no pin moved, no coordinates typed)."""
    field = page.locator("input[role=combobox]")
    await field.press_sequentially(typed, delay=40)  # key by key, as people type
    suggestion = page.get_by_role("listbox", name="Adresses proposées").get_by_role("option").first
    await expect(suggestion).to_be_visible(timeout=10_000)
    await suggestion.click()


async def test_a_new_social_worker_from_their_account_to_an_assisted_residents_volunteer(
    browser: Browser, town: Town, engine: AsyncEngine
) -> None:
    """The administrator creates Salomé's account; she chooses her password from the
    invitation's mail, signs in, enrols her second factor from the QR code's key, finds
    volunteer Vera by name and vets her, posts a visit for Mme Odette (who has no
    e-mail) with a typed address, approves Vera's answer, and follows the request to
    Vera's contact on Mme Odette's page; then every link of every mail she received
    leads to a page of hers."""
    async with AsyncTestClient(create_app(town.settings)) as api:
        world = await build_world(api, engine)
        await api.patch("/api/v1/me", json={"phone": "06 33 33 33 33"}, headers=world.vera.headers)
    salome_mail = "salome.journey@centre-goutte-dor.example.org"
    async with person(browser, town) as admin, person(browser, town) as salome:
        await admin.context.add_cookies(
            [{"name": "voisins_session", "value": world.admin.token, "url": town.base_url}]
        )
        await admin.goto("/admin/equipe")
        await admin.get_by_label("Prénom et nom").fill("Salomé Travail")
        await admin.get_by_label("E-mail professionnel").fill(salome_mail)
        await admin.get_by_label("Rôle", exact=True).select_option("social_worker")
        await admin.get_by_label("Centre (pour un travailleur social)").select_option(
            str(world.centre_18)
        )
        await admin.get_by_role("button", name="Créer le compte").click()
        await expect(admin.get_by_role("heading", name="Salomé Travail")).to_be_visible()

        # Her invitation: she chooses her own password from the mail (nobody else knows it),
        # then signs in, and enrols her second factor from the QR code's key.
        invitation = await town.mail(salome_mail, "Votre compte Voisins")
        await salome.goto(town.link(invitation, "/mot-de-passe/nouveau"))
        await check(salome, "staff-invitation-password")
        await salome.get_by_label("Nouveau mot de passe (10 caractères au moins)").fill(PASSWORD)
        await salome.get_by_label("Le même mot de passe, une seconde fois").fill(PASSWORD)
        await salome.get_by_role("button", name=re.compile("Enregistrer|Choisir")).click()
        await salome.get_by_label("Adresse e-mail").fill(salome_mail)
        await salome.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        await salome.get_by_role("button", name="Se connecter").click()
        await expect(salome.get_by_role("heading", level=1)).to_have_text(
            "Protéger votre compte avec un code"
        )
        await expect(salome.locator("svg").first).to_be_visible()
        await check(salome, "staff-enrol-qr")
        secret = (await salome.locator("#secret").inner_text()).replace(" ", "")
        await salome.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
        await salome.get_by_role("button", name="Valider le code").click()
        await expect(salome).to_have_url(re.compile(r"/centre"))
        await no_quiet_hours(salome)

        # Vetting: Vera is found by her name, her record written on her page.
        await salome.goto("/centre/verification")
        await salome.get_by_role("searchbox").fill("Vera")
        await salome.keyboard.press("Enter")
        results = salome.get_by_role("list", name="Résultats")
        await results.get_by_role("link", name=re.compile("Ouvrir sa fiche.*Vera")).click()
        await check(salome, "vetting-volunteer")
        checked = (date.today() - timedelta(days=1)).isoformat()
        await salome.get_by_label("Pièce d'identité vérifiée le").fill(checked)
        extract = (date.today() - timedelta(days=10)).isoformat()
        await salome.get_by_label("Date de l'extrait de casier judiciaire").fill(extract)
        await salome.get_by_role("button", name=re.compile("Enregistrer")).click()
        await expect(salome.get_by_role("status").first).to_be_visible()

        # A visit for Mme Odette, posted for her with a typed address.
        await salome.goto("/centre/habitants")
        await salome.get_by_role("link", name=re.compile("Odile|Odette")).first.click()
        resident_page = salome.url
        await salome.get_by_role("link", name=re.compile("Publier une annonce pour")).click()
        await salome.get_by_label("La personne demande de l'aide").check()
        await salome.get_by_label("Sorte d'aide").select_option(label="Visite de convivialité")
        await salome.get_by_label("Titre", exact=True).fill("Un café et une visite le jeudi")
        await type_address(salome, "5 rue Léon")
        await salome.get_by_label("Une fois", exact=True).check()
        day = (date.today() + timedelta(days=3)).isoformat()
        await salome.get_by_label("Le (pour une fois)").fill(day)
        await salome.get_by_label("De", exact=True).fill("14:00")
        await salome.get_by_label("À", exact=True).fill("16:00")
        await check(salome, "post-for-resident")
        await salome.get_by_role("button", name=re.compile("Publier")).click()

        async with person(browser, town) as vera:
            await vera.context.add_cookies(
                [{"name": "voisins_session", "value": world.vera.token, "url": town.base_url}]
            )
            await vera.goto("/propositions")
            card = vera.locator("li.card", has_text="Un café et une visite le jeudi")
            await expect(card).to_be_visible(timeout=20_000)
            await card.get_by_role("button", name="J'accepte").click()
            await expect(card).to_contain_text("valide", timeout=10_000)

        review = await town.mail(salome_mail, "attend votre validation")
        await salome.goto(town.link(review, "/centre"))
        item = salome.locator("li.card, article", has_text="Un café et une visite le jeudi").first
        await item.get_by_label(re.compile("Raison de la décision")).fill("Vera vérifiée")
        await item.get_by_role("button", name="Valider").click()
        await expect(salome.get_by_role("status").filter(has_text="Validé.")).to_be_visible(
            timeout=10_000
        )
        await salome.goto(resident_page)
        await expect(salome.get_by_text("Vera", exact=True)).to_be_visible()
        await expect(salome.get_by_role("link", name="06 33 33 33 33")).to_be_visible()
        await check(salome, "assisted-resident-confirmed")

        assert await opens_every_link(town, salome, salome_mail) >= 2
