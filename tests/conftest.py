"""Shared fixtures. Alice owns Acme, Bob is a member of Acme, Charlie owns another organisation."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization, Role, User
from tests.factories import make_org, make_user

pytest_plugins = ["tests.fake_upstream.plugin"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    layer = str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).rsplit(".", 1)[-1]
    return [
        f"potluck: database {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db['NAME']}),"
        f" channel layer {layer}, celery broker {settings.CELERY_BROKER_URL.split(':')[0]}"
    ]


@pytest.fixture
def redis_url() -> str:
    """The REDIS_URL of the run. Skipped without one locally; in CI (CI=true) a missing REDIS_URL
    is a failure, not a skip."""
    from django.conf import settings

    url = settings.REDIS_URL
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must set REDIS_URL: this test needs a real Redis")
        pytest.skip("REDIS_URL is not set")
    return str(url)


@pytest.fixture
def acme(db: None) -> Organization:
    return make_org(name="Acme")


@pytest.fixture
def globex(db: None) -> Organization:
    return make_org(name="Globex")


@pytest.fixture
def alice(acme: Organization) -> User:
    return make_user(org=acme, role=Role.OWNER, email="alice@acme.test", name="Alice")


@pytest.fixture
def bob(acme: Organization) -> User:
    return make_user(org=acme, role=Role.MEMBER, email="bob@acme.test", name="Bob")


@pytest.fixture
def charlie(globex: Organization) -> User:
    return make_user(org=globex, role=Role.OWNER, email="charlie@globex.test", name="Charlie")


@pytest.fixture
def api_client() -> APIClient:
    """An API client that sends CSRF tokens like the SPA does (enforce_csrf_checks on)."""
    return APIClient(enforce_csrf_checks=True)


def login(client: APIClient, user: User) -> APIClient:
    """Log in through a real session and set the CSRF header the way the SPA does."""
    client.force_login(user)
    client.get("/api/auth/csrf/")
    token = client.cookies["csrftoken"].value
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test database, plus: async tests reach the ORM through asgiref's one
    shared sync thread (thread-sensitive `sync_to_async` outside any `async_to_sync`); its
    connection outlives the tests and would stop the test database from being dropped. Close it
    before the database goes (only in runs that set the database up)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
