"""Issue 13, items 1, 2 and 4: a stored key only goes where it was entered for. Each case runs the
real adapters against real listeners on 127.0.0.1 (the "attacker" is a recording HTTP server)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from providers.models import ProviderKey
from tests.conftest import login
from tests.listener import listener

SECRET = "sk-proj-StoredSecret-0123456789-LAST"
NEW_SECRET = "sk-proj-EnteredAgain-9876543210-NEW1"


def create_key(client: APIClient, **body: object) -> int:
    r = client.post("/api/provider-keys/", {"label": "k", **body}, format="json")
    assert r.status_code == 201, r.content
    return int(r.json()["id"])


# --- 1: a new origin needs the key again ------------------------------------------------------


def test_it_needs_the_key_again_to_change_the_base_url_origin(
    alice, api_client, fake_upstream
) -> None:
    login(api_client, alice)
    key_id = create_key(
        api_client, provider="openai", api_key=SECRET, base_url=fake_upstream.base_url("openai")
    )
    with listener() as attacker:
        r = api_client.patch(
            f"/api/provider-keys/{key_id}/", {"base_url": f"{attacker.url}/v1"}, format="json"
        )
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "validation_error"
        assert "api_key" in r.json()["detail"]["fields"]
        assert ProviderKey.objects.get(pk=key_id).base_url == fake_upstream.base_url("openai")
        api_client.post(f"/api/provider-keys/{key_id}/test/")
        assert attacker.requests == []  # the stored key never left for the new origin

        # Entering the key again moves it, and the move is its own audit event.
        r = api_client.patch(
            f"/api/provider-keys/{key_id}/",
            {"base_url": f"{attacker.url}/v1", "api_key": NEW_SECRET},
            format="json",
        )
        assert r.status_code == 200, r.content
        api_client.post(f"/api/provider-keys/{key_id}/test/")
        [request] = attacker.requests
        assert request.headers["authorization"] == f"Bearer {NEW_SECRET}"
    event = AuditEvent.objects.get(action="provider_key.origin_changed")
    assert event.data == {"from": fake_upstream.base_url("openai"), "to": f"{attacker.url}/v1"}
    assert SECRET not in str(event.data)


def test_it_lets_the_path_change_on_the_same_origin_without_the_key(alice, api_client) -> None:
    login(api_client, alice)
    key_id = create_key(
        api_client, provider="openai", api_key=SECRET, base_url="https://llm.example.com/v1"
    )
    r = api_client.patch(
        f"/api/provider-keys/{key_id}/",
        {"base_url": "https://LLM.example.com:443/openai/v1"},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert not AuditEvent.objects.filter(action="provider_key.origin_changed").exists()
    # A key with no secret (a local server) has nothing to leak: no key needed.
    local_id = create_key(
        api_client, provider="openai_compatible", base_url="http://127.0.0.1:11434/v1"
    )
    r = api_client.patch(
        f"/api/provider-keys/{local_id}/", {"base_url": "http://ollama:11434/v1"}, format="json"
    )
    assert r.status_code == 200, r.content


@pytest.fixture
def _plain_static_storage(settings) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.mark.usefixtures("_plain_static_storage")
def test_it_needs_the_key_again_in_the_django_admin(acme) -> None:
    key = ProviderKey.objects.create(
        organization=acme, provider="openai", label="Team", api_key=SECRET, key_last4="LAST"
    )
    staff = User.objects.create_superuser("root@acme.test", "pw")
    client = Client()
    client.force_login(staff)
    change_url = f"/admin/providers/providerkey/{key.pk}/change/"
    form = {"organization": acme.pk, "provider": "openai", "label": "Team"}
    r = client.post(change_url, {**form, "base_url": "http://attacker.example/v1"})
    assert r.status_code == 200  # the form again, with the error
    key.refresh_from_db()
    assert key.base_url == ""
    # Switching the provider moves the default origin too (api.openai.com -> api.anthropic.com).
    r = client.post(change_url, {**form, "provider": "anthropic", "base_url": ""})
    assert r.status_code == 200
    key.refresh_from_db()
    assert key.provider == "openai"
    r = client.post(
        change_url,
        {**form, "base_url": "http://attacker.example/v1", "new_api_key": NEW_SECRET},
    )
    assert r.status_code == 302, r.content
    key.refresh_from_db()
    assert (key.base_url, key.api_key) == ("http://attacker.example/v1", NEW_SECRET)
    event = AuditEvent.objects.get(action="provider_key.origin_changed")
    assert event.data["to"] == "http://attacker.example/v1"


# --- 2: redirects are never followed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "header"),
    [("openai", "authorization"), ("anthropic", "x-api-key"), ("gemini", "x-goog-api-key")],
)
def test_it_never_follows_a_redirect_with_the_key(alice, api_client, provider, header) -> None:
    login(api_client, alice)
    with listener() as elsewhere, listener(status=302) as redirector:
        redirector.headers["Location"] = f"{elsewhere.url}/steal"
        key_id = create_key(
            api_client, provider=provider, api_key=SECRET, base_url=f"{redirector.url}/v1"
        )
        r = api_client.post(f"/api/provider-keys/{key_id}/test/")
        assert r.status_code == 200, r.content
        assert r.json()["ok"] is False
        assert r.json()["error"]["code"] == "provider_error"
        assert "redirect" in r.json()["error"]["message"]
        [first] = redirector.requests
        assert SECRET in first.headers[header]  # the key went where it was entered for ...
        assert elsewhere.requests == []  # ... and nowhere else


# --- 4: internal destinations need PROVIDER_ALLOWED_NETWORKS -----------------------------------


def test_it_refuses_internal_destinations_unless_allowed(alice, api_client, settings) -> None:
    login(api_client, alice)
    settings.PROVIDER_ALLOWED_NETWORKS = []
    with listener() as internal:
        port = internal.port
        urls = [
            f"http://127.0.0.1:{port}/v1",
            f"http://2130706433:{port}/v1",  # decimal 127.0.0.1: only getaddrinfo knows it
            f"http://localhost:{port}/v1",
            f"http://[::ffff:127.0.0.1]:{port}/v1",
        ]
        ids = [create_key(api_client, provider="openai_compatible", base_url=url) for url in urls]
        for key_id in ids:
            body = api_client.post(f"/api/provider-keys/{key_id}/test/").json()
            assert body["ok"] is False, (key_id, body)
            assert body["error"]["code"] == "provider_error"
            assert "not allowed" in body["error"]["message"]
        assert internal.requests == []  # refused before any connection

        # The operator allows loopback by network, or one internal server by name.
        settings.PROVIDER_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        assert api_client.post(f"/api/provider-keys/{ids[0]}/test/").json()["ok"] is True
        assert api_client.post(f"/api/provider-keys/{ids[1]}/test/").json()["ok"] is True
        settings.PROVIDER_ALLOWED_NETWORKS = ["localhost"]
        assert api_client.post(f"/api/provider-keys/{ids[2]}/test/").json()["ok"] is True
        assert api_client.post(f"/api/provider-keys/{ids[0]}/test/").json()["ok"] is False
        assert len(internal.requests) == 3


def test_it_shows_admins_only_a_short_sanitised_excerpt(alice, api_client) -> None:
    login(api_client, alice)
    page = "<html>" + "internal secret page " * 200 + "\x1b[2J</html>"
    with listener(status=400, body=page.encode()) as internal:
        key_id = create_key(api_client, provider="openai_compatible", base_url=internal.url)
        body = api_client.post(f"/api/provider-keys/{key_id}/test/").json()
    message = body["error"]["message"]
    assert message.startswith("The OpenAI-compatible server rejected the request (HTTP 400).")
    assert len(message) < 300
    assert "\x1b" not in message
