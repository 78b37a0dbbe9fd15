"""Every transcript in shared/providers/fixtures, through the real adapter over real HTTP."""

from __future__ import annotations

import pytest

from providers.wire.base import ProviderError, UsageReport
from providers.wire.dispatch import list_models
from tests.fake_upstream import FIXTURES_DIR
from tests.providers.wire.helpers import API_KEY, collect, config

pytestmark = pytest.mark.asyncio


def usage(
    inp: int, out: int, *, cached: int = 0, write: int = 0, reasoning: int = 0
) -> UsageReport:
    return UsageReport(
        input_tokens=inp,
        cached_input_tokens=cached,
        cache_write_tokens=write,
        output_tokens=out,
        reasoning_tokens=reasoning,
    )


# fixture -> (provider, text, usage, finish raw, error code or None)
STREAMS: dict[str, tuple[str, str, UsageReport | None, str | None, str | None]] = {
    "openai_stream.sse": ("openai", "Hello!", usage(14, 2), "stop", None),
    "openai_stream.recorded.sse": ("openai", "1, 2, 3", usage(14, 7), "stop", None),
    "openai_stream_error.sse": ("openai", "Hello", None, None, "provider_unavailable"),
    "anthropic_stream.sse": ("anthropic", "1\n2\n3", usage(15, 9), "end_turn", None),
    "anthropic_stream.docs.sse": ("anthropic", "Hello!", usage(25, 15), "end_turn", None),
    "anthropic_stream_error.sse": ("anthropic", "1\n2", None, None, "provider_unavailable"),
    "mistral_stream.sse": ("mistral", "1, 2, 3", usage(22, 8), "stop", None),
    # Gemini: thoughtsTokenCount is billed as output and reported as reasoning.
    "gemini_stream.sse": ("gemini", "Hello there!", usage(8, 23, reasoning=20), "STOP", None),
    "gemini_stream.recorded.sse": (
        "gemini",
        "Let's think step-by-step:\n\n1.  You have the number 2.\n2.  You are adding another"
        " 2 to it.\n3.  If you count two items, and then count two more items, you will have a"
        " total of four items.\n\nSo, 2 + 2 = 4.",
        usage(13, 208, reasoning=137),
        "STOP",
        None,
    ),
    "gemini_stream_error.sse": ("gemini", "Hello", None, None, "provider_unavailable"),
    "ollama_stream.sse": ("openai_compatible", "Hello there!", usage(17, 3), "stop", None),
    # The legacy stream's `reasoning` deltas are thinking, not answer text.
    "ollama_stream.legacy.sse": (
        "openai_compatible",
        "1  \n2  \n3",
        usage(17, 289),
        "stop",
        None,
    ),
}

# fixture -> (provider, code, status, retry_after, retried)
ERRORS: dict[str, tuple[str, str, int, float | None, bool]] = {
    "openai_error_401.json": ("openai", "provider_auth", 401, None, False),
    "openai_error_429_rate_limit.json": ("openai", "provider_rate_limited", 429, 45.19, False),
    "openai_error_429_request_too_large.json": (
        "openai",
        "provider_rate_limited",
        429,
        None,
        False,
    ),
    "openai_error_400_context_length.json": ("openai", "context_length_exceeded", 400, None, False),
    "openai_error_500.json": ("openai", "provider_unavailable", 500, None, True),
    "openai_error_503.json": ("openai", "provider_unavailable", 503, None, True),
    "anthropic_error_401.json": ("anthropic", "provider_auth", 401, None, False),
    "anthropic_error_400_context_length.json": (
        "anthropic",
        "context_length_exceeded",
        400,
        None,
        False,
    ),
    "anthropic_error_429.json": ("anthropic", "provider_rate_limited", 429, 30.0, False),
    "anthropic_error_500.json": ("anthropic", "provider_unavailable", 500, None, True),
    "anthropic_error_529.json": ("anthropic", "provider_unavailable", 529, None, True),
    "mistral_error_401.json": ("mistral", "provider_auth", 401, None, False),
    "mistral_error_429.json": ("mistral", "provider_rate_limited", 429, None, True),
    "mistral_error_400_context_length.json": (
        "mistral",
        "context_length_exceeded",
        400,
        None,
        False,
    ),
    "mistral_error_422_extra_forbidden.json": ("mistral", "provider_error", 422, None, False),
    "gemini_error_400_invalid_api_key.json": ("gemini", "provider_auth", 400, None, False),
    "gemini_error_400_context_length.json": ("gemini", "context_length_exceeded", 400, None, False),
    "gemini_error_429.json": ("gemini", "provider_rate_limited", 429, 48.0, False),
    "gemini_error_500.json": ("gemini", "provider_unavailable", 500, None, True),
    "gemini_error_503.json": ("gemini", "provider_unavailable", 503, None, True),
    "ollama_error_400_context_length.json": (
        "openai_compatible",
        "context_length_exceeded",
        400,
        None,
        False,
    ),
    "ollama_error_404_model_not_found.json": (
        "openai_compatible",
        "provider_error",
        404,
        None,
        False,
    ),
}

