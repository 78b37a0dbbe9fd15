"""The Django admin for provider keys: the secret is write-only, never rendered."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEvent, User
from providers.models import ProviderKey

SECRET = "sk-admin-page-Secret-0123456789-ABCD"
NEW_SECRET = "sk-admin-page-Rotated-9876543210-EFGH"


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # The manifest storage needs collectstatic; admin pages only need some static URL here.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_it_never_renders_the_key_and_rotates_through_a_write_only_input(acme) -> None:
    key = ProviderKey.objects.create(
        organization=acme, provider="openai", label="Team", api_key=SECRET, key_last4="ABCD"
    )
    staff = User.objects.create_superuser("root@acme.test", "pw")
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/providers/providerkey/")
    assert listing.status_code == 200
    assert b"\xe2\x80\xa6ABCD" in listing.content  # "…ABCD"
    change_url = f"/admin/providers/providerkey/{key.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200
    assert SECRET.encode() not in listing.content
    assert SECRET.encode() not in page.content
    # Saving without a new key keeps the old one.
    form = {"organization": acme.pk, "provider": "openai", "label": "Renamed", "base_url": ""}
    r = client.post(change_url, {**form, "new_api_key": ""})
    assert r.status_code == 302, r.content
    key.refresh_from_db()
    assert (key.label, key.api_key, key.rotated_at) == ("Renamed", SECRET, None)
    r = client.post(change_url, {**form, "new_api_key": NEW_SECRET})
    assert r.status_code == 302, r.content
    key.refresh_from_db()
    assert key.api_key == NEW_SECRET
    assert key.masked_key == "…EFGH"
    assert key.rotated_at is not None
    assert AuditEvent.objects.filter(action="provider_key.rotated").count() == 1
    assert NEW_SECRET.encode() not in client.get(change_url).content


def test_it_requires_a_key_for_hosted_providers_on_create(acme) -> None:
    staff = User.objects.create_superuser("root@acme.test", "pw")
    client = Client()
    client.force_login(staff)
    form = {"organization": acme.pk, "provider": "openai", "label": "Team", "base_url": ""}
    r = client.post("/admin/providers/providerkey/add/", {**form, "new_api_key": ""})
    assert r.status_code == 200  # the form again, with the error
    assert not ProviderKey.objects.exists()
    r = client.post("/admin/providers/providerkey/add/", {**form, "new_api_key": SECRET})
    assert r.status_code == 302
    assert ProviderKey.objects.get().api_key == SECRET


def test_it_redirects_the_admin_links_from_before_the_move_out_of_chat(acme) -> None:
    staff = User.objects.create_superuser("root@acme.test", "pw")
    client = Client()
    client.force_login(staff)
    r = client.get("/admin/chat/providerkey/7/change/?_popup=1")
    new_url = "/admin/providers/providerkey/7/change/?_popup=1"
    assert (r.status_code, r["Location"]) == (301, new_url)
    r = client.get("/admin/chat/aimodel/")
    assert (r.status_code, r["Location"]) == (301, "/admin/providers/aimodel/")
    assert client.get("/admin/providers/aimodel/").status_code == 200
