"""Chatting in the browser against a live Potluck and a fake provider: pick a model, watch an
answer stream in, stop one, regenerate, edit and switch branches, reload, and switch to Spanish."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import enable_model, log_in
from tests.e2e.live import LiveApp
from tests.fake_upstream.server import FakeUpstreamClient

pytestmark = pytest.mark.e2e

OWNER = {"email": "carol@acme.test", "password": "a long enough password 3"}
MODEL = "fake-chat"


@pytest.fixture(scope="module")
def upstream(fake_upstream_url: str) -> FakeUpstreamClient:
    return FakeUpstreamClient(fake_upstream_url)


@pytest.fixture(scope="module")
def org(app: LiveApp, upstream: FakeUpstreamClient) -> dict[str, str]:
    app.manage(
        "create_org",
        "--name",
        "Acme",
        "--owner-email",
        OWNER["email"],
        "--owner-password",
        OWNER["password"],
        "--owner-name",
        "Carol",
    )
    return OWNER


def log_in_owner(page: Page) -> None:
    log_in(page, OWNER["email"], OWNER["password"])
    page.goto("/chat")
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()


def enable_fake_model(page: Page, upstream: FakeUpstreamClient) -> None:
    enable_model(
        page,
        base_url=f"{upstream.url}/ollama/v1",
        name=MODEL,
        input_price="0.5",
        output_price="1.5",
    )


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_it_streams_stops_regenerates_edits_and_keeps_the_tree(
    page: Page, app: LiveApp, upstream: FakeUpstreamClient, org: dict[str, str]
) -> None:
    log_in_owner(page)
    enable_fake_model(page, upstream)
    page.reload()
    expect(page.get_by_text("Live")).to_be_visible()
    picker = page.get_by_role("combobox", name="Model")
    picker.select_option(MODEL)
    expect(picker).to_contain_text("$0.50 / 1M")
    expect(picker).to_contain_text("$1.50 / 1M")

    # 1. An answer streams in: part of it shows while the Stop button is up.
    upstream.script(
        provider="openai_compatible",
        text="one two three four five six seven eight",
        deltas=8,
        delay=0.5,
    )
    send(page, "First question")
    log = page.get_by_role("log")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(log).to_contain_text("one two")
    expect(log).not_to_contain_text("eight")
    expect(log).to_contain_text("one two three four five six seven eight")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(log).to_contain_text(f"{MODEL} · 12 in · 8 out tokens · cost $0.000018")
    expect(page).to_have_url(re.compile(r"/chat/\d+$"))

    # 2. A slow answer is stopped mid-stream and keeps what had arrived.
    upstream.script(provider="openai_compatible", deltas=60, delay=0.2)
    send(page, "Second question")
    expect(log).to_contain_text("w2")
    page.get_by_role("button", name="Stop").click()
    expect(log).to_contain_text("stopped")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(log).not_to_contain_text("w59")

    # 3. Regenerate makes a second answer to the same question: 2/2.
    upstream.script(provider="openai_compatible", text="A regenerated answer", deltas=3)
    page.get_by_role("button", name="Regenerate").last.click()
    expect(log).to_contain_text("A regenerated answer")
    expect(log.get_by_text("2/2")).to_be_visible()

    # 4. Edit the second question and resend: a sibling branch of the question.
    upstream.script(provider="openai_compatible", text="About the edited question", deltas=3)
    page.get_by_role("button", name="Edit").last.click()
    page.get_by_role("textbox", name="Edit message").fill("Second question, edited")
    page.get_by_role("button", name="Save and send").click()
    expect(log).to_contain_text("About the edited question")
    expect(log).not_to_contain_text("A regenerated answer")
    expect(log.get_by_text("2/2")).to_be_visible()

    # Switch back to the first version of the question (1/2), then forward again (2/2).
    page.get_by_role("button", name="Previous version").first.click()
    expect(log.get_by_text("1/2")).to_be_visible()
    expect(log).to_contain_text("A regenerated answer")
    expect(log).not_to_contain_text("About the edited question")
    page.get_by_role("button", name="Next version").first.click()
    expect(log).to_contain_text("About the edited question")

    # 5. Reload: the same tree comes back from the server, the newest branch showing.
    page.reload()
    log = page.get_by_role("log")
    expect(log).to_contain_text("Second question, edited")
    expect(log).to_contain_text("About the edited question")
    expect(log.get_by_text("2/2")).to_be_visible()
    page.get_by_role("button", name="Previous version").first.click()
    expect(log).to_contain_text("A regenerated answer")
    expect(log.get_by_text("2/2")).to_be_visible()  # the regenerated answer is 2/2 of its own
    page.get_by_role("button", name="Previous version").last.click()
    expect(log).to_contain_text("stopped")

    # 6. Spanish.
    page.get_by_label("Language").select_option("es")
    expect(page.get_by_role("textbox", name="Mensaje")).to_be_visible()
    expect(page.get_by_role("button", name="Enviar")).to_be_visible()
    expect(page.get_by_role("button", name="Regenerar").first).to_be_visible()
    expect(page.get_by_role("button", name="Versión anterior").first).to_be_visible()
    expect(page.get_by_role("combobox", name="Modelo")).to_be_visible()
    page.get_by_label("Idioma").select_option("en")


def test_it_fits_a_phone_with_the_conversations_in_a_drawer(
    browser: Browser, app: LiveApp, upstream: FakeUpstreamClient, org: dict[str, str]
) -> None:
    context = browser.new_context(
        base_url=app.url, locale="en-US", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in_owner(page)
    new_chat = page.get_by_role("button", name="New chat")
    expect(new_chat).not_to_be_in_viewport()
    page.get_by_role("button", name="Show conversations").click()
    expect(new_chat).to_be_in_viewport()
    page.get_by_role("button", name="Hide conversations").click()
    expect(new_chat).not_to_be_in_viewport()
    # Nothing overflows sideways at phone width.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    context.close()


LONG_CONVERSATION = """
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from chat.models import Conversation, Message
user = User.objects.get(email={email!r})
conversation = Conversation.objects.create(
    organization=user.membership.organization, user=user, title="A very long chat"
)
start = timezone.now() - timedelta(hours=1)
TABLE = "\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |"
parent = None
for i in range(1000):
    assistant = i % 2 == 1
    parent = Message.objects.create(
        conversation=conversation,
        parent=parent,
        role="assistant" if assistant else "user",
        model={model!r} if assistant else "",
        content=f"Message number {{i}}" + (TABLE if assistant else ""),
        created_at=start + timedelta(seconds=i),
    )
print(conversation.pk)
"""


def test_it_keeps_a_thousand_message_conversation_smooth(
    page: Page, app: LiveApp, upstream: FakeUpstreamClient, org: dict[str, str]
) -> None:
    conversation_id = app.manage(
        "shell", "-c", LONG_CONVERSATION.format(email=OWNER["email"], model=MODEL)
    ).splitlines()[-1]  # Django's shell may print its auto-imports first
    log_in_owner(page)
    page.goto(f"/chat/{conversation_id}")
    log = page.get_by_role("log")
    expect(log.get_by_text("Message number 999")).to_be_visible()
    # Only a window of the messages is in the DOM.
    assert page.locator("article.message").count() < 80
    # Scrolled up: following stops and "Jump to latest" comes back down.
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    expect(log.get_by_text("Message number 999")).not_to_be_visible()
    jump.click()
    expect(log.get_by_text("Message number 999")).to_be_visible()
    expect(jump).not_to_be_visible()
    assert page.locator("article.message").count() < 80
