"""Exact metering through `/v1/chat/completions` (issue 11), in process through the real ASGI
application: an answer that ends exactly at max_tokens, in any language, reaches the client whole,
streamed or not, and is billed as the provider reported it. See
tests/chat/generation/test_exact_metering.py for the engine's side of the same rules."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx2 as httpx
import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from billing.models import UsageRecord
from billing.pricing import TokenUsage, cost_usd
from chat.generation import model_price
from gateway.token_services import token_create
from tests.chat.support import make_model
from tests.fake_upstream import LANGUAGES, language_tokens
from tests.fake_upstream.plugin import FakeUpstream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

PROVIDERS = ["openai", "anthropic", "mistral", "gemini", "openai_compatible"]
MAX_TOKENS = 200
INPUT_TOKENS = 12  # the fake's reported prompt tokens
CUT_OFF_WARNING = "its output cap of"


def _content_of_stream(body: str) -> tuple[str, list[str | None], list[dict[str, Any]]]:
    """(text, finish reasons, usage objects) of an OpenAI-style SSE answer."""
    text, finishes, usages = "", [], []
    for line in body.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line.removeprefix("data: "))
        assert "error" not in chunk, chunk
        for choice in chunk["choices"]:
            text += choice["delta"].get("content") or ""
            finishes.append(choice["finish_reason"])
        if chunk.get("usage"):
            usages.append(chunk["usage"])
    return text, finishes, usages


def _rows_of(token_id: int) -> list[UsageRecord]:
    return list(UsageRecord.objects.filter(api_token_id=token_id))


async def _ledger_row(token_id: int) -> UsageRecord:
    """The call's one ledger row (settlement may follow the answer by a moment)."""
    rows: list[UsageRecord] = []
    for _ in range(200):
        rows = await database_sync_to_async(_rows_of)(token_id)
        if rows:
            break
        await asyncio.sleep(0.02)
    [row] = rows
    return row


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_it_answers_and_bills_a_full_answer_at_max_tokens(
    v1_client: httpx.AsyncClient,
    bob: User,
    fake_upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    provider: str,
    language: str,
    stream: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="chat.generation")
    model = await database_sync_to_async(make_model)(
        org=bob.membership.organization,
        provider=provider,
        base_url=fake_upstream.base_url(provider),
        model_id="m",
    )
    created = await database_sync_to_async(token_create)(user=bob, name="b")
    fake_upstream.script(provider=provider, language=language, past_max_tokens=0)
    body: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": "Say something"}],
        "max_tokens": MAX_TOKENS,
    }
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}

    r = await v1_client.post(
        "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {created.secret}"}
    )

    assert r.status_code == 200, r.text
    expected = "".join(language_tokens(language, MAX_TOKENS))
    if stream:
        text, finishes, usages = _content_of_stream(r.text)
        assert text == expected
        assert [f for f in finishes if f is not None] == ["length"]
        [usage] = usages
    else:
        [choice] = r.json()["choices"]
        assert choice["message"]["content"] == expected
        assert choice["finish_reason"] == "length"
        usage = r.json()["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (INPUT_TOKENS, MAX_TOKENS)
    assert fake_upstream.requests[0].max_tokens == MAX_TOKENS
    row = await _ledger_row(created.token.pk)
    assert row.estimated is False
    assert (row.input_tokens, row.output_tokens) == (INPUT_TOKENS, MAX_TOKENS)
    reported = TokenUsage(input_tokens=INPUT_TOKENS, output_tokens=MAX_TOKENS)
    assert row.cost_usd == cost_usd(reported, model_price(model).prices)
    assert not [r for r in caplog.records if CUT_OFF_WARNING in r.getMessage()]
