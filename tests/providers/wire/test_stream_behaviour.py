"""Generated streams: cancellation, retries, timeouts, truncation, usage variants, secrecy."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from providers.wire import base
from providers.wire.base import ProviderConfig, ProviderError, TextDelta, UsageReport
from providers.wire.dispatch import list_models, stream_chat
from providers.wire.transport import scrub
from tests.providers.wire.helpers import API_KEY, collect, config, request

pytestmark = pytest.mark.asyncio

ALL = ["openai", "mistral", "openai_compatible", "anthropic", "gemini"]


def words(n: int) -> str:
    return "".join(f"w{i} " for i in range(n))


@pytest.mark.parametrize("provider", ALL)
async def test_it_closes_the_upstream_connection_when_closed(fake_upstream, provider) -> None:
    fake_upstream.script(provider=provider, deltas=500, delay=0.01)
    stream = stream_chat(config(fake_upstream, provider), request())

    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]

    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)
    assert fake_upstream.requests[0].completed is False


async def test_it_closes_the_upstream_connection_when_the_task_is_cancelled(fake_upstream) -> None:
    fake_upstream.script(provider="anthropic", deltas=500, delay=0.01)
    streaming = asyncio.Event()

    async def consume() -> None:
        async for event in stream_chat(config(fake_upstream, "anthropic"), request()):
            if isinstance(event, TextDelta):
                streaming.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(streaming.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("status", [500, 503, 529])
async def test_it_retries_before_the_first_token(fake_upstream, provider, status) -> None:
    fake_upstream.script(provider=provider, status=status, times=2)
    fake_upstream.script(provider=provider, text="recovered", deltas=3)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.error is None
    assert outcome.text == "recovered"
    assert len(fake_upstream.requests) == 3


async def test_it_gives_up_after_the_retry_cap(fake_upstream) -> None:
    fake_upstream.script(provider="openai", status=502, times=None)

    outcome = await collect(config(fake_upstream, "openai"))

    assert outcome.error is not None
    assert outcome.error.code == "provider_unavailable"
    assert len(fake_upstream.requests) == 1 + base.MAX_RETRIES


async def test_it_honours_a_short_retry_after(fake_upstream) -> None:
    fake_upstream.script(
        provider="openai", status=429, headers={"retry-after": "1", "retry-after-ms": "200"}
    )
    loop = asyncio.get_running_loop()
    started = loop.time()

    outcome = await collect(config(fake_upstream, "openai"))

    assert outcome.error is None
    assert loop.time() - started >= 0.2
    assert len(fake_upstream.requests) == 2


async def test_it_does_not_retry_a_long_retry_after(fake_upstream) -> None:
    fake_upstream.script(provider="anthropic", status=429, headers={"retry-after": "120"})

    outcome = await collect(config(fake_upstream, "anthropic"))

    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.retry_after) == ("provider_rate_limited", 120.0)
    assert len(fake_upstream.requests) == 1


async def test_it_retries_an_error_event_that_comes_before_any_text(fake_upstream) -> None:
    fake_upstream.script(provider="anthropic", fail="midstream", fail_after=0)
    fake_upstream.script(provider="anthropic", text="second try", deltas=2)

    outcome = await collect(config(fake_upstream, "anthropic"))

    assert outcome.text == "second try"
    assert len(fake_upstream.requests) == 2


@pytest.mark.parametrize(
    ("provider", "code"),
    [
        ("openai", "provider_unavailable"),
        ("mistral", "provider_error"),  # finish_reason "error"
        ("openai_compatible", "provider_unavailable"),  # Ollama just stops: no [DONE]
        ("anthropic", "provider_unavailable"),  # event: error overloaded_error
        ("gemini", "provider_unavailable"),  # {"error": {"code": 503, ...}}
    ],
)
async def test_it_never_retries_after_a_mid_stream_error(fake_upstream, provider, code) -> None:
    fake_upstream.script(provider=provider, deltas=6, fail="midstream", fail_after=2, times=None)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.text == "w0 w1 "
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.partial) == (code, True)
    assert outcome.usage == []
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("fail", ["truncate", "disconnect"])
async def test_it_fails_a_stream_that_ends_without_its_terminator(
    fake_upstream, provider, fail
) -> None:
    fake_upstream.script(provider=provider, deltas=6, fail=fail, fail_after=3, times=None)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.text == "w0 w1 w2 "
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.partial) == ("provider_unavailable", True)
    assert outcome.finish is None
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize("provider", ALL)
async def test_it_times_out_an_idle_gap(fake_upstream, monkeypatch, provider) -> None:
    monkeypatch.setattr(base, "IDLE_TIMEOUT", 0.2)
    fake_upstream.script(provider=provider, deltas=6, stall_after=3, stall=3.0)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.partial) == ("provider_unavailable", True)
    assert outcome.text  # what arrived before the gap was delivered
    assert len(fake_upstream.requests) == 1


async def test_it_times_out_waiting_for_the_first_byte(fake_upstream, monkeypatch) -> None:
    monkeypatch.setattr(base, "FIRST_BYTE_TIMEOUT", 0.2)
    fake_upstream.script(provider="openai", first_byte_delay=3.0)

    outcome = await collect(config(fake_upstream, "openai"))

    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.partial) == ("provider_unavailable", False)
    assert len(fake_upstream.requests) == 1  # a slow provider is not hammered


async def test_it_reports_an_unreachable_provider_as_unavailable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = ProviderConfig(provider="openai", api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1")

    outcome = await collect(cfg)

    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.partial) == ("provider_unavailable", False)
    with pytest.raises(ProviderError) as caught:
        await list_models(cfg)
    assert caught.value.code == "provider_unavailable"


# provider -> the usage it can express for input 100 (40 cached, 10 cache-write), 5 deltas and
# 7 reasoning tokens.
USAGE_VARIANTS = {
    "openai": UsageReport(100, 40, 10, 12, 7),
    "mistral": UsageReport(100, 40, 10, 12, 0),  # no reasoning field
    "openai_compatible": UsageReport(100, 0, 0, 12, 0),  # Ollama: plain counts only
    "anthropic": UsageReport(100, 40, 10, 12, 7),
    "gemini": UsageReport(100, 40, 0, 12, 7),  # no cache-write count
}


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("chunking", ["event", "random"])
async def test_it_normalises_cached_and_reasoning_usage(fake_upstream, provider, chunking) -> None:
    fake_upstream.script(
        provider=provider,
        deltas=5,
        input_tokens=100,
        cached_tokens=40,
        cache_write_tokens=10,
        reasoning_tokens=7,
        chunking=chunking,
    )

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.error is None
    assert outcome.usage == [USAGE_VARIANTS[provider]]


@pytest.mark.parametrize("provider", ALL)
async def test_it_keeps_explicit_zero_usage(fake_upstream, provider) -> None:
    fake_upstream.script(provider=provider, deltas=2, input_tokens=0, output_tokens=0)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.usage == [UsageReport(0, 0, 0, 0, 0)]


@pytest.mark.parametrize("provider", ALL)
async def test_it_yields_no_usage_when_none_arrives(fake_upstream, provider) -> None:
    fake_upstream.script(provider=provider, deltas=3, usage=False)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.error is None
    assert outcome.usage == []
    assert outcome.finish is not None
    assert outcome.finish.reason == "stop"


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize(("finish", "raw"), [("length", None), ("content_filter", None)])
async def test_it_normalises_finish_reasons(fake_upstream, provider, finish, raw) -> None:
    fake_upstream.script(provider=provider, deltas=2, finish_reason=finish)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.finish is not None
    assert outcome.finish.reason == finish
    assert outcome.finish.raw


@pytest.mark.parametrize("provider", ALL)
async def test_it_streams_long_fragmented_output(fake_upstream, provider) -> None:
    fake_upstream.script(provider=provider, deltas=1500, chunking="random", chunk_seed=11)

    outcome = await collect(config(fake_upstream, provider))

    assert outcome.error is None
    assert outcome.text == words(1500)
    assert outcome.usage[0].output_tokens == 1500


async def test_it_serves_concurrent_streams_over_one_session(fake_upstream) -> None:
    for provider in ALL * 4:
        fake_upstream.script(provider=provider, deltas=20, delay=0.005)

    outcomes = await asyncio.gather(*(collect(config(fake_upstream, p)) for p in ALL * 4))

    assert all(o.error is None and o.text == words(20) for o in outcomes)


# --- the key never leaks --------------------------------------------------------------------


async def test_it_never_puts_the_key_in_errors_or_logs(fake_upstream, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = "invalid-key"  # OpenAI's 401 echoes the key it was given
    fake_upstream.script(kind="fixture", fixture="openai_error_401.json")
    fake_upstream.script(provider="openai", status=503, times=None)
    fake_upstream.script(provider="openai", deltas=4, fail="midstream", fail_after=1)

    errors = []
    for _ in range(3):
        outcome = await collect(config(fake_upstream, "openai", api_key=key))
        assert outcome.error is not None
        errors.append(outcome.error)

    assert errors[0].code == "provider_auth"
    # The upstream's words are the admin's excerpt (`detail`), never the member's message.
    assert "Incorrect API key provided" in errors[0].detail
    assert "Incorrect" not in errors[0].message
    for error in errors:
        for text in (error.message, error.detail, str(error), repr(error), repr(error.args)):
            assert key not in text
    assert key not in caplog.text
    for record in caplog.records:
        assert key not in record.getMessage()
    assert key not in repr(config(fake_upstream, "openai", api_key=key))


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("Incorrect API key provided: sk-abc. See docs.", "sk-abc", "[redacted]"),
        ("key sk-proj-ABCDEFGH12345 is bad", "sk-proj-ABCDEFGH12345", "key [redacted] is bad"),
        # A masked echo of a long key still loses the recognisable parts.
        ("bad key sk-proj-AB****2345wxyz", "sk-proj-ABCDEFGH12342345wxyz", "bad key [redacted]"),
        ("nothing to hide", "sk-secret-000000000", "nothing to hide"),
    ],
)
async def test_it_scrubs_keys_from_upstream_text(text, key, expected) -> None:
    scrubbed = scrub(text, key)
    assert key not in scrubbed
    assert expected in scrubbed
