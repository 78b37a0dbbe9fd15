"""Issue 13, item 4: a member's failed answer carries a short message of ours and the error code,
never the upstream's body (an internal page reached through a base URL, a port's banner)."""

from __future__ import annotations

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.db import connections

from chat import generation, services
from chat.models import Message
from tests.chat.support import make_model
from tests.listener import listener

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_connection():
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.mark.parametrize("status", [400, 500])
async def test_it_keeps_upstream_bodies_from_members(status, alice) -> None:
    body = b'{"error": {"message": "root:x:0:0 INTERNAL-ONLY banner"}}'
    with listener(status=status, body=body) as internal:
        await database_sync_to_async(make_model)(
            org=alice.membership.organization,
            provider="openai_compatible",
            base_url=internal.url,
            model_id="m",
        )
        prepared, _ = await database_sync_to_async(services.message_send)(
            user=alice, conversation_id=None, content="hi", model="m"
        )
        result = await generation.start_chat_reply(prepared)
    assert result.status == "failed"
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.error_code in {"provider_error", "provider_unavailable"}
    assert f"(HTTP {status})" in message.error_message
    assert "INTERNAL-ONLY" not in message.error_message
