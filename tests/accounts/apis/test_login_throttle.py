"""Issue 13, items 5 and 11: the login throttles believe only trusted proxies' X-Forwarded-For
entries, limit each account as well as each address, and guard the Django admin's login too."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

BAD = {"email": "alice@acme.test", "password": "wrong password"}


@pytest.fixture
def rates(settings):
    def set_rates(*, login: str = "1000/min", account: str = "1000/min") -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"login": login, "login_account": account},
        }

    cache.clear()
    yield set_rates
    cache.clear()


def _client() -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/auth/csrf/")
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


def test_it_ignores_a_spoofed_x_forwarded_for_without_trusted_proxies(alice, rates) -> None:
    rates(login="3/min")
    client = _client()
    codes = [
        client.post(
            "/api/auth/login/", BAD, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}"
        ).status_code
        for i in range(28)
    ]
    assert codes[:3] == [400, 400, 400]
    assert set(codes[3:]) == {429}  # 25 attempts with varied X-Forwarded-For: all throttled


def test_it_believes_only_the_trusted_proxys_entry(alice, rates, settings) -> None:
    rates(login="3/min")
    settings.TRUSTED_PROXY_COUNT = 1
    client = _client()
    # The client's own prefix varies; the address the proxy appended does not.
    codes = [
        client.post(
            "/api/auth/login/", BAD, format="json", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.7"
        ).status_code
        for i in range(6)
    ]
    assert codes == [400, 400, 400, 429, 429, 429]
    # Another client behind the same proxy (same REMOTE_ADDR) has its own allowance.
    r = client.post("/api/auth/login/", BAD, format="json", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert r.status_code == 400


def test_it_throttles_each_account_across_addresses(alice, rates) -> None:
    rates(account="3/min")
    codes = [
        _client()
        .post(
            "/api/auth/login/",
            {**BAD, "email": "ALICE@acme.test"},
            format="json",
            REMOTE_ADDR=f"10.9.0.{i}",
        )
        .status_code
        for i in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]
    # Another account is not affected.
    r = _client().post("/api/auth/login/", {**BAD, "email": "bob@acme.test"}, format="json")
    assert r.status_code == 400


@pytest.fixture
def _plain_static_storage(settings) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.mark.usefixtures("_plain_static_storage")
def test_it_throttles_the_django_admin_login(alice, rates) -> None:
    rates(login="3/min")
    client = Client()
    assert client.get("/admin/login/").status_code == 200
    form = {"username": "alice@acme.test", "password": "wrong", "next": "/admin/"}
    codes = [client.post("/admin/login/", form).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]  # the form again with an error, then refused
