"""The engine against the fake upstream, for every ending and every provider: each provider call
writes exactly one ledger row, or none when it failed before any output."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.db import connections

from billing.models import Reservation, UsageRecord
from chat import generation, services
from chat.models import Message
from providers.models import AIModel
from tests.chat.support import make_model

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_connection():
    """The ORM runs in asgiref's worker thread; close its connection so the test database can
    be dropped at the end of the session (Postgres refuses while a session is open)."""
    yield
    await database_sync_to_async(connections.close_all)()


PROVIDERS = ["openai", "anthropic", "gemini", "mistral", "openai_compatible"]


@pytest.fixture
def model_for(acme, fake_upstream):
    def make(provider: str) -> AIModel:
        return make_model(
            org=acme, provider=provider, base_url=fake_upstream.base_url(provider), model_id="m"
        )

    return make


async def _send(user, content: str = "Say something", **kwargs) -> services.PreparedReply:
    prepared, _ = await database_sync_to_async(services.message_send)(
        user=user, conversation_id=None, content=content, model="m", **kwargs
    )
    return prepared


def _rows(message_id: int) -> list[UsageRecord]:
    return list(UsageRecord.objects.filter(message_id=message_id))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_completes_with_reported_usage(provider, alice, model_for, fake_upstream):
    await database_sync_to_async(model_for)(provider)
    fake_upstream.script(provider=provider, deltas=5, text="one two three four five")
    prepared = await _send(alice)
    result = await generation.start_chat_reply(prepared)
    assert result.status == "complete"
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "complete"
    assert message.content == "one two three four five"
    rows = await database_sync_to_async(_rows)(message.pk)
    assert len(rows) == 1
    assert rows[0].estimated is False
    assert rows[0].input_tokens == 12
    assert message.input_tokens == 12
    assert message.output_tokens == rows[0].output_tokens
    assert message.cost_usd == rows[0].cost_usd > 0
    # The prompt reached the provider with the gate's max_tokens.
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_stops_mid_stream(provider, alice, model_for, fake_upstream):
    await database_sync_to_async(model_for)(provider)
    fake_upstream.script(provider=provider, deltas=200, delay=0.02)
    prepared = await _send(alice)
    task = generation.start_chat_reply(prepared)
    await fake_upstream.wait_for_async(lambda f: len(f.requests) == 1)
    await asyncio.sleep(0.3)
    assert generation.stop_generation(message_id=prepared.assistant_message_id)
    result = await task
    assert result.status == "stopped"
    assert result.text  # some text had arrived
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "stopped"
    assert message.content == result.text
    rows = await database_sync_to_async(_rows)(message.pk)
    assert len(rows) == 1
    assert message.cost_usd == rows[0].cost_usd
    # The upstream connection was closed, not left to run (and bill) to the end.
    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_keeps_partial_content_on_a_mid_stream_error(
    provider, alice, model_for, fake_upstream
):
    await database_sync_to_async(model_for)(provider)
    fake_upstream.script(provider=provider, deltas=6, fail="midstream", fail_after=3)
    prepared = await _send(alice)
    result = await generation.start_chat_reply(prepared)
    assert result.status == "failed"
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "failed"
    assert message.content  # partial content kept
    assert message.error_code.startswith("provider_") or message.error_code
    rows = await database_sync_to_async(_rows)(message.pk)
    assert len(rows) == 1  # output began: charged
    assert rows[0].cost_usd > 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_charges_a_truncated_stream(provider, alice, model_for, fake_upstream):
    await database_sync_to_async(model_for)(provider)
    fake_upstream.script(provider=provider, deltas=6, fail="truncate", fail_after=2, usage=False)
    prepared = await _send(alice)
    result = await generation.start_chat_reply(prepared)
    assert result.status == "failed"
    rows = await database_sync_to_async(_rows)(prepared.assistant_message_id)
    assert len(rows) == 1
    assert rows[0].estimated is True


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_does_not_charge_an_error_before_output(provider, alice, model_for, fake_upstream):
    await database_sync_to_async(model_for)(provider)
    fake_upstream.script(provider=provider, status=401)
    prepared = await _send(alice)
    result = await generation.start_chat_reply(prepared)
    assert result.status == "failed"
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "failed"
    assert message.error_code == "provider_auth"
    assert message.content == ""
    assert await database_sync_to_async(_rows)(message.pk) == []
    reservation = await database_sync_to_async(Reservation.objects.get)(
        message_id=prepared.assistant_message_id
    )
    assert reservation.status == "released"


async def test_it_fails_a_refused_admission_but_keeps_the_user_message(
    alice, model_for, fake_upstream
):
    model = await database_sync_to_async(model_for)("openai")
    prepared = await _send(alice, content="keep me")
    model.enabled = False
    await database_sync_to_async(model.save)()
    result = await generation.start_chat_reply(prepared)
    assert result.status == "failed"
    assert result.error_code == "validation_error"
    user_message = await database_sync_to_async(
        Message.objects.filter(conversation_id=prepared.conversation_id, role="user").get
    )()
    assert user_message.content == "keep me"
    assert fake_upstream.requests == []
    assert await database_sync_to_async(UsageRecord.objects.count)() == 0


async def test_it_settles_everything_at_shutdown(alice, model_for, fake_upstream):
    await database_sync_to_async(model_for)("openai")
    fake_upstream.script(provider="openai", deltas=200, delay=0.02, times=None)
    first = await _send(alice)
    second = await _send(alice)
    tasks = [generation.start_chat_reply(first), generation.start_chat_reply(second)]
    await fake_upstream.wait_for_async(lambda f: len(f.requests) == 2)
    await asyncio.sleep(0.2)
    assert await generation.shutdown_generations(timeout=5) == 2
    assert all(t.done() for t in tasks)
    for prepared in (first, second):
        message = await database_sync_to_async(Message.objects.get)(
            pk=prepared.assistant_message_id
        )
        assert message.status == "stopped"
        assert len(await database_sync_to_async(_rows)(message.pk)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_cuts_off_a_provider_that_ignores_max_tokens(
    provider, alice, model_for, fake_upstream
):
    await database_sync_to_async(model_for)(provider)
    # Asked for at most 8 tokens, the provider streams 200 deltas (a token each) and no usage.
    fake_upstream.script(provider=provider, deltas=200, delay=0.005, usage=False)
    prepared = await _send(alice, max_tokens=8)
    result = await generation.start_chat_reply(prepared)
    assert result.status == "complete"
    words = result.text.split()
    # Cut at max_tokens and its margin (8 + 16), far before the 200th delta.
    assert len(words) == 24
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.content == result.text
    rows = await database_sync_to_async(_rows)(message.pk)
    assert len(rows) == 1
    # The overshoot is recorded, not written off: the row charges more than the 8 tokens asked,
    # and no more than the cut-off point.
    assert rows[0].estimated
    assert 8 < rows[0].output_tokens <= 24
    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)
