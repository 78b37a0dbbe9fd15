"""Issue 13, item 13: a password needs 12+ characters and must not be a common one."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import login


@pytest.mark.parametrize(
    "password",
    ["Potluck1", "Potluck1234", "password1234", "123456789012", "qwertyuiop123"],
)
def test_it_refuses_short_or_common_passwords(alice, api_client: APIClient, password) -> None:
    login(api_client, alice)
    invite = api_client.post("/api/invitations/", {"email": "dave@acme.test"}, format="json")
    accept = APIClient(enforce_csrf_checks=False)
    r = accept.post(
        "/api/invitations/accept/",
        {"token": invite.json()["token"], "name": "Dave", "password": password},
        format="json",
    )
    assert r.status_code == 400, (password, r.content)
    assert "password" in r.json()["detail"]["fields"]
    r = accept.post(
        "/api/invitations/accept/",
        {"token": invite.json()["token"], "name": "Dave", "password": "twelve chars ok"},
        format="json",
    )
    assert r.status_code == 201, r.content
