"""Issue 13, item 9: inviting an address answers the same whether or not it has an account in
another organisation; only the admin's own members are refused."""

from __future__ import annotations

from rest_framework.test import APIClient

from accounts.models import Invitation
from tests.conftest import login


def test_it_answers_alike_for_accounts_elsewhere_and_new_addresses(
    alice, bob, charlie, api_client: APIClient
) -> None:
    login(api_client, alice)
    elsewhere = api_client.post(
        "/api/invitations/", {"email": "Charlie@globex.test"}, format="json"
    )
    fresh = api_client.post("/api/invitations/", {"email": "nobody@new.test"}, format="json")
    assert (elsewhere.status_code, fresh.status_code) == (201, 201)
    assert set(elsewhere.json()) == set(fresh.json())
    # The org's own member is refused: the admin sees them in the member list anyway.
    own = api_client.post("/api/invitations/", {"email": "bob@acme.test"}, format="json")
    assert own.status_code == 400
    assert "email" in own.json()["detail"]["fields"]
    # Charlie stays in Globex: accepting cannot move an existing account.
    accept = APIClient().post(
        "/api/invitations/accept/",
        {"token": elsewhere.json()["token"], "name": "C", "password": "a long enough password"},
        format="json",
    )
    assert accept.status_code == 400
    assert Invitation.objects.get(email="charlie@globex.test").status == "pending"
    assert charlie.membership.organization.name == "Globex"
