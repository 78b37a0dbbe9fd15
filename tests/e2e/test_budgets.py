"""Budgets in the browser against a live Potluck and a fake provider: an admin gives a member a
hard budget on the Budgets page, the member chats until the budget refuses and sees why, and the
admin finds the spend on the Usage dashboard and downloads it as CSV."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import enable_model, log_in
from tests.e2e.live import LiveApp

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password 5"
ADMIN = "dora@acme.test"
MEMBER = "bob@acme.test"
MODEL = "fake-budget"
REFUSED = "Your budget does not allow this request."


def _enable_model(page: Page, fake_upstream_url: str) -> None:
    """Input is free and output costs $0.001 a token, so each default fake answer (12 tokens in,
    8 out) costs exactly $0.008 and a request needs 64 output tokens ($0.064) free to be let in.
    """
    enable_model(
        page,
        base_url=f"{fake_upstream_url}/ollama/v1",
        name=MODEL,
        input_price="0",
        output_price="1000",
    )


def _send_until_refused(page: Page, *, rounds: int = 12) -> int:
    """Send questions until the budget refuses one; return how many were answered before."""
    log = page.get_by_role("log")
    box = page.get_by_role("textbox", name="Message")
    send = page.get_by_role("button", name="Send")
    # A finished reply's footer names its cost; a reply still streaming has none yet.
    finished = log.get_by_text(re.compile(r"cost \$0\.008"))
    for number in range(1, rounds + 1):
        box.fill(f"Please answer question q{number:02d}")
        expect(send).to_be_enabled()  # the previous reply is over: the composer sends again
        box.press("Enter")
        expect(box).to_have_value("")
        deadline = time.monotonic() + 30
        while True:
            if log.get_by_text(REFUSED).count() > 0:
                return number - 1
            if finished.count() >= number:
                break
            assert time.monotonic() < deadline, f"no answer or refusal for question {number}"
            page.wait_for_timeout(100)
    raise AssertionError(f"the budget did not refuse within {rounds} requests")


def test_it_sets_a_budget_refuses_past_it_and_reports_the_spend(
    page: Page, browser: Browser, app: LiveApp, fake_upstream_url: str
) -> None:
    app.manage(
        "create_org",
        "--name",
        "Acme",
        "--owner-email",
        ADMIN,
        "--owner-password",
        PASSWORD,
        "--owner-name",
        "Dora",
    )
    app.manage(
        "shell",
        "-c",
        "from accounts.models import Organization, Membership, User;"
        f"u = User.objects.create_user({MEMBER!r}, {PASSWORD!r}, name='Bob');"
        "Membership.objects.create(user=u, organization=Organization.objects.get(name='Acme'),"
        " role='member')",
    )
    log_in(page, ADMIN, PASSWORD)
    _enable_model(page, fake_upstream_url)
    # The first model enabled also titles conversations; the arithmetic below counts only the
    # replies, so the admin turns titles off on the Models page.
    page.get_by_role("link", name="Models").click()
    titles = page.get_by_label("Title new conversations with")
    expect(titles).to_have_value(MODEL)
    titles.select_option("")
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    # 1. The admin gives Bob a hard $0.10 monthly budget, inline on the Budgets page.
    page.get_by_role("link", name="Budgets").click()
    row = page.get_by_role("row", name=re.compile(re.escape(MEMBER)))
    expect(row).to_contain_text("Uses the default")
    limit = row.get_by_label("Limit (USD)")
    limit.fill("ten cents")
    row.get_by_role("button", name=f"Save budget for {MEMBER}").click()
    expect(row.get_by_role("alert")).to_contain_text("Enter an amount like 10 or 2.50")
    limit.fill("0.10")
    row.get_by_label("Period").select_option("monthly")
    row.get_by_label("Enforcement").select_option("hard")
    row.get_by_role("button", name=f"Save budget for {MEMBER}").click()
    expect(row.get_by_role("status")).to_have_text("Saved")
    expect(row).to_contain_text("Own budget")
    page.reload()
    row = page.get_by_role("row", name=re.compile(re.escape(MEMBER)))
    expect(row.get_by_label("Limit (USD)")).to_have_value("0.1")

    # 2. Bob sees the budget on his usage page before spending anything.
    bob_context = browser.new_context(base_url=app.url, locale="en-US")
    bob = bob_context.new_page()
    bob.set_default_timeout(15_000)
    log_in(bob, MEMBER, PASSWORD)
    bob.get_by_role("link", name="My usage").click()
    expect(bob.get_by_text("$0.00 of $0.10")).to_be_visible()
    expect(bob.get_by_role("meter", name="Budget used")).to_have_attribute("aria-valuenow", "0")

    # 3. He chats until the budget refuses a request, and the chat says why.
    bob.get_by_role("link", name="Chat").click()
    expect(bob.get_by_text("Live")).to_be_visible()
    bob.get_by_role("combobox", name="Model").select_option(MODEL)
    answered = _send_until_refused(bob)
    # $0.008 a reply against $0.10 with $0.064 needed free: five replies, then a refusal.
    assert answered == 5
    refusal = bob.get_by_role("log").get_by_role("alert").filter(has_text=REFUSED)
    expect(refusal).to_contain_text("budget_exceeded")

    # His usage page shows the spend against the limit.
    bob.get_by_role("link", name="My usage").click()
    expect(bob.get_by_text("$0.04 of $0.10")).to_be_visible()
    expect(bob.get_by_role("meter", name="Budget used")).to_have_attribute("aria-valuenow", "40")
    by_model = bob.get_by_role("table", name="By model")
    expect(by_model.get_by_role("row", name=re.compile(MODEL))).to_contain_text("$0.04")
    bob_context.close()

    # 4. The admin sees Bob's spend on the dashboard and downloads the ledger as CSV.
    page.get_by_role("link", name="Usage", exact=True).click()
    members = page.get_by_role("table", name="Member")
    expect(members.get_by_role("row", name=re.compile(re.escape(MEMBER)))).to_contain_text("$0.04")
    by_member = page.get_by_role("figure", name="By member")
    expect(by_member).to_contain_text("$0.04")
    expect(by_member.get_by_role("listitem", name=f"{MEMBER}: $0.04")).to_have_count(1)
    ledger = page.get_by_role("table", name="Ledger")
    expect(ledger.get_by_role("row", name=re.compile(re.escape(MEMBER)))).to_have_count(answered)
    link = page.get_by_role("link", name="Download CSV")
    csv_href = re.compile(r"^/api/usage/export\.csv\?from=\d{4}-\d\d-01&to=")
    expect(link).to_have_attribute("href", csv_href)  # this month so far
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("potluck-usage-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    bobs = [r for r in rows if r["user_email"] == MEMBER]
    assert len(bobs) == answered
    assert {r["model"] for r in bobs} == {MODEL}
    assert all(r["cost_usd"] == "0.008000000" for r in bobs)
