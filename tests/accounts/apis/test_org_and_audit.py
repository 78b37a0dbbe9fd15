from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent, Membership, Organization, Role
from tests.conftest import login


def test_it_reads_the_org_for_any_member(bob, api_client) -> None:
    login(api_client, bob)
    body = api_client.get("/api/org/").json()
    assert body == {
        "id": body["id"],
        "name": "Acme",
        "time_zone": "UTC",
        "title_model": None,
        "default_max_tokens": 4096,
        "max_message_chars": 100_000,
    }


def test_it_lets_only_admins_change_the_org(alice, bob, api_client) -> None:
    login(api_client, bob)
    assert api_client.patch("/api/org/", {"name": "Mine"}, format="json").status_code == 403
    login(api_client, alice)
    r = api_client.patch(
        "/api/org/", {"name": "Acme Inc", "time_zone": "America/New_York"}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["time_zone"] == "America/New_York"
    event = AuditEvent.objects.get(action="org.updated")
    assert event.data["name"] == {"from": "Acme", "to": "Acme Inc"}


@pytest.mark.parametrize(
    "payload",
    [
        {"time_zone": "Nowhere/Land"},
        {"default_max_tokens": 0},
        {"default_max_tokens": "many"},
        {"max_message_chars": -5},
        {"title_model": "no-such-model"},
        {"owner": "me"},
        {"name": "x" * 201},
    ],
)
def test_it_rejects_bad_org_updates(alice, api_client, payload) -> None:
    login(api_client, alice)
    r = api_client.patch("/api/org/", payload, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "validation_error"
    assert Organization.objects.get(pk=alice.membership.organization_id).name == "Acme"


def test_it_shows_the_audit_log_to_admins_of_the_org_only(alice, bob, charlie, api_client):
    login(api_client, alice)
    api_client.patch(f"/api/members/{bob.pk}/", {"role": "admin"}, format="json")
    rows = api_client.get("/api/audit/").json()
    assert rows[0]["action"] == "member.role_changed"
    assert rows[0]["actor"] == {"id": alice.pk, "email": "alice@acme.test"}
    login(api_client, charlie)
    assert api_client.get("/api/audit/").json() == []
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    login(api_client, bob)
    assert api_client.get("/api/audit/").status_code == 403
    assert api_client.get("/api/audit/?limit=0").status_code == 403


def test_it_keeps_audit_events_append_only(alice) -> None:
    event = AuditEvent.objects.create(
        organization=alice.membership.organization, actor=alice, action="x", target_type="y"
    )
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_it_creates_an_org_from_the_command_line(db, capsys) -> None:
    call_command(
        "create_org",
        name="Initech",
        owner_email="peter@initech.test",
        owner_password="a long enough password 1",
    )
    membership = Membership.objects.get(user__email="peter@initech.test")
    assert membership.role == Role.OWNER
    assert membership.organization.name == "Initech"
    assert "Initech" in capsys.readouterr().out
    with pytest.raises(CommandError, match="email"):
        call_command(
            "create_org",
            name="Again",
            owner_email="peter@initech.test",
            owner_password="a long enough password 1",
        )


def test_it_needs_authentication_everywhere(api_client, db) -> None:
    for path in ("/api/org/", "/api/members/", "/api/invitations/", "/api/audit/"):
        r = api_client.get(path)
        assert r.status_code == 401, path
        assert r.json()["code"] == "not_authenticated"
