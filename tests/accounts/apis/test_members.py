from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Membership, Role
from tests.conftest import login
from tests.factories import make_user


def test_it_lists_members_with_role_status_and_spend(
    alice, bob, charlie, api_client: APIClient, django_assert_max_num_queries
) -> None:
    login(api_client, alice)
    with django_assert_max_num_queries(6):
        r = api_client.get("/api/members/")
    assert r.status_code == 200
    rows = {row["email"]: row for row in r.json()}
    assert set(rows) == {"alice@acme.test", "bob@acme.test"}  # charlie is in another org
    assert rows["bob@acme.test"]["role"] == "member"
    assert rows["bob@acme.test"]["is_active"] is True
    assert rows["bob@acme.test"]["spent_usd"] == "0.000000000"


def test_it_forbids_members_from_listing_or_changing(alice, bob, api_client) -> None:
    login(api_client, bob)
    assert api_client.get("/api/members/").status_code == 403
    r = api_client.patch(f"/api/members/{alice.pk}/", {"role": "member"}, format="json")
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_it_changes_a_role_and_audits_it(alice, bob, api_client) -> None:
    login(api_client, alice)
    r = api_client.patch(f"/api/members/{bob.pk}/", {"role": "admin"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["role"] == "admin"
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.actor == alice
    assert event.target_id == str(bob.pk)
    assert event.data == {"from": "member", "to": "admin"}


def test_it_deactivates_and_reactivates_with_audit(alice, bob, api_client) -> None:
    login(api_client, alice)
    r = api_client.patch(f"/api/members/{bob.pk}/", {"is_active": False}, format="json")
    assert r.json()["is_active"] is False
    bob.refresh_from_db()
    assert bob.is_active is False
    api_client.patch(f"/api/members/{bob.pk}/", {"is_active": True}, format="json")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["member.deactivated", "member.reactivated"]


def test_it_stops_an_admin_from_demoting_the_owner(alice, acme, api_client) -> None:
    admin = make_user(org=acme, role=Role.ADMIN)
    login(api_client, admin)
    r = api_client.patch(f"/api/members/{alice.pk}/", {"role": "member"}, format="json")
    assert r.status_code == 403
    r = api_client.patch(f"/api/members/{alice.pk}/", {"is_active": False}, format="json")
    assert r.status_code == 403
    other = make_user(org=acme, role=Role.MEMBER)
    r = api_client.patch(f"/api/members/{other.pk}/", {"role": "owner"}, format="json")
    assert r.status_code == 403
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_it_keeps_the_last_owner(alice, bob, api_client) -> None:
    login(api_client, alice)
    r = api_client.patch(f"/api/members/{alice.pk}/", {"role": "admin"}, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "last_owner"
    r = api_client.patch(f"/api/members/{alice.pk}/", {"is_active": False}, format="json")
    assert r.status_code == 400
    # With a second owner, the first may step down.
    api_client.patch(f"/api/members/{bob.pk}/", {"role": "owner"}, format="json")
    r = api_client.patch(f"/api/members/{alice.pk}/", {"role": "admin"}, format="json")
    assert r.status_code == 200


def test_it_answers_404_for_members_of_another_org(alice, charlie, api_client) -> None:
    login(api_client, charlie)
    r = api_client.patch(f"/api/members/{alice.pk}/", {"role": "member"}, format="json")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "payload",
    [{"role": "emperor"}, {"role": 3}, {"is_active": "maybe"}, {"nickname": "x"}],
)
def test_it_rejects_bad_member_updates(alice, bob, api_client, payload) -> None:
    login(api_client, alice)
    r = api_client.patch(f"/api/members/{bob.pk}/", payload, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
