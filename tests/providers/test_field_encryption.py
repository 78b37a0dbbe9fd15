"""Provider keys at rest: ciphertext in the column, independent of SECRET_KEY, and re-encrypted
all or nothing by `manage.py rotate_field_key`."""

from __future__ import annotations

import pickle
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from accounts.models import Organization
from core.fields import FieldKeyFernet
from providers.models import ProviderKey

SECRET = "sk-ant-api03-AtRestSecret-abcdefghijklmnop-XYZ1"
NEW_FIELD_KEY = "rotated-field-encryption-key-" + "n" * 20


def make_key(org: Organization, api_key: str = SECRET) -> ProviderKey:
    return ProviderKey.objects.create(
        organization=org, provider="anthropic", label="k", api_key=api_key, key_last4=api_key[-4:]
    )


def raw_column(key_id: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM chat_providerkey WHERE id = %s", [key_id])
        return bytes(cursor.fetchone()[0])


def read_key(key_id: int) -> str:
    return str(ProviderKey.objects.get(pk=key_id).api_key)


def test_it_stores_only_ciphertext(acme) -> None:
    key = make_key(acme)
    raw = raw_column(key.pk)
    assert SECRET.encode() not in raw
    assert SECRET[-12:].encode() not in raw
    assert pickle.dumps(SECRET) not in raw
    # ...and it is the field's own format under FIELD_ENCRYPTION_KEY.
    assert pickle.loads(FieldKeyFernet().decrypt(raw)) == SECRET  # noqa: S301


def test_it_survives_a_secret_key_change(acme) -> None:
    key = make_key(acme)
    with override_settings(SECRET_KEY="a-completely-different-secret-key-" + "z" * 30):
        assert read_key(key.pk) == SECRET


def test_it_cannot_be_read_with_another_field_key(acme) -> None:
    key = make_key(acme)
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_FIELD_KEY), pytest.raises(Exception):  # noqa: B017, PT011
        read_key(key.pk)


def test_it_rotates_every_key_to_the_new_field_key(acme, globex) -> None:
    first = make_key(acme)
    second = make_key(globex, api_key="sk-other-org-secret-000011112222")
    local = make_key(acme, api_key="")
    out = StringIO()
    call_command("rotate_field_key", new_key=NEW_FIELD_KEY, stdout=out)
    printed = out.getvalue()
    assert "Re-encrypted 3 provider key(s)." in printed
    assert "FIELD_ENCRYPTION_KEY" in printed
    assert NEW_FIELD_KEY not in printed
    assert SECRET not in printed
    # The old key no longer decrypts anything...
    with pytest.raises(Exception):  # noqa: B017, PT011
        read_key(first.pk)
    # ...the new one decrypts everything.
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_FIELD_KEY):
        assert read_key(first.pk) == SECRET
        assert read_key(second.pk) == "sk-other-org-secret-000011112222"
        assert read_key(local.pk) == ""


def test_it_reads_the_new_key_from_a_file(acme, tmp_path) -> None:
    key = make_key(acme)
    path = tmp_path / "field.key"
    path.write_text(NEW_FIELD_KEY + "\n", encoding="utf-8")
    call_command("rotate_field_key", new_key_file=str(path), stdout=StringIO())
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_FIELD_KEY):
        assert read_key(key.pk) == SECRET


def test_it_refuses_bad_new_keys(acme, tmp_path) -> None:
    key = make_key(acme)
    before = raw_column(key.pk)
    with pytest.raises(CommandError, match="at least 32"):
        call_command("rotate_field_key", new_key="short", stdout=StringIO())
    with (
        override_settings(FIELD_ENCRYPTION_KEY=NEW_FIELD_KEY),
        pytest.raises(CommandError, match="already in use"),
    ):
        call_command("rotate_field_key", new_key=NEW_FIELD_KEY, stdout=StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("rotate_field_key", new_key_file=str(tmp_path / "missing"), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("rotate_field_key", stdout=StringIO())
    assert raw_column(key.pk) == before


def test_it_changes_nothing_when_one_key_is_unreadable(acme) -> None:
    good = make_key(acme)
    with override_settings(FIELD_ENCRYPTION_KEY="some-stray-key-" + "s" * 30):
        stray = make_key(acme, api_key="sk-written-under-a-stray-key-000")
    with pytest.raises(CommandError, match=str(stray.pk)):
        call_command("rotate_field_key", new_key=NEW_FIELD_KEY, stdout=StringIO())
    # All or nothing: the readable row was not rewritten either.
    assert read_key(good.pk) == SECRET


def test_it_rotates_from_an_explicit_old_key(acme, tmp_path) -> None:
    old = "explicit-old-field-key-" + "o" * 20
    with override_settings(FIELD_ENCRYPTION_KEY=old):
        key = make_key(acme)
    old_file = tmp_path / "old.key"
    old_file.write_text(old, encoding="utf-8")
    call_command(
        "rotate_field_key", new_key=NEW_FIELD_KEY, old_key_file=str(old_file), stdout=StringIO()
    )
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_FIELD_KEY):
        assert read_key(key.pk) == SECRET
