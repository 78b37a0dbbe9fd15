"""POST /api/provider-keys/{id}/test/ against the fake upstream: the real adapters list models over
real HTTP, prices come from the catalog, and a refused key is a result, not a 500."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.test import APIClient

from providers.models import ProviderKey
from tests.conftest import login

SECRET = "sk-proj-EndpointTestSecret-0123456789-LAST"


def create_key(client: APIClient, **body: Any) -> int:
    r = client.post("/api/provider-keys/", {"label": "k", **body}, format="json")
    assert r.status_code == 201, r.content
    return int(r.json()["id"])


def test_it_lists_the_providers_models_with_catalog_prices(
    alice, api_client, fake_upstream
) -> None:
    login(api_client, alice)
    key_id = create_key(
        api_client, provider="openai", api_key=SECRET, base_url=fake_upstream.base_url("openai")
    )
    r = api_client.post(f"/api/provider-keys/{key_id}/test/")
    assert r.status_code == 200, r.content
    assert r.json() == {
        "ok": True,
        "models": [
            {
                "name": "gpt-4.1-nano",
                "input_usd_per_mtok": "0.1",
                "output_usd_per_mtok": "0.4",
                "cached_input_usd_per_mtok": "0.025",
            },
            {
                "name": "gpt-4o-mini",
                "input_usd_per_mtok": "0.15",
                "output_usd_per_mtok": "0.6",
                "cached_input_usd_per_mtok": "0.075",
            },
        ],
    }
    # The stored key really went upstream (decrypted only on the way out).
    [request] = fake_upstream.requests
    assert request.endpoint == "models"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET.encode() not in r.content


def test_it_maps_gemini_to_googles_prices(alice, api_client, fake_upstream) -> None:
    login(api_client, alice)
    key_id = create_key(
        api_client, provider="gemini", api_key=SECRET, base_url=fake_upstream.base_url("gemini")
    )
    body = api_client.post(f"/api/provider-keys/{key_id}/test/").json()
    assert body["ok"] is True
    assert body["models"][0]["name"] == "gemini-2.5-flash"  # the "models/" prefix is gone
    assert body["models"][0]["input_usd_per_mtok"] == "0.3"


def test_it_gives_null_prices_for_unknown_local_models(alice, api_client, fake_upstream) -> None:
    login(api_client, alice)
    key_id = create_key(
        api_client,
        provider="openai_compatible",
        base_url=fake_upstream.base_url("openai_compatible"),
    )
    body = api_client.post(f"/api/provider-keys/{key_id}/test/").json()
    assert body["ok"] is True
    assert body["models"]
    for model in body["models"]:
        assert model["input_usd_per_mtok"] is None
        assert model["output_usd_per_mtok"] is None


def test_it_reports_a_refused_key_without_echoing_it(
    alice, api_client, fake_upstream, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    login(api_client, alice)
    # OpenAI's real 401 quotes the key it got ("Incorrect API key provided: invalid-key. ...").
    key_id = create_key(
        api_client,
        provider="openai",
        api_key="invalid-key",
        base_url=fake_upstream.base_url("openai"),
    )
    fake_upstream.script(
        provider="openai", kind="fixture", fixture="openai_error_401.json", endpoint="models"
    )
    r = api_client.post(f"/api/provider-keys/{key_id}/test/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["ok"] is False
    assert body["models"] == []
    assert body["error"]["code"] == "provider_auth"
    assert body["error"]["message"]
    assert b"invalid-key" not in r.content
    for log in caplog.records:
        assert "invalid-key" not in log.getMessage()
    assert ProviderKey.objects.get(pk=key_id).last_used_at is None


def test_it_reports_an_unreachable_provider(alice, api_client) -> None:
    login(api_client, alice)
    # Port 9 (discard) on loopback: connection refused at once.
    key_id = create_key(
        api_client, provider="mistral", api_key=SECRET, base_url="http://127.0.0.1:9/v1"
    )
    r = api_client.post(f"/api/provider-keys/{key_id}/test/")
    assert r.status_code == 200, r.content
    assert r.json()["ok"] is False
    assert r.json()["error"]["code"] == "provider_unavailable"
    assert SECRET.encode() not in r.content
