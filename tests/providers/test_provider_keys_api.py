"""Provider keys over REST: admins only, validation in the contract's shape, and the secret never
leaves the server (responses, logs, audit events)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from providers.models import AIModel, ProviderKey
from tests.conftest import login

SECRET = "sk-proj-SuperSecretValue-0123456789abcdWXYZ"
OTHER_SECRET = "sk-proj-AnotherSecret-9876543210zyxvQRST"
KEY_FIELDS = {
    "id",
    "provider",
    "label",
    "base_url",
    "masked_key",
    "created_at",
    "rotated_at",
    "last_used_at",
}


def create_key(client: APIClient, **overrides: Any) -> dict[str, Any]:
    body = {"provider": "openai", "label": "Team OpenAI", "api_key": SECRET, **overrides}
    r = client.post("/api/provider-keys/", body, format="json")
    assert r.status_code == 201, r.content
    data: dict[str, Any] = r.json()
    return data


def assert_validation_error(r: Any, field: str) -> None:
    assert r.status_code == 400, r.content
    body = r.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "validation_error"
    assert field in body["detail"]["fields"], body


def test_it_creates_a_key_and_returns_only_the_masked_form(alice, api_client) -> None:
    login(api_client, alice)
    data = create_key(api_client)
    assert set(data) == KEY_FIELDS
    assert data["provider"] == "openai"
    assert data["masked_key"] == "…WXYZ"
    assert data["base_url"] == ""
    key = ProviderKey.objects.get(pk=data["id"])
    assert key.api_key == SECRET
    assert key.organization == alice.membership.organization
    event = AuditEvent.objects.get(action="provider_key.created")
    assert event.actor == alice
    assert event.target_id == str(key.pk)


def test_it_lists_only_the_callers_organisation(alice, charlie, api_client) -> None:
    login(api_client, charlie)
    create_key(api_client, label="Globex key")
    login(api_client, alice)
    mine = create_key(api_client)
    r = api_client.get("/api/provider-keys/")
    assert r.status_code == 200
    assert [row["id"] for row in r.json()] == [mine["id"]]


def test_it_forbids_members(alice, bob, api_client) -> None:
    login(api_client, alice)
    key = create_key(api_client)
    login(api_client, bob)
    assert api_client.get("/api/provider-keys/").status_code == 403
    r = api_client.post(
        "/api/provider-keys/",
        {"provider": "openai", "label": "x", "api_key": OTHER_SECRET},
        format="json",
    )
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    assert api_client.get(f"/api/provider-keys/{key['id']}/").status_code == 403
    r = api_client.patch(f"/api/provider-keys/{key['id']}/", {"label": "y"}, format="json")
    assert r.status_code == 403
    assert api_client.post(f"/api/provider-keys/{key['id']}/test/").status_code == 403
    assert api_client.delete(f"/api/provider-keys/{key['id']}/").status_code == 403
    assert ProviderKey.objects.get(pk=key["id"]).label == "Team OpenAI"


def test_it_hides_keys_from_outsiders(alice, charlie, api_client) -> None:
    login(api_client, alice)
    key = create_key(api_client)
    login(api_client, charlie)
    url = f"/api/provider-keys/{key['id']}/"
    assert api_client.get(url).status_code == 404
    r = api_client.patch(url, {"label": "mine now"}, format="json")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert api_client.post(f"{url}test/").status_code == 404
    assert api_client.delete(url).status_code == 404
    assert ProviderKey.objects.filter(pk=key["id"]).exists()


def test_it_requires_login(api_client) -> None:
    r = api_client.get("/api/provider-keys/")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "closedai", "label": "x", "api_key": SECRET}, "provider"),
        ({"label": "x", "api_key": SECRET}, "provider"),
        ({"provider": "openai", "api_key": SECRET}, "label"),
        ({"provider": "openai", "label": "x" * 101, "api_key": SECRET}, "label"),
        ({"provider": "openai", "label": 42, "api_key": SECRET}, "label"),
        ({"provider": "openai", "label": "x"}, "api_key"),
        ({"provider": "openai", "label": "x", "api_key": "  "}, "api_key"),
        ({"provider": "openai", "label": "x", "api_key": ["a"]}, "api_key"),
        ({"provider": "openai", "label": "x", "api_key": "k" * 4097}, "api_key"),
        (
            {"provider": "openai", "label": "x", "api_key": SECRET, "base_url": "ftp://h/v1"},
            "base_url",
        ),
        (
            {"provider": "openai", "label": "x", "api_key": SECRET, "base_url": "not a url"},
            "base_url",
        ),
        (
            {"provider": "openai", "label": "x", "api_key": SECRET, "base_url": "http://"},
            "base_url",
        ),
        ({"provider": "openai_compatible", "label": "Ollama"}, "base_url"),
        ({"provider": "openai", "label": "x", "api_key": SECRET, "secret": "1"}, "secret"),
    ],
)
def test_it_rejects_invalid_input(alice, api_client, body, field) -> None:
    login(api_client, alice)
    r = api_client.post("/api/provider-keys/", body, format="json")
    assert_validation_error(r, field)
    assert not ProviderKey.objects.exists()


def test_it_accepts_a_local_server_without_a_key(alice, api_client) -> None:
    login(api_client, alice)
    data = create_key(
        api_client,
        provider="openai_compatible",
        label="Ollama",
        api_key="",
        base_url="http://ollama:11434/v1/",
    )
    assert data["masked_key"] == "…"
    assert data["base_url"] == "http://ollama:11434/v1"  # single-label Docker host, slash trimmed
    assert ProviderKey.objects.get(pk=data["id"]).api_key == ""


def test_it_rejects_a_non_json_body(alice, api_client) -> None:
    login(api_client, alice)
    r = api_client.post("/api/provider-keys/", "{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"


def test_it_rotates_the_key_on_patch(alice, api_client) -> None:
    login(api_client, alice)
    key = create_key(api_client)
    url = f"/api/provider-keys/{key['id']}/"
    r = api_client.patch(url, {"label": "Renamed"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["label"] == "Renamed"
    assert r.json()["rotated_at"] is None  # a label change is not a rotation
    r = api_client.patch(url, {"api_key": OTHER_SECRET}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["masked_key"] == "…QRST"
    assert r.json()["rotated_at"] is not None
    stored = ProviderKey.objects.get(pk=key["id"])
    assert stored.api_key == OTHER_SECRET
    assert stored.rotated_at is not None
    assert AuditEvent.objects.filter(action="provider_key.updated").count() == 1
    assert AuditEvent.objects.filter(action="provider_key.rotated").count() == 1


def test_it_validates_patches(alice, api_client) -> None:
    login(api_client, alice)
    key = create_key(api_client)
    url = f"/api/provider-keys/{key['id']}/"
    assert_validation_error(
        api_client.patch(url, {"provider": "anthropic"}, format="json"), "provider"
    )
    assert_validation_error(api_client.patch(url, {"api_key": ""}, format="json"), "api_key")
    assert_validation_error(
        api_client.patch(url, {"base_url": "javascript:x"}, format="json"), "base_url"
    )
    assert_validation_error(api_client.patch(url, {"label": None}, format="json"), "label")
    stored = ProviderKey.objects.get(pk=key["id"])
    assert stored.api_key == SECRET
    assert stored.provider == "openai"


def test_it_deletes_a_key_and_its_models(alice, api_client) -> None:
    login(api_client, alice)
    key = create_key(api_client)
    r = api_client.post(
        "/api/models/", {"provider_key": key["id"], "name": "gpt-4o-mini"}, format="json"
    )
    assert r.status_code == 201, r.content
    r = api_client.delete(f"/api/provider-keys/{key['id']}/")
    assert r.status_code == 204
    assert not ProviderKey.objects.exists()
    assert not AIModel.objects.exists()
    event = AuditEvent.objects.get(action="provider_key.deleted")
    assert event.data["models"] == ["gpt-4o-mini"]


def test_it_never_exposes_the_secret(alice, api_client, caplog, fake_upstream) -> None:
    """Every endpoint's answers, every log record at DEBUG and every audit event are free of it."""
    caplog.set_level(logging.DEBUG)
    login(api_client, alice)
    bodies: list[bytes] = []

    def record(r: Any) -> Any:
        bodies.append(r.content)
        return r

    r = record(
        api_client.post(
            "/api/provider-keys/",
            {
                "provider": "openai",
                "label": "Team",
                "api_key": SECRET,
                "base_url": fake_upstream.base_url("openai"),
            },
            format="json",
        )
    )
    key_id = r.json()["id"]
    url = f"/api/provider-keys/{key_id}/"
    record(api_client.post(f"{url}test/"))
    record(api_client.get("/api/provider-keys/"))
    record(api_client.get(url))
    record(api_client.patch(url, {"label": "Renamed"}, format="json"))
    # A validation error next to a key in the same body must not echo the key.
    record(api_client.patch(url, {"api_key": OTHER_SECRET, "label": "x" * 200}, format="json"))
    record(
        api_client.post(
            "/api/provider-keys/",
            {"provider": "nope", "label": "Team", "api_key": SECRET},
            format="json",
        )
    )
    record(api_client.patch(url, {"api_key": OTHER_SECRET}, format="json"))
    record(
        api_client.post(
            "/api/models/", {"provider_key": key_id, "name": "gpt-4o-mini"}, format="json"
        )
    )
    record(api_client.get("/api/models/?all=1"))
    record(api_client.delete(url))
    assert len(bodies) == 11
    for body in bodies:
        assert SECRET.encode() not in body
        assert OTHER_SECRET.encode() not in body
        assert b'api_key":"sk' not in body
    for log in caplog.records:
        text = log.getMessage() + repr(log.args) + repr(getattr(log, "request", ""))
        assert SECRET not in text
        assert OTHER_SECRET not in text
    events = list(AuditEvent.objects.all())
    assert {e.action for e in events} >= {
        "provider_key.created",
        "provider_key.updated",
        "provider_key.rotated",
        "provider_key.deleted",
        "model.created",
    }
    for event in events:
        dumped = repr(event.data) + event.target_repr
        assert SECRET not in dumped
        assert OTHER_SECRET not in dumped
