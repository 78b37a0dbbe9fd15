"""Exact metering (issue 11): the engine meters output in tokens, never in bytes, whatever the
language, through every real adapter against the fake upstream over real HTTP.

The rules under test:
1. A provider that honours max_tokens is never cut off: the cut-off meter is max(text deltas,
   the provider's own running output count), and reported usage is billed exactly
   (`estimated=False`, cost = pricing.cost_usd of the reported tokens).
2. A provider streaming past max_tokens is cut off once the meter passes the cap
   max_tokens + max(16, max_tokens // 10): the message ends `complete` with finish "length", the
   text so far is kept, and the call is billed from the provider's usage if any arrived, else
   estimated with output tokens at most the cap.
3. Without any usage, the estimate never bills more output than the max_tokens sent (unless cut
   off per 2), nor more input than the prompt's upper bound computed at admission.

The answers are realistic multi-byte tokens, one per delta (tests/fake_upstream LANGUAGE_TOKENS):
an "👩‍💻" is 11 UTF-8 bytes and "東京" 6, so any byte-based meter or estimate shows here.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.db import connections

from billing.budgets import budget_set
from billing.models import UsageRecord
from billing.pricing import TokenUsage, cost_usd, prompt_tokens_upper_bound, worst_case_cost
from chat import generation, services
from chat.generation import model_price
from chat.models import Message
from providers.models import AIModel
from tests.chat.support import make_model
from tests.fake_upstream import LANGUAGES, language_tokens

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

PROVIDERS = ["openai", "anthropic", "mistral", "gemini", "openai_compatible"]
MAX_TOKENS = 200
# The engine's cut-off for a provider that ignores max_tokens (billing.gate.admission_output_cap).
CAP = MAX_TOKENS + max(16, MAX_TOKENS // 10)
INPUT_TOKENS = 12  # what the fake reports as the prompt's tokens unless told otherwise
PROMPT = "Say something"
CUT_OFF_WARNING = "its output cap of"


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_connection():
    """The ORM runs in asgiref's worker thread; close its connection so the test database can
    be dropped at the end of the session (Postgres refuses while a session is open)."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def model_for(acme, fake_upstream):
    def make(provider: str) -> AIModel:
        return make_model(
            org=acme, provider=provider, base_url=fake_upstream.base_url(provider), model_id="m"
        )

    return make


def answer(language: str, tokens: int) -> str:
    return "".join(language_tokens(language, tokens))


def deltas_in(text: str, language: str) -> int:
    """How many of the fake's tokens `text` holds; it must be exactly a run of them."""
    tokens = language_tokens(language, 4 * MAX_TOKENS)
    built = ""
    for count, token in enumerate(tokens):
        if built == text:
            return count
        built += token
    raise AssertionError(f"not a run of {language} tokens: {text[:80]!r}")


async def _send(user) -> services.PreparedReply:
    prepared, _ = await database_sync_to_async(services.message_send)(
        user=user, conversation_id=None, content=PROMPT, model="m", max_tokens=MAX_TOKENS
    )
    return prepared


def _prompt_upper(prepared: services.PreparedReply) -> int:
    """The prompt's upper bound exactly as admission computes it."""
    return prompt_tokens_upper_bound([t.content for t in prepared.turns], prepared.system)


def _rows(message_id: int) -> list[UsageRecord]:
    return list(UsageRecord.objects.filter(message_id=message_id))


def _ledger_total() -> Decimal:
    return sum((r.cost_usd for r in UsageRecord.objects.all()), Decimal(0))


