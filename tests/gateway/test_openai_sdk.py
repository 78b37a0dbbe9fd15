"""The /v1 API through the official `openai` SDK against a live Potluck (Daphne, real ASGI app)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import openai
import pytest

from tests.gateway.conftest import MODELS, Live


def sdk(live: Live, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=secret, max_retries=0, timeout=30)


def ledger_row(live: Live, *, token_id: int, count: int = 1) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _ in range(100):
        rows = [r for r in live.records() if r["api_token"] == token_id]
        if len(rows) >= count:
            break
        time.sleep(0.05)
    return rows


def test_it_lists_models(live: Live) -> None:
    token = live.token(live.bob)
    models = sdk(live, token["token"]).models.list()
    assert sorted(m.id for m in models.data) == sorted(MODELS.values())
    assert {m.owned_by for m in models.data} == set(MODELS)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_it_completes_and_bills_like_the_upstream(live: Live, provider: str) -> None:
    token = live.token(live.bob)
    live.fake.script(
        provider=provider,
        text="Hello there friend",
        deltas=3,
        input_tokens=40,
        cached_tokens=8,
        output_tokens=9,
        reasoning_tokens=2,
    )
    completion = sdk(live, token["token"]).chat.completions.create(
        model=MODELS[provider],
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=100,
        temperature=0.5,
        stop=["\n\n"],
        user="script-1",
    )
    assert completion.object == "chat.completion"
    assert completion.model == MODELS[provider]
    assert completion.choices[0].message.content == "Hello there friend"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (40, 9, 49)
    assert usage.prompt_tokens_details
    assert usage.prompt_tokens_details.cached_tokens == 8
    assert usage.completion_tokens_details
    assert usage.completion_tokens_details.reasoning_tokens == 2
    [row] = ledger_row(live, token_id=token["id"])
    assert row["source"] == "api"
    assert (row["input_tokens"], row["cached_input_tokens"]) == (40, 8)
    assert (row["output_tokens"], row["reasoning_tokens"]) == (9, 2)
    # (40 - 8) x $1 + 8 x $0.5 + 9 x $2, per million tokens
    assert Decimal(row["cost_usd"]) == Decimal("0.000054")
    sent = live.fake.requests[-1].json
    assert sent is not None
    if provider == "openai":
        assert sent["stop"] == ["\n\n"]
        assert sent["temperature"] == 0.5


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_it_streams_with_usage(live: Live, provider: str) -> None:
    token = live.token(live.bob)
    live.fake.script(
        provider=provider, text="one two three four", deltas=4, input_tokens=20, output_tokens=4
    )
    stream = sdk(live, token["token"]).chat.completions.create(
        model=MODELS[provider],
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=50,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (20, 4)
    [row] = ledger_row(live, token_id=token["id"])
    assert (row["input_tokens"], row["output_tokens"], row["source"]) == (20, 4, "api")


def test_it_sends_an_honest_overhead_header(live: Live) -> None:
    token = live.token(live.bob)
    live.fake.script(provider="openai", deltas=4, delay=0.05)
    r = httpx.post(
        f"{live.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {token['token']}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    overhead = float(r.headers["x-potluck-overhead-ms"])
    upstream = float(r.headers["x-potluck-upstream-ms"])
    assert upstream >= 150  # 3 gaps of 50 ms between 4 deltas
    assert 0 < overhead < r.elapsed.total_seconds() * 1000


def test_it_refuses_with_402_when_the_token_cap_is_spent(live: Live) -> None:
    token = live.token(live.bob, max_budget_usd="0.0005")
    client = sdk(live, token["token"])
    live.fake.script(provider="openai", input_tokens=1000, output_tokens=8)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=64
    )  # costs $0.001016: over the cap, charged anyway (overshoot is recorded, never written off)
    # The answer goes out before settlement; once the ledger has the row, the cap is spent.
    assert len(ledger_row(live, token_id=token["id"])) == 1
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=64
        )
    assert caught.value.status_code == 402
    body: Any = caught.value.body
    assert body["code"] == "budget_exceeded"
    assert body["type"] == "budget_exceeded"
    # Beyond OpenAI's envelope: which budget refused (the token's cap) and its amounts.
    assert body["detail"]["scope"] == "token"
    assert Decimal(body["detail"]["limit_usd"]) == Decimal("0.0005")
    assert len(ledger_row(live, token_id=token["id"])) == 1


def test_it_refuses_with_402_when_the_member_budget_is_spent(live: Live) -> None:
    token = live.token(live.bob)
    r = live.alice.put(
        f"/api/budgets/users/{live.bob_id}/",
        json={"limit_usd": "0", "period": "monthly", "enforcement": "hard", "warn_at_percent": []},
    )
    assert r.status_code == 200, r.text
    try:
        with pytest.raises(openai.APIStatusError) as caught:
            sdk(live, token["token"]).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        assert caught.value.status_code == 402
        assert caught.value.code == "budget_exceeded"
    finally:
        live.alice.put(
            f"/api/budgets/users/{live.bob_id}/",
            json={
                "limit_usd": None,
                "period": "monthly",
                "enforcement": "hard",
                "warn_at_percent": [],
            },
        )


def test_it_answers_401_after_revocation(live: Live) -> None:
    token = live.token(live.bob)
    client = sdk(live, token["token"])
    assert client.models.list().data  # cached now
    r = live.bob.delete(f"/api/tokens/{token['id']}/")
    assert r.status_code == 204
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.code == "not_authenticated"
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )


def test_it_holds_the_model_allow_list(live: Live) -> None:
    token = live.token(live.bob, models=["claude-haiku-4-5"])
    client = sdk(live, token["token"])
    assert [m.id for m in client.models.list().data] == ["claude-haiku-4-5"]
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "not_found"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )


def test_it_maps_provider_errors(live: Live) -> None:
    token = live.token(live.bob)
    client = sdk(live, token["token"])
    live.fake.script(
        provider="openai",
        kind="fixture",
        fixture="openai_error_429_rate_limit.json",
        headers={"retry-after": "30"},
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "provider_rate_limited"
    live.fake.script(provider="openai", kind="fixture", fixture="openai_error_401.json")
    with pytest.raises(openai.APIStatusError) as error:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert (error.value.status_code, error.value.code) == (502, "provider_auth")
    assert ledger_row(live, token_id=token["id"], count=0) == []


def test_it_refuses_bad_requests_in_openais_envelope(live: Live) -> None:
    token = live.token(live.bob)
    r = httpx.post(
        f"{live.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {token['token']}"},
        json={"model": "gpt-4o-mini", "messages": [], "max_tokens": 0},
    )
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "`messages` must be a non-empty list.",
        "type": "validation_error",
        "code": "validation_error",
        "param": "messages",
    }
    r = httpx.get(f"{live.url}/v1/models")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_it_stops_and_charges_when_the_client_disconnects(live: Live) -> None:
    token = live.token(live.bob)
    live.fake.script(provider="openai", deltas=200, delay=0.05)
    with httpx.stream(
        "POST",
        f"{live.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {token['token']}"},
        json={
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "long"}],
        },
        timeout=30,
    ) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        got = [next(lines) for _ in range(6)]
        assert any(line.startswith("data: ") for line in got)
    # The upstream connection was closed and the partial answer charged.
    assert live.fake.wait_for(lambda f: bool(f.disconnects), timeout=10)
    [row] = ledger_row(live, token_id=token["id"])
    assert row["estimated"] is True
    assert 0 < row["output_tokens"] < 200
