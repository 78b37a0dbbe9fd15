"""chat 0002 adds Message.error_detail to a database that already holds messages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("chat", "0001_initial")]
AFTER = [("chat", "0002_message_error_detail")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def test_it_keeps_existing_failed_messages_with_no_detail(alice):
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE).apps
        conversation = old.get_model("chat", "Conversation").objects.create(
            organization_id=alice.membership.organization_id, user_id=alice.id
        )
        failed = old.get_model("chat", "Message").objects.create(
            conversation=conversation,
            role="assistant",
            status="failed",
            error_code="budget_exceeded",
            error_message="Your budget is used up for this period.",
        )
        new = _migrate(AFTER).loader.project_state(AFTER).apps
        message = new.get_model("chat", "Message").objects.get(pk=failed.pk)
        assert message.error_code == "budget_exceeded"
        assert message.error_detail is None
    finally:
        _migrate(_latest())


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
