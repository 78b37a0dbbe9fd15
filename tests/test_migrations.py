"""The migrations that moved ProviderKey and AIModel (chat → providers) and ApiToken (accounts →
gateway) apply on a fresh database and on one created by the previous main, with data in it.

The moves are state-only (`SeparateDatabaseAndState`, `db_table` kept), so rows written before the
move must be read unchanged through the new models, and the content types (with their permissions)
must follow the models instead of being created anew.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Organization, User
from billing.models import UsageRecord
from chat.models import Conversation, Message
from gateway.models import ApiToken
from providers.models import AIModel, ProviderKey
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

# The latest migrations of the previous main, before providers and gateway existed.
BEFORE: list[tuple[str, str | None]] = [
    ("accounts", "0003_api_token"),
    ("chat", "0002_message_error_detail"),
    ("billing", "0004_token_counter_warning_email"),
    ("providers", None),
    ("gateway", None),
]
BEFORE_NODES = [(app, name) for app, name in BEFORE if name is not None]
MOVED_TABLES = {"chat_providerkey", "chat_aimodel", "accounts_apitoken"}


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str | None]]:
    return list(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def restore_schema():
    yield
    _migrate(_latest())
    ContentType.objects.clear_cache()


def test_it_migrates_a_fresh_database(restore_schema):
    # Unapplying accounts takes every app that depends on it (auth's user is accounts.User).
    _migrate([("accounts", None), ("billing", None), ("chat", None)])
    assert not MOVED_TABLES & set(connection.introspection.table_names())

    _migrate(_latest())

    assert set(connection.introspection.table_names()) >= MOVED_TABLES
    org = Organization.objects.create(name="Acme")
    alice = make_user(org=org, email="alice@acme.test")
    key = ProviderKey.objects.create(
        organization=org, provider="openai", label="k", api_key="sk-fresh-1234"
    )
    model = AIModel.objects.create(
        organization=org,
        provider_key=key,
        model_id="gpt-4o-mini",
        name="gpt-4o-mini",
        input_usd_per_mtok=Decimal("0.15"),
        output_usd_per_mtok=Decimal("0.6"),
    )
    ApiToken.objects.create(
        organization=org, user=alice, name="t", prefix="pl-x", last4="abcd", secret_hash="h" * 64
    )
    assert list(key.models.all()) == [model]
    assert org.api_tokens.get().name == "t"


def test_it_keeps_data_written_before_the_move(alice, restore_schema):
    org_id, user_id = alice.membership.organization_id, alice.id
    old = _migrate(BEFORE).loader.project_state(BEFORE_NODES).apps
    tables = set(connection.introspection.table_names())
    assert tables >= MOVED_TABLES
    # The previous main's content type for ProviderKey, with a permission pointing at it.
    key_type = ContentType.objects.get(app_label="chat", model="providerkey")
    key_permission = Permission.objects.get(content_type=key_type, codename="change_providerkey")

    old_key = old.get_model("chat", "ProviderKey").objects.create(
        organization_id=org_id,
        provider="anthropic",
        label="Claude",
        api_key="sk-ant-before-the-move-9876",
        key_last4="9876",
    )
    old_model = old.get_model("chat", "AIModel").objects.create(
        organization_id=org_id,
        provider_key=old_key,
        model_id="claude-haiku",
        name="claude-haiku-4-5",
        input_usd_per_mtok=Decimal("1"),
        output_usd_per_mtok=Decimal("5"),
    )
    conversation = old.get_model("chat", "Conversation").objects.create(
        organization_id=org_id, user_id=user_id, title="Before", model="claude-haiku"
    )
    question = old.get_model("chat", "Message").objects.create(
        conversation=conversation, role="user", content="hello"
    )
    old.get_model("chat", "Message").objects.create(
        conversation=conversation, parent=question, role="assistant", content="hi", model="x"
    )
    old_token = old.get_model("accounts", "ApiToken").objects.create(
        organization_id=org_id,
        user_id=user_id,
        name="laptop",
        prefix="pl-abcdefgh",
        last4="wxyz",
        secret_hash="a" * 64,
        allowed_models=["claude-haiku"],
    )
    old.get_model("billing", "UsageRecord").objects.create(
        organization_id=org_id,
        user_id=user_id,
        model="claude-haiku",
        upstream_model="claude-haiku-4-5",
        provider="anthropic",
        provider_key_id=old_key.pk,
        conversation_id=conversation.pk,
        api_token_id=old_token.pk,
        source="api",
        call_id="call-before-the-move",
        input_tokens=10,
        output_tokens=20,
        input_usd_per_mtok=Decimal("1"),
        output_usd_per_mtok=Decimal("5"),
        cost_usd=Decimal("0.00011"),
    )

    _migrate(_latest())
    ContentType.objects.clear_cache()

    # The same rows, through the new apps' models (the encrypted key still decrypts).
    key = ProviderKey.objects.get(pk=old_key.pk)
    assert (key.provider, key.label, key.api_key) == (
        "anthropic",
        "Claude",
        "sk-ant-before-the-move-9876",
    )
    model = AIModel.objects.select_related("provider_key").get(pk=old_model.pk)
    assert model.provider_key == key
    assert model.provider == "anthropic"
    assert list(alice.membership.organization.ai_models.all()) == [model]
    token = ApiToken.objects.get(pk=old_token.pk)
    assert (token.user, token.allowed_models) == (User.objects.get(pk=user_id), ["claude-haiku"])
    assert list(alice.api_tokens.all()) == [token]
    messages = Message.objects.filter(conversation=Conversation.objects.get(pk=conversation.pk))
    assert [(m.role, m.content) for m in messages] == [("user", "hello"), ("assistant", "hi")]
    record = UsageRecord.objects.get(call_id="call-before-the-move")
    assert (record.provider_key_id, record.api_token_id) == (key.pk, token.pk)
    # Content types moved with their models: same rows, so permissions and admin history hold.
    assert ContentType.objects.get_for_model(ProviderKey).pk == key_type.pk
    assert ContentType.objects.get(pk=key_type.pk).app_label == "providers"
    assert Permission.objects.get(pk=key_permission.pk).content_type_id == key_type.pk
    assert not ContentType.objects.filter(app_label="chat", model="providerkey").exists()
    assert ContentType.objects.get_for_model(ApiToken).app_label == "gateway"


@pytest.mark.django_db(transaction=False)
def test_it_has_a_migration_for_every_model_change() -> None:
    # A moved model's state (db_table, indexes, constraints) must match the model exactly, or the
    # next makemigrations would write a real table change on top of the state-only move.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
