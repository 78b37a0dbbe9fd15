"""An admin connects a provider and enables a model; a member cannot reach those pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import log_in
from tests.e2e.live import LiveApp

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password 1"


def test_it_lets_an_admin_add_a_key_and_enable_a_model(
    page: Page, browser: Browser, app: LiveApp, fake_upstream_url: str
) -> None:
    app.manage(
        "create_org",
        "--name",
        "Acme",
        "--owner-email",
        "alice@acme.test",
        "--owner-password",
        PASSWORD,
        "--owner-name",
        "Alice",
    )
    log_in(page, "alice@acme.test", PASSWORD)
    page.get_by_role("link", name="Provider keys").click()
    page.get_by_label("Provider").select_option("openai_compatible")
    page.get_by_label("Label").fill("Local fake")
    page.get_by_label("API key").fill("sk-e2e-secret-0000001234")
    page.get_by_label("Base URL").fill(f"{fake_upstream_url}/openai/v1")
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_text("Local fake")).to_be_visible()
    # The secret is never shown again, only its last four characters.
    expect(page.get_by_text("sk-e2e-secret-0000001234")).to_have_count(0)
    expect(page.get_by_text(re.compile("1234"))).to_be_visible()

    page.get_by_role("button", name="Test").click()
    expect(page.get_by_text(re.compile(r"The key works\. 2 models found"))).to_be_visible()
    discovered = page.get_by_role("table", name=re.compile("Discovered models"))
    expect(discovered.get_by_role("cell", name="gpt-4o-mini")).to_be_visible()

    page.get_by_role("link", name="Models").click()
    page.get_by_label("Model name").fill("gpt-4o-mini")
    page.get_by_role("button", name="Add model").click()
    row = page.get_by_role("row", name=re.compile("gpt-4o-mini"))
    expect(row).to_be_visible()
    # Catalog prices were filled in: gpt-4o-mini costs $0.15 in / $0.60 out per 1M tokens.
    expect(row).to_contain_text("0.15")
    expect(row).to_contain_text("0.6")

    # Bob, a member, cannot open the admin pages and sees no admin navigation.
    app.manage(
        "shell",
        "-c",
        "from accounts.models import Organization, Membership, User;"
        f"u = User.objects.create_user('bob@acme.test', {PASSWORD!r}, name='Bob');"
        "Membership.objects.create(user=u, organization=Organization.objects.get(name='Acme'),"
        " role='member')",
    )
    bob_context = browser.new_context(base_url=app.url, locale="en-US")
    bob = bob_context.new_page()
    log_in(bob, "bob@acme.test", PASSWORD)
    expect(bob.get_by_role("link", name="Provider keys")).to_have_count(0)
    bob.goto("/provider-keys")
    expect(bob.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(bob.get_by_text("Local fake")).to_have_count(0)
    bob_context.close()
