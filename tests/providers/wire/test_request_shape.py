"""The request each adapter sends matches the provider's documented shape (PROTOCOLS.md)."""

from __future__ import annotations

import pytest

from providers.wire.base import ChatMessage, ChatRequest
from tests.providers.wire.helpers import API_KEY, collect, config, request

pytestmark = pytest.mark.asyncio

CONVERSATION = [
    ChatMessage(role="user", content="Hi"),
    ChatMessage(role="assistant", content="Hello"),
    ChatMessage(role="user", content="Count to 3"),
]


def full_request() -> ChatRequest:
    return request(
        model="some-model",
        messages=CONVERSATION,
        max_tokens=321,
        system="Be terse.",
        temperature=0.4,
        stop=["END"],
    )


async def test_it_sends_openai_max_completion_tokens_and_include_usage(fake_upstream) -> None:
    outcome = await collect(config(fake_upstream, "openai"), full_request())
    assert outcome.error is None

    [sent] = fake_upstream.requests
    assert sent.method == "POST"
    assert sent.path.endswith("/openai/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["content-type"].startswith("application/json")
    assert sent.json == {
        "model": "some-model",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Count to 3"},
        ],
        "stream": True,
        "max_completion_tokens": 321,
        "stream_options": {"include_usage": True},
        "temperature": 0.4,
        "stop": ["END"],
    }


async def test_it_sends_mistral_max_tokens_without_openai_only_fields(fake_upstream) -> None:
    outcome = await collect(config(fake_upstream, "mistral"), full_request())
    # The fake answers 422 like Mistral if stream_options or max_completion_tokens is sent.
    assert outcome.error is None
    assert outcome.usage  # Mistral reports usage without being asked

    [sent] = fake_upstream.requests
    assert sent.path.endswith("/mistral/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json["max_tokens"] == 321
    assert "max_completion_tokens" not in sent.json
    assert "stream_options" not in sent.json
    assert sent.json["messages"][0] == {"role": "system", "content": "Be terse."}
    assert sent.json["stream"] is True


async def test_it_sends_openai_compatible_max_tokens_and_include_usage(fake_upstream) -> None:
    outcome = await collect(config(fake_upstream, "openai_compatible"), full_request())
    assert outcome.error is None
    assert outcome.usage  # only sent because include_usage was asked for

    [sent] = fake_upstream.requests
    assert sent.path.endswith("/ollama/v1/chat/completions")
    assert sent.json["max_tokens"] == 321
    assert "max_completion_tokens" not in sent.json
    assert sent.json["stream_options"] == {"include_usage": True}


async def test_it_sends_no_authorization_to_a_keyless_local_server(fake_upstream) -> None:
    outcome = await collect(config(fake_upstream, "openai_compatible", api_key=""))
    assert outcome.error is None

    [sent] = fake_upstream.requests
    assert "authorization" not in sent.headers


async def test_it_sends_anthropic_top_level_system_and_version(fake_upstream) -> None:
    outcome = await collect(config(fake_upstream, "anthropic"), full_request())
    assert outcome.error is None

    [sent] = fake_upstream.requests
    assert sent.path.endswith("/anthropic/v1/messages")
    assert sent.headers["x-api-key"] == API_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "some-model",
        "max_tokens": 321,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Count to 3"},
        ],
        "stream": True,
        "system": "Be terse.",
        "temperature": 0.4,
        "stop_sequences": ["END"],
    }


async def test_it_sends_gemini_contents_system_instruction_and_header_key(fake_upstream) -> None:
    outcome = await collect(config(fake_upstream, "gemini"), full_request())
    assert outcome.error is None

    [sent] = fake_upstream.requests
    assert sent.path.endswith("/gemini/v1beta/models/some-model:streamGenerateContent")
    assert sent.query == {"alt": "sse"}  # the key travels in a header, never in the URL
    assert sent.headers["x-goog-api-key"] == API_KEY
    assert sent.json == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello"}]},
            {"role": "user", "parts": [{"text": "Count to 3"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "generationConfig": {"maxOutputTokens": 321, "temperature": 0.4, "stopSequences": ["END"]},
    }


async def test_it_leaves_out_optional_fields_that_were_not_given(fake_upstream) -> None:
    for provider in ("openai", "anthropic", "gemini"):
        outcome = await collect(config(fake_upstream, provider), request())
        assert outcome.error is None
    openai, anthropic, gemini = (r.json for r in fake_upstream.requests)
    assert not {"temperature", "stop"} & set(openai)
    assert openai["messages"] == [{"role": "user", "content": "Count from 1 to 3"}]
    assert not {"temperature", "stop_sequences", "system"} & set(anthropic)
    assert "systemInstruction" not in gemini
    assert gemini["generationConfig"] == {"maxOutputTokens": 256}


async def test_it_passes_temperature_zero_through(fake_upstream) -> None:
    await collect(config(fake_upstream, "openai"), request(temperature=0.0))
    assert fake_upstream.requests[0].json["temperature"] == 0.0


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("openai", "/openai/v1/models"),
        ("mistral", "/mistral/v1/models"),
        ("openai_compatible", "/ollama/v1/models"),
        ("anthropic", "/anthropic/v1/models"),
        ("gemini", "/gemini/v1beta/models"),
    ],
)
async def test_it_lists_models_at_each_providers_path(fake_upstream, provider, path) -> None:
    from providers.wire.dispatch import list_models

    assert await list_models(config(fake_upstream, provider))
    sent = fake_upstream.requests[0]
    assert sent.method == "GET"
    assert sent.path.endswith(path)
    if provider == "anthropic":
        assert sent.headers["x-api-key"] == API_KEY
    elif provider == "gemini":
        assert sent.headers["x-goog-api-key"] == API_KEY
    else:
        assert sent.headers["authorization"] == f"Bearer {API_KEY}"