def _cut_off_logged(caplog: pytest.LogCaptureFixture) -> bool:
    return any(CUT_OFF_WARNING in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_never_cuts_off_an_answer_that_ends_at_max_tokens(
    provider, language, alice, model_for, fake_upstream, caplog
):
    caplog.set_level(logging.WARNING, logger="chat.generation")
    model = await database_sync_to_async(model_for)(provider)
    fake_upstream.script(provider=provider, language=language, past_max_tokens=0)
    prepared = await _send(alice)

    result = await generation.start_chat_reply(prepared)

    [sent] = fake_upstream.requests
    assert sent.max_tokens == MAX_TOKENS
    assert sent.text_deltas == MAX_TOKENS
    assert result.status == "complete"
    assert result.finish_reason == "length"
    assert not _cut_off_logged(caplog)
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "complete"
    assert message.content == answer(language, MAX_TOKENS)
    [row] = await database_sync_to_async(_rows)(message.pk)
    assert row.estimated is False
    assert (row.input_tokens, row.output_tokens) == (INPUT_TOKENS, MAX_TOKENS)
    reported = TokenUsage(input_tokens=INPUT_TOKENS, output_tokens=MAX_TOKENS)
    assert row.cost_usd == cost_usd(reported, model_price(model).prices)
    assert message.cost_usd == row.cost_usd


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_fits_exactly_four_full_answers_in_a_budget_for_four(
    provider, language, alice, acme, model_for, fake_upstream, caplog
):
    caplog.set_level(logging.WARNING, logger="chat.generation")
    model = await database_sync_to_async(model_for)(provider)
    prices = model_price(model).prices
    prepared = [await _send(alice) for _ in range(5)]
    upper = _prompt_upper(prepared[0])
    # The provider reports the prompt at its upper bound, so each full answer costs its worst
    # case to the nano-dollar: a budget of four worst cases holds four answers and no more.
    fake_upstream.script(
        provider=provider,
        language=language,
        past_max_tokens=0,
        input_tokens=upper,
        times=None,
    )
    limit = 4 * worst_case_cost(upper, MAX_TOKENS, prices)
    await database_sync_to_async(budget_set)(
        organization=acme,
        actor=alice,
        scope="user",
        user_id=alice.id,
        limit_usd=limit,
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )

    results = [await generation.start_chat_reply(p) for p in prepared[:4]]

    for result in results:
        assert result.status == "complete"
        assert result.text == answer(language, MAX_TOKENS)
        assert result.record is not None
        assert result.record.estimated is False
        assert result.record.output_tokens == MAX_TOKENS
    assert [r.max_tokens for r in fake_upstream.requests] == [MAX_TOKENS] * 4
    assert not _cut_off_logged(caplog)
    spent = await database_sync_to_async(_ledger_total)()
    assert spent <= limit

    fifth = await generation.start_chat_reply(prepared[4])

    assert fifth.status == "failed"
    assert fifth.error_code == "budget_exceeded"
    assert len(fake_upstream.requests) == 4  # the provider was never called


@pytest.mark.parametrize("usage", [True, False], ids=["usage", "no_usage"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_cuts_off_a_provider_that_ignores_max_tokens_just_past_the_cap(
    provider, language, usage, alice, model_for, fake_upstream
):
    model = await database_sync_to_async(model_for)(provider)
    # Asked for MAX_TOKENS, the provider streams three times as many. It pauses before its last
    # token, so it is still streaming when the engine hangs up, however slow the machine.
    fake_upstream.script(
        provider=provider,
        language=language,
        past_max_tokens=2 * MAX_TOKENS,
        usage=usage,
        stall_after=3 * MAX_TOKENS - 1,
        stall=30.0,
    )
    prepared = await _send(alice)

    result = await generation.start_chat_reply(prepared)

    assert result.status == "complete"
    assert result.finish_reason == "length"
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "complete"
    assert message.content == result.text
    kept = deltas_in(message.content, language)
    # Not cut before the honest limit, and not read past the cap.
    assert MAX_TOKENS < kept <= CAP
    [row] = await database_sync_to_async(_rows)(message.pk)
    if row.estimated:
        # No usage arrived before the cut: no more than the cap is billed.
        assert 0 < row.output_tokens <= CAP
        assert row.input_tokens <= _prompt_upper(prepared)
    else:
        # A running count arrived (Gemini reports one on every chunk): billed as reported. The
        # count on the chunk that passed the cap may be one past it.
        assert row.input_tokens == INPUT_TOKENS
        assert kept <= row.output_tokens <= CAP + 1
    billed = TokenUsage(input_tokens=row.input_tokens, output_tokens=row.output_tokens)
    assert row.cost_usd == cost_usd(billed, model_price(model).prices)
    # The engine hung up: the provider did not get to stream its 3x answer to the end.
    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)
    assert fake_upstream.requests[0].text_deltas < 3 * MAX_TOKENS


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_estimates_a_stopped_answer_within_max_tokens(
    provider, language, alice, model_for, fake_upstream
):
    await database_sync_to_async(model_for)(provider)
    # The whole answer, then silence before the finish: no usage has arrived when it is stopped.
    fake_upstream.script(
        provider=provider,
        language=language,
        past_max_tokens=0,
        usage=False,
        stall_after=MAX_TOKENS,
        stall=10.0,
    )
    prepared = await _send(alice)
    task = generation.start_chat_reply(prepared)
    assert await fake_upstream.wait_for_async(
        lambda f: bool(f.requests) and f.requests[0].text_deltas == MAX_TOKENS
    )
    await asyncio.sleep(0.3)  # let the engine read what was written

    assert generation.stop_generation(message_id=prepared.assistant_message_id)
    result = await task

    assert result.status == "stopped"
    message = await database_sync_to_async(Message.objects.get)(pk=prepared.assistant_message_id)
    assert message.status == "stopped"
    assert message.content == result.text
    assert 0 < deltas_in(message.content, language) <= MAX_TOKENS
    [row] = await database_sync_to_async(_rows)(message.pk)
    assert row.estimated is True
    assert 0 < row.output_tokens <= MAX_TOKENS
    assert row.input_tokens <= _prompt_upper(prepared)
    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)
