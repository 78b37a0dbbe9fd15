"""A budget refusal a member understands, in the browser against a live Potluck and a fake
provider: a member near his limit sends in a conversation that has grown too long for what is
left, and reads which budget refused, why, when it resets and what he can do about it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import enable_model, log_in
from tests.e2e.live import LiveApp

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password 5"
ADMIN = "dora@acme.test"
MEMBER = "bob@acme.test"
MODEL = "fake-refusal"
REFUSED = "Your budget does not allow this request."
# A pasted document: 40 lines of ~70 bytes, so the prompt's upper bound (one token per byte) is
# close to 3,000 tokens: about $3 at this model's input price.
LONG_TEXT = "\n".join(
    f"Line {n:02d} of the quarterly report that Bob pasted for a summary." for n in range(40)
)


def _api(page: Page, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A REST call with the page's session and CSRF token (the admin's setup steps)."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.fetch(
        path,
        method=method,
        headers={"X-CSRFToken": csrf, "Content-Type": "application/json"},
        data=json.dumps(body) if body is not None else None,
    )
    assert response.ok, response.text()
    return response.json()


def _next_month_start() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)


def test_it_tells_a_member_why_a_long_conversation_was_refused_and_what_to_do(
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
        "--time-zone",
        "UTC",
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
    # Input costs $0.001 a token and output $0.00001: the prompt is what a long conversation
    # pays for. A default fake answer (12 tokens in, 8 out) costs $0.01208.
    enable_model(
        page,
        base_url=f"{fake_upstream_url}/ollama/v1",
        name=MODEL,
        input_price="1000",
        output_price="10",
    )
    _api(page, "PATCH", "/api/org/", {"title_model": None})  # only the replies are charged
    bob_id = next(m["id"] for m in _api(page, "GET", "/api/members/") if m["email"] == MEMBER)
    _api(
        page,
        "PUT",
        f"/api/budgets/users/{bob_id}/",
        {"limit_usd": "0.08", "period": "monthly", "enforcement": "hard", "warn_at_percent": []},
    )

    bob_context = browser.new_context(base_url=app.url, locale="en-US", timezone_id="UTC")
    bob = bob_context.new_page()
    bob.set_default_timeout(15_000)
    log_in(bob, MEMBER, PASSWORD)
    bob.get_by_role("link", name="Chat").click()
    expect(bob.get_by_text("Live")).to_be_visible()
    bob.get_by_role("combobox", name="Model").select_option(MODEL)
    log = bob.get_by_role("log")
    box = bob.get_by_role("textbox", name="Message")

    # A short question fits (its worst case: 35 prompt tokens, $0.035, plus 64 answer tokens):
    # $0.01208 spent, $0.06792 of $0.08 left.
    box.fill("Summarise a report?")
    box.press("Enter")
    expect(log.get_by_text(re.compile(r"cost \$0\.01208"))).to_be_visible()

    # The pasted report: its prompt alone could cost ~$3, far more than is left, though plenty
    # is left for a short answer in a short conversation.
    box.fill(LONG_TEXT)
    expect(bob.get_by_role("button", name="Send")).to_be_enabled()  # the reply is over
    box.press("Enter")
    refusal = log.get_by_role("alert").filter(has_text=REFUSED)
    expect(refusal).to_be_visible()
    # Nothing Bob wrote is lost.
    expect(log.get_by_text("Line 39 of the quarterly report", exact=False)).to_be_visible()

    # When the budget resets (the org's month ends at midnight UTC), in Bob's locale, and how
    # much it is.
    reset = _next_month_start()
    expect(refusal).to_contain_text(f"It resets on {reset:%B} {reset.day}, {reset.year}")
    expect(refusal).to_contain_text("$0.08 a month")
    # Why: too long for what is left (not used up), with what is left.
    expect(refusal).to_contain_text("This conversation is too long for what is left of your budget")
    expect(refusal).to_contain_text("Left$0.06792")
    # And what to do now.
    ways = refusal.get_by_role("list", name="What you can do")
    expect(ways).to_contain_text("Start a new conversation")
    expect(ways).to_contain_text("Ask for a shorter answer.")
    expect(ways).to_contain_text("Ask an admin to raise your budget.")

    # The way forward works: a new, short conversation is answered.
    bob.get_by_role("button", name=re.compile("New chat")).first.click()
    box.fill("Just the headline.")
    box.press("Enter")
    expect(log.get_by_text(re.compile(r"cost \$0\.0120\d"))).to_be_visible()
    bob_context.close()
