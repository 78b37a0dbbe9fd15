"""A newcomer's first minutes: setup, log out and in, invite a colleague who joins."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveApp

pytestmark = pytest.mark.e2e

OWNER = {"email": "alice@acme.test", "password": "a long enough password 1"}


def test_it_takes_a_newcomer_from_setup_to_a_second_member(
    page: Page, browser: Browser, app: LiveApp
) -> None:
    page.goto("/")
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Your name").fill("Alice")
    page.get_by_label("Email").fill(OWNER["email"])
    page.get_by_label("Password").fill(OWNER["password"])
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_text("Acme").first).to_be_visible()

    # Log out, then back in.
    page.get_by_role("button", name=re.compile("Alice|alice@acme.test|Account")).click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill(OWNER["email"])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill(OWNER["password"])
    page.get_by_role("button", name="Log in").click()

    # Invite Bob from the Members page and copy the link.
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_role("textbox", name="Invitation link").input_value()
    assert "/invite/" in link

    # Bob accepts in a second browser context (a different person, no shared cookies).
    bob_context = browser.new_context(base_url=app.url, locale="en-US")
    bob = bob_context.new_page()
    bob.goto(link)
    bob.get_by_label("Your name").fill("Bob")
    bob.get_by_label("Password").fill("bobs own long password 2")
    bob.get_by_role("button", name="Join").click()
    expect(bob.get_by_text("Acme").first).to_be_visible()
    bob_context.close()

    page.reload()
    expect(page.get_by_role("cell", name="bob@acme.test", exact=True)).to_be_visible()


def test_it_speaks_spanish_and_toggles_dark_mode(browser: Browser, app: LiveApp) -> None:
    context = browser.new_context(base_url=app.url, locale="es-ES")
    page = context.new_page()
    page.goto("/login")
    # The browser's language picks Spanish on first visit.
    expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()
    html = page.locator("html")
    before = html.get_attribute("class") or ""
    page.get_by_role("button", name=re.compile("oscuro|dark", re.IGNORECASE)).click()
    after = html.get_attribute("class") or ""
    assert ("dark" in before) != ("dark" in after)
    # The language can be switched by hand.
    page.get_by_label("Idioma").select_option("en")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    context.close()
