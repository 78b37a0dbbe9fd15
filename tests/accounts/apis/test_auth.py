from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import login
from tests.factories import PASSWORD


def _csrf(client: APIClient) -> None:
    client.get("/api/auth/csrf/")
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def test_it_logs_in_with_email_and_password(alice, api_client: APIClient) -> None:
    _csrf(api_client)
    r = api_client.post(
        "/api/auth/login/", {"email": "ALICE@acme.test", "password": PASSWORD}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["role"] == "owner"
    me = api_client.get("/api/auth/me/").json()
    assert me["email"] == "alice@acme.test"
    assert me["org"]["name"] == "Acme"


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "alice@acme.test", "password": "wrong password"},
        {"email": "nobody@acme.test", "password": PASSWORD},
    ],
)
def test_it_refuses_wrong_credentials_with_one_message(
    alice, api_client: APIClient, credentials: dict
) -> None:
    _csrf(api_client)
    r = api_client.post("/api/auth/login/", credentials, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_credentials"
    assert api_client.get("/api/auth/me/").status_code == 401


def test_it_refuses_a_deactivated_user(alice, bob, api_client: APIClient) -> None:
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    _csrf(api_client)
    r = api_client.post(
        "/api/auth/login/", {"email": bob.email, "password": PASSWORD}, format="json"
    )
    assert r.status_code == 400


def test_it_rejects_missing_fields(api_client: APIClient, db) -> None:
    _csrf(api_client)
    r = api_client.post("/api/auth/login/", {"email": "alice@acme.test"}, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert "password" in r.json()["detail"]["fields"]


def test_it_enforces_csrf_on_unsafe_methods(alice, api_client: APIClient) -> None:
    api_client.force_login(alice)
    r = api_client.post("/api/auth/logout/")
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    _csrf(api_client)
    assert api_client.post("/api/auth/logout/").status_code == 204
    assert api_client.get("/api/auth/me/").status_code == 401


def test_it_answers_401_to_anonymous_me(api_client: APIClient, db) -> None:
    r = api_client.get("/api/auth/me/")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"


def test_it_throttles_repeated_login_attempts(alice, api_client: APIClient, settings) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login": "3/min", "login_account": "100/min"},
    }
    _csrf(api_client)
    bad = {"email": "alice@acme.test", "password": "nope"}
    codes = [api_client.post("/api/auth/login/", bad, format="json").status_code for _ in range(4)]
    cache.clear()
    assert codes == [400, 400, 400, 429]
    r = api_client.post("/api/auth/login/", bad, format="json")
    assert r.json()["code"] in {"rate_limited", "invalid_credentials"}


def test_it_lets_a_logged_in_member_see_their_org(bob, api_client: APIClient) -> None:
    login(api_client, bob)
    me = api_client.get("/api/auth/me/").json()
    assert me["role"] == "member"
    assert set(me) >= {"id", "email", "name", "role", "org"}
