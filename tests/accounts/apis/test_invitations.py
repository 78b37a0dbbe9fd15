from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Invitation, Membership, User
from tests.conftest import login


def _invite(client: APIClient, email: str = "dave@acme.test", role: str = "member") -> dict:
    r = client.post("/api/invitations/", {"email": email, "role": role}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_it_invites_and_the_invitee_joins(alice, api_client) -> None:
    login(api_client, alice)
    invite = _invite(api_client)
    assert invite["url"].endswith(f"/invite/{invite['token']}")
    assert invite["status"] == "pending"
    # Only a hash of the token is stored.
    assert not Invitation.objects.filter(token_hash=invite["token"]).exists()

    guest = APIClient()
    lookup = guest.post("/api/invitations/lookup/", {"token": invite["token"]}, format="json")
    assert lookup.json()["org_name"] == "Acme"
    r = guest.post(
        "/api/invitations/accept/",
        {"token": invite["token"], "name": "Dave", "password": "another long password 2"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["email"] == "dave@acme.test"
    assert guest.get("/api/auth/me/").json()["org"]["name"] == "Acme"
    assert Membership.objects.get(user__email="dave@acme.test").organization.name == "Acme"
    assert {"invitation.created", "invitation.accepted"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    listed = api_client.get("/api/invitations/").json()
    assert listed[0]["status"] == "accepted"


def test_it_refuses_to_reuse_an_invitation(alice, api_client) -> None:
    login(api_client, alice)
    invite = _invite(api_client)
    body = {"token": invite["token"], "name": "Dave", "password": "another long password 2"}
    assert APIClient().post("/api/invitations/accept/", body, format="json").status_code == 201
    r = APIClient().post(
        "/api/invitations/accept/", {**body, "password": "yet another password 3"}, format="json"
    )
    assert r.status_code == 404
    assert r.json()["detail"] == {"status": "accepted"}
    assert User.objects.filter(email="dave@acme.test").count() == 1


def test_it_refuses_an_expired_invitation(alice, api_client) -> None:
    login(api_client, alice)
    invite = _invite(api_client)
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        r = APIClient().post(
            "/api/invitations/accept/",
            {"token": invite["token"], "name": "D", "password": "another long password 2"},
            format="json",
        )
    assert r.status_code == 404
    assert r.json()["detail"] == {"status": "expired"}


def test_it_revokes_an_invitation(alice, api_client) -> None:
    login(api_client, alice)
    invite = _invite(api_client)
    assert api_client.delete(f"/api/invitations/{invite['id']}/").status_code == 204
    r = APIClient().post(
        "/api/invitations/accept/",
        {"token": invite["token"], "name": "D", "password": "another long password 2"},
        format="json",
    )
    assert r.status_code == 404
    assert r.json()["detail"] == {"status": "revoked"}
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1
    # Revoking twice is a clear 400, not a 500.
    assert api_client.delete(f"/api/invitations/{invite['id']}/").status_code == 400


def test_it_refuses_an_unknown_token(db) -> None:
    r = APIClient().post(
        "/api/invitations/accept/",
        {"token": "made-up", "name": "D", "password": "another long password 2"},
        format="json",
    )
    assert r.status_code == 404
    lookup = APIClient().post("/api/invitations/lookup/", {"token": "made-up"}, format="json")
    assert lookup.status_code == 404


def test_it_keeps_invitations_inside_their_org(alice, charlie, api_client) -> None:
    login(api_client, alice)
    invite = _invite(api_client)
    other = login(APIClient(enforce_csrf_checks=True), charlie)
    assert other.delete(f"/api/invitations/{invite['id']}/").status_code == 404
    assert other.get("/api/invitations/").json() == []
    # The token joins Acme, never charlie's org, whoever presents it.
    r = other.post(
        "/api/invitations/accept/",
        {"token": invite["token"], "name": "D", "password": "another long password 2"},
        format="json",
    )
    assert r.status_code == 201
    assert Membership.objects.get(user__email="dave@acme.test").organization.name == "Acme"


def test_it_forbids_members_from_inviting(bob, api_client) -> None:
    login(api_client, bob)
    r = api_client.post("/api/invitations/", {"email": "x@acme.test"}, format="json")
    assert r.status_code == 403
    assert api_client.get("/api/invitations/").status_code == 403


def test_it_refuses_inviting_an_existing_user_or_bad_input(alice, bob, api_client) -> None:
    login(api_client, alice)
    r = api_client.post("/api/invitations/", {"email": "bob@acme.test"}, format="json")
    assert r.status_code == 400
    assert "email" in r.json()["detail"]["fields"]
    for payload in ({}, {"email": "x@y.test", "role": "god"}, {"email": "a" * 300 + "@x.io"}):
        r = api_client.post("/api/invitations/", payload, format="json")
        assert r.status_code == 400
        assert r.json()["code"] == "validation_error"


def test_it_refuses_a_weak_password_on_accept(alice, api_client) -> None:
    login(api_client, alice)
    invite = _invite(api_client)
    r = APIClient().post(
        "/api/invitations/accept/",
        {"token": invite["token"], "name": "D", "password": "123"},
        format="json",
    )
    assert r.status_code == 400
    assert "password" in r.json()["detail"]["fields"]
    # The invitation is still usable after the failed attempt.
    assert Invitation.objects.get().status == "pending"
