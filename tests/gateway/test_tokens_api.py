"""REST for personal API tokens: who sees, creates and revokes what; the secret is shown once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from gateway.models import ApiToken
from gateway.token_services import token_secret_hash
from tests.chat.support import make_model
from tests.conftest import login


def test_it_creates_a_token_and_shows_the_secret_once(
    api_client: APIClient, bob: User, alice: User
) -> None:
    make_model(org=bob.membership.organization)
    login(api_client, bob)
    r = api_client.post(
        "/api/tokens/",
        {
            "name": "cli",
            "max_budget_usd": "5.5",
            "models": ["gpt-4o-mini"],
            "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    secret = body["token"]
    assert secret.startswith("pl-")
    assert body["prefix"] == secret[:11]
    assert body["last4"] == secret[-4:]
    assert body["max_budget_usd"] == "5.5"
    assert body["models"] == ["gpt-4o-mini"]
    row = ApiToken.objects.get(pk=body["id"])
    assert row.secret_hash == token_secret_hash(secret)
    assert secret not in str(ApiToken.objects.filter(pk=row.pk).values().first())
    listed = api_client.get("/api/tokens/").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert AuditEvent.objects.filter(action="token.created", target_id=str(row.pk)).exists()


def test_it_validates_input(api_client: APIClient, bob: User) -> None:
    login(api_client, bob)
    for bad in (
        {"name": "x", "max_budget_usd": 5},  # money must be a string
        {"name": "x", "models": ["no-such-model"]},
        {"name": "x", "expires_at": (timezone.now() - timedelta(days=1)).isoformat()},
        {"name": "x", "colour": "red"},
        {},
    ):
        r = api_client.post("/api/tokens/", bad, format="json")
        assert r.status_code == 400, bad
        assert r.json()["code"] == "validation_error"


def test_it_isolates_tokens_by_owner_role_and_org(
    api_client: APIClient, alice: User, bob: User, charlie: User
) -> None:
    login(api_client, bob)
    bobs = api_client.post("/api/tokens/", {"name": "bob's"}, format="json").json()
    alices_client = login(APIClient(enforce_csrf_checks=True), alice)
    alices = alices_client.post("/api/tokens/", {"name": "alice's"}, format="json").json()
    # Bob sees only his own and cannot revoke Alice's.
    assert [t["id"] for t in api_client.get("/api/tokens/").json()] == [bobs["id"]]
    assert api_client.delete(f"/api/tokens/{alices['id']}/").status_code == 404
    # Alice (owner) sees every token of the org, with the owner's email.
    listed = alices_client.get("/api/tokens/").json()
    assert {(t["id"], t["user"]["email"]) for t in listed} == {
        (bobs["id"], "bob@acme.test"),
        (alices["id"], "alice@acme.test"),
    }
    # Charlie (another org's owner) sees none and can revoke none.
    charlies_client = login(APIClient(enforce_csrf_checks=True), charlie)
    assert charlies_client.get("/api/tokens/").json() == []
    assert charlies_client.delete(f"/api/tokens/{bobs['id']}/").status_code == 404
    # Alice revokes Bob's: it leaves the lists at once and is audit-logged.
    assert alices_client.delete(f"/api/tokens/{bobs['id']}/").status_code == 204
    assert api_client.get("/api/tokens/").json() == []
    assert ApiToken.objects.get(pk=bobs["id"]).revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", target_id=str(bobs["id"])).exists()
    assert alices_client.delete(f"/api/tokens/{bobs['id']}/").status_code == 404


def test_it_requires_a_session(api_client: APIClient) -> None:
    assert api_client.get("/api/tokens/").status_code == 401
