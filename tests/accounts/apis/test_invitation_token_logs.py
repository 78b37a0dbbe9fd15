"""Issue 13, item 10: an invitation token never travels in a URL Potluck asks for, and the logs
that see URLs (Django's request log, Caddy's access log) mask it."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from rest_framework.test import APIClient

from core.logging import RedactSecretPaths
from tests.conftest import login

CADDYFILE = Path(__file__).resolve().parents[3] / "docker" / "Caddyfile"


def test_it_takes_the_lookup_token_in_a_body_only(alice, api_client) -> None:
    login(api_client, alice)
    token = api_client.post("/api/invitations/", {"email": "dave@acme.test"}, format="json").json()[
        "token"
    ]
    guest = APIClient()
    assert guest.get("/api/invitations/lookup/", {"token": token}).status_code == 405
    r = guest.post("/api/invitations/lookup/", {"token": token}, format="json")
    assert r.status_code == 200
    assert r.json()["email"] == "dave@acme.test"


def test_it_masks_tokens_in_django_request_logs() -> None:
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/api/invitations/lookup/?token=s3cr3t-Token_1&x=1",),
        None,
    )
    RedactSecretPaths().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "x=1" in record.getMessage()


def test_it_masks_tokens_in_caddys_access_log() -> None:
    caddyfile = CADDYFILE.read_text(encoding="utf-8")
    match = re.search(r'request>uri regexp "([^"]+)" "([^"]+)"', caddyfile)
    assert match is not None, "the Caddyfile's log must filter request>uri"
    pattern, replacement = match.group(1), match.group(2).replace("${1}", r"\1")
    for uri in ("/invite/s3cr3t-Token_1", "/api/invitations/lookup/?token=s3cr3t-Token_1&a=b"):
        masked = re.sub(pattern, replacement, uri)
        assert "s3cr3t" not in masked
        assert "REDACTED" in masked
