"""The fake upstream itself: fixtures byte for byte, the control API, the standalone server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from providers.wire.dispatch import list_models
from tests.fake_upstream import FIXTURES_DIR, FakeUpstreamClient, Scenario
from tests.fake_upstream.server import (
    LANGUAGES,
    fixture_headers,
    fixture_status,
    language_tokens,
    provider_of_fixture,
)
from tests.providers.wire.helpers import collect, config, request

pytestmark = pytest.mark.asyncio

REPO = Path(__file__).resolve().parents[3]
CHAT_PATHS = {
    "openai": "/chat/completions",
    "mistral": "/chat/completions",
    "openai_compatible": "/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
}
MODEL_PATHS = {"anthropic": "/v1/models"}


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in FIXTURES_DIR.iterdir() if p.suffix in (".sse", ".json"))
)
async def test_it_serves_every_fixture_byte_for_byte(fake_upstream, fixture: str) -> None:
    provider = provider_of_fixture(fixture)
    fake_upstream.script(kind="fixture", fixture=fixture, chunking="random")
    models = fixture.endswith("_models.json")
    path = MODEL_PATHS.get(provider, "/models") if models else CHAT_PATHS[provider]
    url = fake_upstream.base_url(provider) + path

    async with aiohttp.ClientSession() as session:
        method = "GET" if models else "POST"
        async with session.request(method, url, json=None if models else {"model": "m"}) as resp:
            body = await resp.read()
            status, content_type = resp.status, resp.headers["Content-Type"]

    assert body == (FIXTURES_DIR / fixture).read_bytes()
    assert status == fixture_status(fixture)
    assert content_type == fixture_headers(fixture)["content-type"]


async def test_it_is_scriptable_over_its_control_api(fake_upstream) -> None:
    remote = FakeUpstreamClient(fake_upstream.url, key="remote-" + fake_upstream.key)
    await asyncio.to_thread(remote.script, provider="gemini", text="over http", deltas=2)
    cfg = config(fake_upstream, "gemini")
    cfg = type(cfg)(provider="gemini", api_key=cfg.api_key, base_url=remote.base_url("gemini"))

    outcome = await collect(cfg)
    sent = await asyncio.to_thread(lambda: remote.requests)

    assert outcome.text == "over http"
    assert [r["provider"] for r in sent] == ["gemini"]
    assert sent[0]["completed"] is True
    await asyncio.to_thread(remote.reset)
    assert await asyncio.to_thread(lambda: remote.requests) == []


async def test_it_keeps_each_keys_scenarios_apart(fake_upstream) -> None:
    other = FakeUpstreamClient(fake_upstream.url, key="other-" + fake_upstream.key)
    await asyncio.to_thread(other.script, provider="openai", status=500, times=None)

    outcome = await collect(config(fake_upstream, "openai"))

    assert outcome.error is None  # the other key's failure did not leak into this test
    assert await asyncio.to_thread(lambda: other.requests) == []


# What each provider's own wire says when an answer stops at max tokens.
RAW_LENGTH_FINISH = {
    "openai": "length",
    "mistral": "length",
    "openai_compatible": "length",
    "anthropic": "max_tokens",
    "gemini": "MAX_TOKENS",
}


@pytest.mark.parametrize("provider", list(CHAT_PATHS))
@pytest.mark.parametrize("language", LANGUAGES)
async def test_it_ends_a_language_answer_exactly_at_the_requests_max_tokens(
    fake_upstream, provider: str, language: str
) -> None:
    # Byte-at-a-time writes split every multi-byte character across reads.
    fake_upstream.script(provider=provider, language=language, past_max_tokens=0, chunking="bytes1")

    outcome = await collect(config(fake_upstream, provider), request(max_tokens=37))

    assert outcome.error is None
    assert outcome.deltas == 37
    assert outcome.text == "".join(language_tokens(language, 37))
    assert outcome.usage[-1].output_tokens == 37
    assert outcome.finish is not None
    assert (outcome.finish.reason, outcome.finish.raw) == ("length", RAW_LENGTH_FINISH[provider])
    [sent] = fake_upstream.requests
    assert (sent.max_tokens, sent.text_deltas) == (37, 37)
    # The server marks the answer finished just after its last write: wait for that.
    assert await fake_upstream.wait_for_async(lambda f: f.requests[0].completed)


@pytest.mark.parametrize("provider", list(CHAT_PATHS))
@pytest.mark.parametrize("usage", [True, False])
async def test_it_streams_past_max_tokens_when_told_to_ignore_them(
    fake_upstream, provider: str, usage: bool
) -> None:
    fake_upstream.script(provider=provider, language="cjk", past_max_tokens=20, usage=usage)

    outcome = await collect(config(fake_upstream, provider), request(max_tokens=10))

    assert outcome.deltas == 30
    assert outcome.text == "".join(language_tokens("cjk", 30))
    assert [u.output_tokens for u in outcome.usage] == ([30] if usage else [])
    assert fake_upstream.requests[0].text_deltas == 30


async def test_it_sizes_a_repeated_scenario_for_each_request(fake_upstream) -> None:
    fake_upstream.script(provider="gemini", language="emoji", past_max_tokens=0, times=2)

    first = await collect(config(fake_upstream, "gemini"), request(max_tokens=3))
    second = await collect(config(fake_upstream, "gemini"), request(max_tokens=5))

    assert (first.deltas, second.deltas) == (3, 5)
    # Gemini's usage is cumulative on every chunk: the last one counts every token.
    assert second.usage[-1].output_tokens == 5


async def test_it_refuses_a_language_it_does_not_speak() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        Scenario(language="klingon")
    with pytest.raises(ValueError, match="no text or echo"):
        Scenario(language="es", text="hola")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_it_runs_standalone() -> None:
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - a short-lived child, reaped below
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                await asyncio.to_thread(urllib.request.urlopen, f"{url}/_fake/health", None, 1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                await asyncio.sleep(0.1)
        remote = FakeUpstreamClient(url)
        from providers.wire.base import ProviderConfig

        cfg = ProviderConfig(
            provider="anthropic", api_key="k", base_url=remote.base_url("anthropic")
        )
        assert await list_models(cfg) == [
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5-20250929",
        ]
        outcome = await collect(cfg)
        assert outcome.text == "You said: Count from 1 to 3"
    finally:
        process.terminate()
        process.wait(10)
