from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Membership, Organization, Role, User

SETUP = {
    "org_name": "Acme",
    "name": "Alice",
    "email": "Alice@Acme.test",
    "password": "a long enough password 1",
    "time_zone": "Europe/Madrid",
}


@pytest.mark.django_db
def test_it_creates_the_first_org_and_owner_and_logs_in(api_client: APIClient) -> None:
    assert api_client.get("/api/setup/").json() == {"needed": True}
    r = api_client.post("/api/setup/", SETUP, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body == {
        "id": body["id"],
        "email": "alice@acme.test",
        "name": "Alice",
        "role": "owner",
        "is_active": True,
    }
    org = Organization.objects.get()
    assert org.time_zone == "Europe/Madrid"
    assert Membership.objects.get().role == Role.OWNER
    # The session is live: /me answers without another login.
    assert api_client.get("/api/auth/me/").json()["org"]["name"] == "Acme"
    assert AuditEvent.objects.filter(action="org.created").count() == 1
    assert api_client.get("/api/setup/").json() == {"needed": False}


@pytest.mark.django_db
def test_it_refuses_a_second_setup_with_409(api_client: APIClient) -> None:
    assert api_client.post("/api/setup/", SETUP, format="json").status_code == 201
    other = APIClient()
    r = other.post("/api/setup/", {**SETUP, "email": "eve@evil.test"}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "setup_done"
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_setup_once_create_org_made_a_user(alice, api_client: APIClient) -> None:
    r = api_client.post("/api/setup/", SETUP, format="json")
    assert r.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_concurrent_setups_through() -> None:
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        client = APIClient()
        barrier.wait()
        try:
            r = client.post("/api/setup/", {**SETUP, "email": f"owner{i}@acme.test"}, format="json")
            statuses.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    assert User.objects.count() == 1
    assert Organization.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "org_name"),
        ({**SETUP, "email": "not-an-email"}, "email"),
        ({**SETUP, "password": "short"}, "password"),
        ({**SETUP, "password": 12345678901}, "password"),
        ({**SETUP, "org_name": "x" * 201}, "org_name"),
        ({**SETUP, "time_zone": "Mars/Olympus"}, "time_zone"),
        ({**SETUP, "is_admin": True}, "is_admin"),
        ({**SETUP, "name": ["Alice"]}, "name"),
    ],
)
def test_it_rejects_bad_input_with_400_in_the_contract_shape(
    api_client: APIClient, payload: dict, field: str
) -> None:
    r = api_client.post("/api/setup/", payload, format="json")
    assert r.status_code == 400, r.content
    body = r.json()
    assert body["code"] == "validation_error"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert field in body["detail"]["fields"]
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_body_that_is_not_json(api_client: APIClient) -> None:
    r = api_client.post("/api/setup/", "{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    r = api_client.post("/api/setup/", ["a", "list"], format="json")
    assert r.status_code == 400
