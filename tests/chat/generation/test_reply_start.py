"""The chat socket's send path: messages stored and the answer's call admitted in one transaction
(`chat.generation.chat_reply_send` / `chat_reply_regenerate`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from billing.budgets import budget_set
from billing.models import Reservation
from chat import generation
from chat.models import Message, MessageStatus
from core.exceptions import ApplicationError
from providers.models import AIModel
from tests.chat.support import make_model

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def model(acme: Any) -> Any:
    return make_model(org=acme, model_id="m")


def _send(user: Any, **extra: Any) -> generation.ReplyStart:
    return generation.chat_reply_send(
        user=user, conversation_id=None, content="hello", model="m", **extra
    )


def test_it_admits_the_answer_in_the_transaction_that_stores_it(alice: Any, model: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        start = _send(alice)

    assert isinstance(start.admitted, tuple)
    admission, config = start.admitted
    assert config.api_key == "sk-test-secret-1234"
    reservation = Reservation.objects.get(call_id=admission.call_id)
    assert reservation.message_id == start.prepared.assistant_message_id
    assert reservation.conversation_id == start.prepared.conversation_id
    answer = Message.objects.get(pk=start.prepared.assistant_message_id)
    assert answer.status == MessageStatus.STREAMING
    # The gate gets the user and model the send loaded: neither is read again.
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sqls if f'FROM "{User._meta.db_table}"' in sql]
    assert len([sql for sql in sqls if f'FROM "{AIModel._meta.db_table}"' in sql]) == 1
    assert start.created is True


def test_it_keeps_the_messages_pending_when_the_budget_refuses(
    alice: Any, acme: Any, model: Any
) -> None:
    budget_set(
        organization=acme,
        actor=alice,
        scope="user",
        user_id=alice.id,
        limit_usd=Decimal("0.000000001"),
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )

    start = _send(alice)

    assert isinstance(start.admitted, ApplicationError)
    assert start.admitted.code == "budget_exceeded"
    answer = Message.objects.get(pk=start.prepared.assistant_message_id)
    assert answer.status == MessageStatus.PENDING
    assert Message.objects.filter(conversation_id=start.prepared.conversation_id).count() == 2
    assert Reservation.objects.count() == 0


def test_it_stores_the_messages_alone_when_the_ledger_is_unreachable(
    alice: Any, model: Any
) -> None:
    def no_reservations(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if Reservation._meta.db_table in sql:
            raise OperationalError("could not connect to server")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(no_reservations):
        start = _send(alice)

    # Left to the engine, which admits again (and fails with service_unavailable if it must).
    assert start.admitted is None
    answer = Message.objects.get(pk=start.prepared.assistant_message_id)
    assert answer.status == MessageStatus.PENDING
    assert Message.objects.filter(conversation_id=start.prepared.conversation_id).count() == 2
    assert Reservation.objects.count() == 0


def test_it_admits_a_regenerated_answer_too(alice: Any, model: Any) -> None:
    first = _send(alice)

    again = generation.chat_reply_regenerate(
        user=alice, message_id=first.prepared.assistant_message_id
    )

    assert isinstance(again.admitted, tuple)
    assert again.created is False
    sibling = Message.objects.get(pk=again.prepared.assistant_message_id)
    assert sibling.status == MessageStatus.STREAMING
    assert (
        sibling.parent_id == Message.objects.get(pk=first.prepared.assistant_message_id).parent_id
    )
    assert Reservation.objects.filter(message_id=sibling.pk).count() == 1


def test_it_marks_the_key_used_at_most_once_a_minute(alice: Any, model: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from providers.models import ProviderKey

    _send(alice)
    marked = ProviderKey.objects.get(pk=model.provider_key_id).last_used_at
    assert marked is not None

    _send(alice)
    assert ProviderKey.objects.get(pk=model.provider_key_id).last_used_at == marked

    stale = timezone.now() - timedelta(minutes=2)
    ProviderKey.objects.filter(pk=model.provider_key_id).update(last_used_at=stale)
    _send(alice)
    refreshed = ProviderKey.objects.get(pk=model.provider_key_id).last_used_at
    assert refreshed is not None
    assert refreshed > stale