MODELS: dict[str, tuple[str, list[str]]] = {
    "openai_models.json": ("openai", ["gpt-4.1-nano", "gpt-4o-mini"]),
    "anthropic_models.json": (
        "anthropic",
        ["claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"],
    ),
    "mistral_models.json": ("mistral", ["mistral-small-latest"]),
    "gemini_models.json": ("gemini", ["gemini-2.5-flash"]),
    "ollama_models.json": ("openai_compatible", ["llama3.2:latest"]),
}

# Non-streaming bodies: the adapters only stream; the fake serves them byte for byte and
# tests/providers/wire/test_fake_upstream.py checks that.
NON_STREAMING = {
    "openai_chat_completion.json",
    "anthropic_message.json",
    "mistral_chat_completion.json",
    "gemini_generate_content.json",
    "ollama_chat_completion.json",
}


async def test_it_covers_every_fixture() -> None:
    files = {p.name for p in FIXTURES_DIR.iterdir() if p.suffix in (".sse", ".json")}
    assert files == set(STREAMS) | set(ERRORS) | set(MODELS) | NON_STREAMING


@pytest.mark.parametrize("chunking", ["event", "bytes1", "random", "whole"])
@pytest.mark.parametrize("fixture", sorted(STREAMS))
async def test_it_replays_stream_fixtures(fake_upstream, fixture: str, chunking: str) -> None:
    provider, text, expected_usage, finish_raw, error_code = STREAMS[fixture]
    fake_upstream.script(kind="fixture", fixture=fixture, chunking=chunking, chunk_seed=3)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.text == text
    if error_code is None:
        assert outcome.error is None
        assert outcome.usage == [expected_usage]
        assert outcome.finish is not None
        assert outcome.finish.raw == finish_raw
        assert outcome.finish.reason == "stop"
        assert outcome.order[-2:] == ["UsageReport", "Finish"]
    else:
        assert outcome.error is not None
        assert outcome.error.code == error_code
        assert outcome.error.partial is True  # output had begun
        assert outcome.usage == []
        assert outcome.finish is None
    assert len(fake_upstream.requests) == 1  # never retried after output began


@pytest.mark.parametrize("fixture", sorted(ERRORS))
async def test_it_maps_error_fixtures(fake_upstream, fixture: str) -> None:
    provider, code, status, retry_after, retried = ERRORS[fixture]
    fake_upstream.script(kind="fixture", fixture=fixture, times=None)

    outcome = await collect(config(fake_upstream, provider))

    error = outcome.error
    assert isinstance(error, ProviderError)
    assert (error.code, error.status, error.retry_after, error.partial) == (
        code,
        status,
        retry_after,
        False,
    )
    assert error.message
    assert API_KEY not in error.message
    assert outcome.text == ""
    assert len(fake_upstream.requests) == (3 if retried else 1)


@pytest.mark.parametrize("fixture", sorted(ERRORS))
async def test_it_maps_error_fixtures_when_listing_models(fake_upstream, fixture: str) -> None:
    provider, code, status, _, _ = ERRORS[fixture]
    fake_upstream.script(kind="fixture", fixture=fixture, endpoint="models", times=None)

    with pytest.raises(ProviderError) as caught:
        await list_models(config(fake_upstream, provider))

    assert (caught.value.code, caught.value.status) == (code, status)


@pytest.mark.parametrize("fixture", sorted(MODELS))
async def test_it_lists_models_from_fixtures(fake_upstream, fixture: str) -> None:
    provider, names = MODELS[fixture]
    fake_upstream.script(kind="fixture", fixture=fixture)

    assert await list_models(config(fake_upstream, provider)) == names
