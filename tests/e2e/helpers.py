"""Steps the browser tests share: logging in, and enabling a model on the fake upstream."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect


def log_in(page: Page, email: str, password: str) -> None:
    """Log in through the login page and wait for the app frame."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="My usage")).to_be_visible()


def enable_model(
    page: Page, *, base_url: str, name: str, input_price: str, output_price: str
) -> None:
    """An openai_compatible key on `base_url` and a model with explicit prices, created through
    the REST API with the (admin's) browser session and CSRF token."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
    key = page.request.post(
        "/api/provider-keys/",
        headers=headers,
        data=json.dumps(
            {
                "provider": "openai_compatible",
                "label": "Fake",
                "api_key": "sk-fake-e2e-0000",
                "base_url": base_url,
            }
        ),
    )
    assert key.status == 201, key.text()
    model = page.request.post(
        "/api/models/",
        headers=headers,
        data=json.dumps(
            {
                "provider_key": key.json()["id"],
                "name": name,
                "input_usd_per_mtok": input_price,
                "output_usd_per_mtok": output_price,
            }
        ),
    )
    assert model.status == 201, model.text()
