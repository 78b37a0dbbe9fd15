"""Models over REST: catalog-prefilled prices, money as decimal strings, ids with "/" and ":",
members read enabled models, admins write, outsiders get 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Organization
from core.exceptions import ApplicationError
from providers.models import AIModel, ProviderKey
from providers.selectors import aimodel_get_for_use, aimodel_list_for_user, provider_config_for
from providers.services import provider_key_mark_used
from tests.conftest import login

MODEL_FIELDS = {
    "id",
    "provider",
    "provider_key",
    "name",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cached_input_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "max_output_tokens",
    "enabled",
}


def make_key(org: Organization, provider: str = "openai", base_url: str = "") -> ProviderKey:
    return ProviderKey.objects.create(
        organization=org,
        provider=provider,
        label=provider,
        base_url=base_url,
        api_key="sk-models-test-secret-0000",
        key_last4="0000",
    )


def create_model(client: APIClient, **body: Any) -> dict[str, Any]:
    r = client.post("/api/models/", body, format="json")
    assert r.status_code == 201, r.content
    data: dict[str, Any] = r.json()
    return data


def test_it_prefills_prices_from_the_catalog(alice, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    data = create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    assert set(data) == MODEL_FIELDS
    assert data["id"] == "gpt-4o-mini"
    assert data["provider"] == "openai"
    assert data["input_usd_per_mtok"] == "0.15"
    assert data["output_usd_per_mtok"] == "0.6"
    assert data["cached_input_usd_per_mtok"] == "0.075"
    assert data["enabled"] is True
    stored = AIModel.objects.get(model_id="gpt-4o-mini")
    assert stored.input_usd_per_mtok == Decimal("0.15")
    assert AuditEvent.objects.filter(action="model.created", target_id=str(stored.pk)).exists()


def test_it_prefills_cache_write_prices_for_anthropic(alice, acme, api_client) -> None:
    key = make_key(acme, provider="anthropic")
    login(api_client, alice)
    data = create_model(api_client, provider_key=key.pk, name="claude-haiku-4-5", id="haiku")
    assert data["id"] == "haiku"
    assert data["name"] == "claude-haiku-4-5"
    assert (data["input_usd_per_mtok"], data["output_usd_per_mtok"]) == ("1", "5")
    assert data["cache_write_usd_per_mtok"] == "1.25"


def test_it_refuses_a_model_with_no_known_price(alice, acme, api_client) -> None:
    key = make_key(acme, provider="openai_compatible", base_url="http://localhost:11434/v1")
    login(api_client, alice)
    r = api_client.post(
        "/api/models/", {"provider_key": key.pk, "name": "llama3.2:latest"}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["code"] == "price_unknown"
    assert set(r.json()) == {"code", "message", "detail"}
    # Half a price is no price either.
    r = api_client.post(
        "/api/models/",
        {"provider_key": key.pk, "name": "llama3.2:latest", "input_usd_per_mtok": "0"},
        format="json",
    )
    assert r.json()["code"] == "price_unknown"
    assert not AIModel.objects.exists()
    # A free local model is created with explicit zero prices.
    data = create_model(
        api_client,
        provider_key=key.pk,
        name="llama3.2:latest",
        input_usd_per_mtok="0",
        output_usd_per_mtok="0",
    )
    assert (data["input_usd_per_mtok"], data["output_usd_per_mtok"]) == ("0", "0")
    assert data["cached_input_usd_per_mtok"] is None


def test_it_keeps_explicit_prices_apart_from_catalog_cache_rates(alice, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    data = create_model(
        api_client, provider_key=key.pk, name="gpt-4o-mini", input_usd_per_mtok="0.2"
    )
    assert data["input_usd_per_mtok"] == "0.2"
    assert data["output_usd_per_mtok"] == "0.6"  # the omitted one comes from the catalog
    assert data["cached_input_usd_per_mtok"] is None


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"input_usd_per_mtok": 0.15, "output_usd_per_mtok": "0.6"}, "input_usd_per_mtok"),
        ({"input_usd_per_mtok": "0.15", "output_usd_per_mtok": 1}, "output_usd_per_mtok"),
        ({"input_usd_per_mtok": "-1", "output_usd_per_mtok": "0.6"}, "input_usd_per_mtok"),
        ({"cached_input_usd_per_mtok": "abc"}, "cached_input_usd_per_mtok"),
        ({"input_usd_per_mtok": "0.0000000001", "output_usd_per_mtok": "1"}, "input_usd_per_mtok"),
        ({"input_usd_per_mtok": "NaN", "output_usd_per_mtok": "1"}, "input_usd_per_mtok"),
        ({"id": "has space"}, "id"),
        ({"id": "semi;colon"}, "id"),
        ({"id": "/leading"}, "id"),
        ({"id": "x" * 201}, "id"),
        ({"id": 5}, "id"),
        ({"name": "n" * 201}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"enabled": "yes"}, "enabled"),
        ({"provider_key": "1"}, "provider_key"),
        ({"provider_key": 999999}, "provider_key"),
        ({"price": "1"}, "price"),
    ],
)
def test_it_rejects_invalid_model_input(alice, acme, api_client, extra, field) -> None:
    key = make_key(acme)
    login(api_client, alice)
    body = {"provider_key": key.pk, "name": "gpt-4o-mini", **extra}
    r = api_client.post("/api/models/", body, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["detail"]["fields"], r.json()
    assert not AIModel.objects.exists()


def test_it_refuses_a_duplicate_id(alice, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    r = api_client.post(
        "/api/models/", {"provider_key": key.pk, "name": "gpt-4o-mini"}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert AIModel.objects.count() == 1


def test_it_addresses_ids_with_slash_and_colon(alice, acme, api_client) -> None:
    key = make_key(acme, provider="openai_compatible", base_url="https://openrouter.ai/api/v1")
    login(api_client, alice)
    routed = create_model(api_client, provider_key=key.pk, name="openai/gpt-4o")
    assert routed["id"] == "openai/gpt-4o"
    assert routed["input_usd_per_mtok"] == "2.5"
    local = create_model(
        api_client,
        provider_key=key.pk,
        name="llama3.2:latest",
        input_usd_per_mtok="0",
        output_usd_per_mtok="0",
    )
    assert local["id"] == "llama3.2:latest"
    r = api_client.patch("/api/models/openai%2Fgpt-4o/", {"enabled": False}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["id"] == "openai/gpt-4o"
    assert r.json()["enabled"] is False
    r = api_client.patch(
        "/api/models/llama3.2%3Alatest/", {"output_usd_per_mtok": "0.5"}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["output_usd_per_mtok"] == "0.5"
    assert api_client.get("/api/models/openai%2Fgpt-4o/").json()["enabled"] is False
    assert api_client.delete("/api/models/openai%2Fgpt-4o/").status_code == 204
    assert api_client.delete("/api/models/openai%2Fgpt-4o/").status_code == 404
    assert list(AIModel.objects.values_list("model_id", flat=True)) == ["llama3.2:latest"]


def test_it_changes_prices_and_audits_them(alice, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    r = api_client.patch(
        "/api/models/gpt-4o-mini/",
        {"input_usd_per_mtok": "0.3", "cached_input_usd_per_mtok": None},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["input_usd_per_mtok"] == "0.3"
    assert r.json()["cached_input_usd_per_mtok"] is None
    event = AuditEvent.objects.get(action="model.updated")
    assert event.data == {"input_usd_per_mtok": "0.300000000", "cached_input_usd_per_mtok": None}
    for body in (
        {"input_usd_per_mtok": 0.3},
        {"input_usd_per_mtok": None},
        {"output_usd_per_mtok": "-0.1"},
        {"id": "renamed"},
        {"enabled": 1},
    ):
        r = api_client.patch("/api/models/gpt-4o-mini/", body, format="json")
        assert r.status_code == 400, body
        assert r.json()["code"] == "validation_error"
    assert AIModel.objects.get().input_usd_per_mtok == Decimal("0.3")


def test_the_first_enabled_model_titles_conversations_until_an_admin_chooses(
    alice, acme, api_client
) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    assert api_client.get("/api/org/").json()["title_model"] == "gpt-4o-mini"
    event = AuditEvent.objects.get(action="org.updated")
    assert event.data == {"title_model": {"from": "", "to": "gpt-4o-mini"}}
    assert event.actor_id == alice.pk
    # A second model changes nothing; neither does a later model once titles are turned off.
    create_model(api_client, provider_key=key.pk, name="gpt-4o")
    assert api_client.get("/api/org/").json()["title_model"] == "gpt-4o-mini"
    r = api_client.patch("/api/org/", {"title_model": None}, format="json")
    assert r.status_code == 200, r.content
    create_model(api_client, provider_key=key.pk, name="gpt-4.1-mini")
    assert api_client.get("/api/org/").json()["title_model"] is None


def test_a_first_model_added_disabled_does_not_title(alice, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini", enabled=False)
    assert api_client.get("/api/org/").json()["title_model"] is None
    assert not AuditEvent.objects.filter(action="org.updated").exists()


def test_it_moves_a_model_to_another_key_of_the_org_only(alice, acme, globex, api_client) -> None:
    key = make_key(acme)
    other = make_key(acme, provider="openai_compatible", base_url="https://openrouter.ai/api/v1")
    foreign = make_key(globex)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    r = api_client.patch("/api/models/gpt-4o-mini/", {"provider_key": foreign.pk}, format="json")
    assert r.status_code == 400
    assert "provider_key" in r.json()["detail"]["fields"]
    r = api_client.patch("/api/models/gpt-4o-mini/", {"provider_key": other.pk}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["provider_key"] == other.pk
    assert r.json()["provider"] == "openai_compatible"


def test_it_lists_enabled_models_to_members(alice, bob, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    create_model(api_client, provider_key=key.pk, name="gpt-4.1-nano", enabled=False)
    login(api_client, bob)
    assert [m["id"] for m in api_client.get("/api/models/").json()] == ["gpt-4o-mini"]
    # ?all=1 is an admin view; a member still sees only what they may use.
    assert [m["id"] for m in api_client.get("/api/models/?all=1").json()] == ["gpt-4o-mini"]
    login(api_client, alice)
    assert [m["id"] for m in api_client.get("/api/models/").json()] == ["gpt-4o-mini"]
    rows = api_client.get("/api/models/?all=1").json()
    assert [(m["id"], m["enabled"]) for m in rows] == [
        ("gpt-4.1-nano", False),
        ("gpt-4o-mini", True),
    ]


def test_it_lists_models_in_constant_queries(
    alice, acme, api_client, django_assert_num_queries
) -> None:
    key = make_key(acme)
    for n in range(5):
        AIModel.objects.create(
            organization=acme,
            provider_key=key,
            model_id=f"m{n}",
            name=f"m{n}",
            input_usd_per_mtok=Decimal(1),
            output_usd_per_mtok=Decimal(2),
        )
    login(api_client, alice)
    # session, user, membership (+ org), models with their keys
    with django_assert_num_queries(4):
        r = api_client.get("/api/models/")
    assert len(r.json()) == 5


def test_it_refuses_writes_by_members(alice, bob, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    login(api_client, bob)
    r = api_client.post(
        "/api/models/", {"provider_key": key.pk, "name": "gpt-4.1-nano"}, format="json"
    )
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    r = api_client.patch("/api/models/gpt-4o-mini/", {"enabled": False}, format="json")
    assert r.status_code == 403
    assert api_client.delete("/api/models/gpt-4o-mini/").status_code == 403
    assert AIModel.objects.get().enabled is True


def test_it_hides_models_from_outsiders(alice, charlie, acme, api_client) -> None:
    key = make_key(acme)
    login(api_client, alice)
    create_model(api_client, provider_key=key.pk, name="gpt-4o-mini")
    login(api_client, charlie)
    assert api_client.get("/api/models/").json() == []
    assert api_client.get("/api/models/gpt-4o-mini/").status_code == 404
    r = api_client.patch("/api/models/gpt-4o-mini/", {"enabled": False}, format="json")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert api_client.delete("/api/models/gpt-4o-mini/").status_code == 404
    # Alice's key id in Charlie's create is "no such key", not a way in.
    r = api_client.post(
        "/api/models/", {"provider_key": key.pk, "name": "gpt-4.1-nano"}, format="json"
    )
    assert r.status_code == 400
    assert "provider_key" in r.json()["detail"]["fields"]
    assert AIModel.objects.count() == 1


def test_it_gives_the_engine_enabled_models_only(alice, charlie, acme, globex) -> None:
    key = make_key(acme, base_url="http://127.0.0.1:9/v1")
    on = AIModel.objects.create(
        organization=acme,
        provider_key=key,
        model_id="on",
        name="gpt-4o-mini",
        input_usd_per_mtok=Decimal(1),
        output_usd_per_mtok=Decimal(2),
    )
    AIModel.objects.create(
        organization=acme,
        provider_key=key,
        model_id="off",
        name="gpt-4o-mini",
        input_usd_per_mtok=Decimal(1),
        output_usd_per_mtok=Decimal(2),
        enabled=False,
    )
    assert aimodel_get_for_use(org=acme, model_id="on") == on
    for org, model_id in ((acme, "off"), (acme, "missing"), (globex, "on")):
        with pytest.raises(ApplicationError) as info:
            aimodel_get_for_use(org=org, model_id=model_id)
        assert info.value.code == "validation_error"
        assert info.value.status == 400
    assert [m.model_id for m in aimodel_list_for_user(user=alice)] == ["on"]
    assert aimodel_list_for_user(user=charlie) == []
    config = provider_config_for(ai_model=on)
    assert (config.provider, config.api_key, config.base_url) == (
        "openai",
        "sk-models-test-secret-0000",
        "http://127.0.0.1:9/v1",
    )
    assert "sk-models-test-secret-0000" not in repr(config)


def test_it_marks_a_key_used(acme) -> None:
    key = make_key(acme)
    before = timezone.now()
    provider_key_mark_used(provider_key_id=key.pk)
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.last_used_at >= before
