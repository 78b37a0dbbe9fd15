"""A fake LLM provider: a real aiohttp server on 127.0.0.1 speaking each provider's wire format.

URL scheme (one server plays every provider; `base_url(provider)` gives the API root to put in
a ProviderConfig / ProviderKey):

    [/k/<key>]/openai/v1      + /chat/completions, /models   OpenAI
    [/k/<key>]/mistral/v1     + /chat/completions, /models   Mistral (422 on OpenAI-only fields)
    [/k/<key>]/ollama/v1      + /chat/completions, /models   openai_compatible (Ollama flavour)
    [/k/<key>]/anthropic      + /v1/messages, /v1/models     Anthropic
    [/k/<key>]/gemini/v1beta  + /models/{m}:streamGenerateContent?alt=sse, /models   Gemini

Unprefixed provider paths also work (`/v1/chat/completions` is OpenAI, `/v1/messages`
Anthropic, `/v1beta/models/...` Gemini). The optional `/k/<key>` segment namespaces scenarios
and request records, so many tests or benchmark clients can share one server; without it the
key is "default".

Scenarios: `script(key, Scenario(...))` queues an answer for the next matching request of that
key (matching provider and endpoint, "chat" or "models"). `kind="fixture"` replays a transcript
of fixtures/ beside this file (the recorded provider transcripts, copied into the repository so that
nothing outside it is read) byte for byte with its documented status and headers;
`kind="generated"` builds a stream of any length in the provider's exact format (see Scenario
for pace, fragmentation, usage and failure knobs), in any of the `LANGUAGES` one token per delta,
and as long as the request's own max tokens (`past_max_tokens`). With nothing queued, chat
requests get a deterministic generated stream echoing the last user message, and model lists get the
provider's *_models.json fixture.

Every request is recorded (method, path, query, headers, JSON body) together with whether the
client disconnected before the response was finished.

Control API for other processes (`python -m tests.fake_upstream --port 9100`):
    POST /_fake/script           JSON Scenario fields, plus optional "key"
    GET  /_fake/requests?key=K   {"requests": [...]}
    POST /_fake/reset[?key=K]    forget scenarios and records (all keys without ?key)
    GET  /_fake/health           {"ok": true}
`FakeUpstreamClient` wraps that API for Python callers in other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import random
import re
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

PROVIDERS = ("openai", "mistral", "openai_compatible", "anthropic", "gemini")
# URL prefix of each provider's API root on the fake.
PREFIXES = {
    "openai": "openai/v1",
    "mistral": "mistral/v1",
    "openai_compatible": "ollama/v1",
    "anthropic": "anthropic",
    "gemini": "gemini/v1beta",
}
# Fixture file prefix of each provider.
FIXTURE_PREFIX = {
    "openai": "openai",
    "mistral": "mistral",
    "openai_compatible": "ollama",
    "anthropic": "anthropic",
    "gemini": "gemini",
}
_PROVIDER_ALIASES = {"ollama": "openai_compatible"}

SSE_CONTENT_TYPES = {
    "openai": "text/event-stream; charset=utf-8",
    "mistral": "text/event-stream; charset=utf-8",
    "anthropic": "text/event-stream; charset=utf-8",
    "openai_compatible": "text/event-stream",
    "gemini": "text/event-stream",
}
# Headers the fixtures README says to send with each error body.
FIXTURE_HEADERS: dict[str, dict[str, str]] = {
    "openai_error_401.json": {
        "content-type": "application/json; charset=utf-8",
        "www-authenticate": 'Bearer realm="OpenAI API"',
    },
    "openai_error_429_rate_limit.json": {
        "retry-after": "46",
        "retry-after-ms": "45190",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "45.19s",
    },
    "openai_error_429_request_too_large.json": {
        "x-ratelimit-limit-tokens": "400000",
        "x-ratelimit-remaining-tokens": "400000",
    },
    "anthropic_error_401.json": {
        "x-should-retry": "false",
        "request-id": "req_011CeCGmBjaWkq37Sf5iU7so",
    },
    "anthropic_error_400_context_length.json": {"x-should-retry": "false"},
    "anthropic_error_429.json": {
        "retry-after": "30",
        "anthropic-ratelimit-input-tokens-remaining": "0",
    },
    "anthropic_error_529.json": {"x-should-retry": "true"},
}


def provider_of_fixture(name: str) -> str:
    prefix = name.split("_", 1)[0]
    return _PROVIDER_ALIASES.get(prefix, prefix)


def fixture_status(name: str) -> int:
    match = re.search(r"_error_(\d{3})", name)
    return int(match.group(1)) if match else 200


def fixture_headers(name: str) -> dict[str, str]:
    provider = provider_of_fixture(name)
    if name.endswith(".sse"):
        headers = {"content-type": SSE_CONTENT_TYPES[provider], "cache-control": "no-cache"}
        if provider == "gemini":
            headers["content-disposition"] = "attachment"
        return headers
    json_type = "application/json; charset=UTF-8" if provider == "gemini" else "application/json"
    return {"content-type": json_type} | FIXTURE_HEADERS.get(name, {})


@dataclass
class Scenario:
    """One scripted answer. Fields not relevant to the kind are ignored."""

    provider: str | None = None  # None: any provider
    kind: str = "generated"  # "fixture" | "generated"
    fixture: str | None = None
    endpoint: str = "auto"  # "chat" | "models" | "auto" (models for *_models.json, else chat)
    status: int | None = None  # generated: an HTTP error in the provider's envelope
    headers: dict[str, str] = field(default_factory=dict)  # extra/overriding response headers
    times: int | None = 1  # requests it answers; None = every matching request until reset
    # Pace and fragmentation.
    chunking: str = "event"  # "event" (one write per event) | "bytes1" | "random" | "whole"
    chunk_seed: int = 0
    delay: float = 0.0  # seconds between events
    first_byte_delay: float = 0.0  # seconds before the response headers
    stall_after: int | None = None  # after this many text deltas (fixtures: events) ...
    stall: float = 0.0  # ... go silent this long
    # Generated content.
    deltas: int = 8
    text: str | None = None  # split into `deltas` pieces; default "w0 w1 ..."
    echo: bool = False  # text = "You said: <last user message>"
    finish_reason: str = "stop"  # "stop" | "length" | "content_filter"
    # A multilingual answer, one token per delta as real providers stream: `deltas` tokens of
    # LANGUAGE_TOKENS[language] ("en", "es", "cjk", "emoji", "code"), see `language_tokens`.
    language: str | None = None
    # Length from the request: the max tokens the adapter sent (`max_completion_tokens` or
    # `max_tokens`, Anthropic `max_tokens`, Gemini `generationConfig.maxOutputTokens`) plus this
    # many deltas, finishing "length", usage counting every delta. 0: an honest provider that
    # ends exactly at the limit; N > 0: one that ignores it and streams N tokens past it.
    # Without a max tokens in the request, `deltas` is used.
    past_max_tokens: int | None = None
    # Usage, in OpenAI's convention (input includes cached and cache-write; output includes
    # reasoning). `usage=False` sends none.
    usage: bool = True
    input_tokens: int = 12
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int | None = None  # default: number of deltas + reasoning_tokens
    reasoning_tokens: int = 0
    # Failure after `fail_after` deltas: "midstream" (the provider's in-band error),
    # "truncate" (clean end without terminator) or "disconnect" (socket dropped).
    fail: str | None = None
    fail_after: int = 1

    def __post_init__(self) -> None:
        if self.provider is not None:
            self.provider = _PROVIDER_ALIASES.get(self.provider, self.provider)
            if self.provider not in PROVIDERS:
                raise ValueError(f"unknown provider {self.provider!r}")
        if self.kind == "fixture":
            if not self.fixture or not (FIXTURES_DIR / self.fixture).is_file():
                raise ValueError(f"no such fixture: {self.fixture!r}")
            if self.provider is None:
                self.provider = provider_of_fixture(self.fixture)
        elif self.kind != "generated":
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.endpoint == "auto":
            models = self.kind == "fixture" and str(self.fixture).endswith("_models.json")
            self.endpoint = "models" if models else "chat"
        if self.chunking not in ("event", "bytes1", "random", "whole"):
            raise ValueError(f"unknown chunking {self.chunking!r}")
        if self.language is not None:
            if self.language not in LANGUAGE_TOKENS:
                raise ValueError(f"unknown language {self.language!r}")
            if self.text is not None or self.echo:
                raise ValueError("language generates the text: no text or echo with it")
        if self.past_max_tokens is not None and self.past_max_tokens < 0:
            raise ValueError("past_max_tokens must be >= 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown scenario fields: {sorted(unknown)}")
        return cls(**data)


@dataclass
class RequestRecord:
    key: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    json: Any
    provider: str | None
    endpoint: str | None
    status: int | None = None
    disconnected: bool = False
    completed: bool = False
    max_tokens: int | None = None  # the output limit the request asked for, in any dialect
    text_deltas: int = 0  # text deltas written to the socket (fixtures: events)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FakeState:
    """Scenario queues and request records per key; shared between the server's thread and
    the tests' thread, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scenarios: dict[str, list[Scenario]] = {}
        self._records: dict[str, list[RequestRecord]] = {}

    def script(self, key: str, scenario: Scenario) -> None:
        with self._lock:
            self._scenarios.setdefault(key, []).append(scenario)

    def take(self, key: str, provider: str, endpoint: str) -> Scenario | None:
        with self._lock:
            queue = self._scenarios.get(key, [])
            for index, scenario in enumerate(queue):
                if scenario.provider not in (None, provider) or scenario.endpoint != endpoint:
                    continue
                if scenario.times is not None:
                    scenario.times -= 1
                    if scenario.times <= 0:
                        del queue[index]
                return scenario
        return None

    def peek_provider(self, key: str, choices: tuple[str, ...]) -> str | None:
        with self._lock:
            for scenario in self._scenarios.get(key, []):
                if scenario.provider in choices:
                    return scenario.provider
        return None

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.setdefault(record.key, []).append(record)

    def requests(self, key: str) -> list[RequestRecord]:
        with self._lock:
            return list(self._records.get(key, []))

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._scenarios.clear()
                self._records.clear()
            else:
                self._scenarios.pop(key, None)
                self._records.pop(key, None)


# --- wire formats of generated streams ----------------------------------------------------------


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# Realistic tokens, a delta each: multi-byte ones are what a byte-counting meter gets wrong
# (" acción" is 8 UTF-8 bytes, "東京" 6, "👩‍💻" 11, all one token here).
LANGUAGE_TOKENS: dict[str, tuple[str, ...]] = {
    "en": ("The", " answer", " is", " that", " the", " meter", " counts", " tokens", "."),
    "es": ("La", " acción", " de", " los", " años", " está", " aquí", ",", " señor", "."),
    "cjk": ("東京", "は", "日本", "の", "首都", "です", "。", "大阪", "も", "大きい", "。"),
    "emoji": ("👩\u200d💻", "🎉", " ", "🚀", "✨", "👍🏽", "🇪🇸", "❤️"),
    "code": ("def", " __init__", "(self)", ":", "\n", "    ", "self", ".", "name", " =", " name"),
}
LANGUAGES = tuple(LANGUAGE_TOKENS)


def language_tokens(language: str, count: int) -> list[str]:
    """The first `count` tokens a `language` scenario streams, one per delta (tests rebuild the
    expected text, or count the deltas in a stored text, from these)."""
    vocabulary = LANGUAGE_TOKENS[language]
    return [vocabulary[i % len(vocabulary)] for i in range(count)]


def request_max_tokens(provider: str, body: Any) -> int | None:
    """The output limit a request asked for, in its provider's dialect (None: absent)."""
    if not isinstance(body, dict):
        return None
    if provider == "gemini":
        config = body.get("generationConfig")
        value = config.get("maxOutputTokens") if isinstance(config, dict) else None
    elif provider == "anthropic":
        value = body.get("max_tokens")
    else:
        value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pieces(scenario: Scenario, echo_text: str) -> list[str]:
    if scenario.language is not None:
        return language_tokens(scenario.language, max(scenario.deltas, 0))
    text = scenario.text
    if scenario.echo:
        text = f"You said: {echo_text}"
    if text is None:
        return [f"w{i} " for i in range(scenario.deltas)]
    if not text or scenario.deltas <= 0:
        return [text] if text else []
    size = max(1, math.ceil(len(text) / scenario.deltas))
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class _Usage:
    input: int
    cached: int
    cache_write: int
    output: int
    reasoning: int


def _usage(scenario: Scenario, deltas: int) -> _Usage:
    output = scenario.output_tokens
    if output is None:
        output = deltas + scenario.reasoning_tokens
    return _Usage(
        scenario.input_tokens,
        scenario.cached_tokens,
        scenario.cache_write_tokens,
        output,
        scenario.reasoning_tokens,
    )


# Each generated event is (bytes, is_text_delta).
Events = list[tuple[bytes, bool]]

_OPENAI_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}
_ANTHROPIC_FINISH = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}
_GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def _openai_events(  # noqa: PLR0912 - three flavours of one wire format, kept side by side
    provider: str, scenario: Scenario, model: str, pieces: list[str], include_usage: bool
) -> Events:
    """OpenAI, Mistral and Ollama flavours of chat.completion.chunk (PROTOCOLS §1.3, §3.3, §5.3)."""
    usage = _usage(scenario, len(pieces))
    mistral, ollama = provider == "mistral", provider == "openai_compatible"
    ident = "548ed34ecc7f4a6aa69187e16761bf0c" if mistral else "chatcmpl-fake0001"
    events: Events = []

    def chunk(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
        obj: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": 1767967976,
            "model": model,
        }
        if provider == "openai":
            obj |= {"service_tier": "default", "system_fingerprint": "fp_fake"}
        if ollama:
            obj["system_fingerprint"] = "fp_ollama"
        obj["choices"] = choices
        if provider == "openai" and include_usage:
            obj["usage"] = None
        obj |= extra or {}
        if provider == "openai":
            obj["obfuscation"] = "abcd"
        return f"data: {_compact(obj)}\n\n".encode()

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"index": 0, "delta": delta}
        if provider == "openai":
            item["logprobs"] = None
        item["finish_reason"] = finish
        return item

    usage_obj: dict[str, Any] = {
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
    }
    if not ollama:
        usage_obj["prompt_tokens_details"] = {"cached_tokens": usage.cached}
        if usage.cache_write:
            usage_obj["prompt_tokens_details"]["cache_write_tokens"] = usage.cache_write
    if provider == "openai":
        usage_obj["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning}

    failing = scenario.fail is not None
    sent = pieces[: scenario.fail_after] if failing else pieces
    finish = _OPENAI_FINISH.get(scenario.finish_reason, "stop")
    if ollama:
        first, rest = (sent[0], sent[1:]) if sent else ("", [])
        events.append((chunk([choice({"role": "assistant", "content": first})]), bool(first)))
    else:
        role: dict[str, Any] = {"role": "assistant", "content": ""}
        if provider == "openai":
            role["refusal"] = None
        events.append((chunk([choice(role)]), False))
        rest = sent
    extra: dict[str, Any] | None
    for index, piece in enumerate(rest):
        last = index == len(rest) - 1
        if mistral and last and not failing:  # Mistral: finish + usage ride the last content chunk
            extra = {"usage": usage_obj} if scenario.usage else None
            events.append((chunk([choice({"content": piece}, finish)], extra), True))
        else:
            extra = {"p": "abcdefghij"} if mistral else None
            events.append((chunk([choice({"content": piece})], extra), True))
    if failing:
        if scenario.fail == "midstream" and provider == "openai":
            error = {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
            events.append((f"data: {_compact({'error': error})}\n\n".encode(), False))
            events.append((b"data: [DONE]\n\n", False))
        elif scenario.fail == "midstream" and mistral:
            events.append((chunk([choice({"content": ""}, "error")]), False))
            events.append((b"data: [DONE]\n\n", False))
        # Ollama has no in-band error: its stream just stops (PROTOCOLS §5.5).
        return events
    if not (mistral and rest):
        extra = {"usage": usage_obj} if mistral and scenario.usage else None
        events.append((chunk([choice({}, finish)], extra), False))
    if not mistral and scenario.usage and include_usage:
        events.append((chunk([], {"usage": usage_obj}), False))
    events.append((b"data: [DONE]\n\n", False))
    return events


def _anthropic_events(scenario: Scenario, model: str, pieces: list[str]) -> Events:
    """Anthropic Messages SSE (PROTOCOLS §2.3, §2.4)."""
    usage = _usage(scenario, len(pieces))

    def event(name: str, obj: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {_compact(obj)}\n\n".encode()

    start_usage: dict[str, Any] = {
        "input_tokens": usage.input - usage.cached - usage.cache_write,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cached,
        "output_tokens": 1,
    }
    message: dict[str, Any] = {
        "model": model,
        "id": "msg_fake0001",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if scenario.usage:
        message["usage"] = start_usage
    events: Events = [
        (event("message_start", {"type": "message_start", "message": message}), False),
        (
            event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            False,
        ),
        (b'event: ping\ndata: {"type": "ping"}\n\n', False),
    ]
    failing = scenario.fail is not None
    for piece in pieces[: scenario.fail_after] if failing else pieces:
        delta = {"type": "text_delta", "text": piece}
        obj = {"type": "content_block_delta", "index": 0, "delta": delta}
        events.append((event("content_block_delta", obj), True))
    if failing:
        if scenario.fail == "midstream":
            events.append(
                (
                    b"event: error\ndata: "
                    b'{"type": "error", "error": {"type": "overloaded_error", '
                    b'"message": "Overloaded"}}'
                    b"\n\n",
                    False,
                )
            )
        return events
    events.append((event("content_block_stop", {"type": "content_block_stop", "index": 0}), False))
    delta_obj: dict[str, Any] = {
        "type": "message_delta",
        "delta": {
            "stop_reason": _ANTHROPIC_FINISH.get(scenario.finish_reason, "end_turn"),
            "stop_sequence": None,
        },
    }
    if scenario.usage:
        final = dict(start_usage, output_tokens=usage.output)
        if usage.reasoning:
            final["output_tokens_details"] = {"thinking_tokens": usage.reasoning}
        delta_obj["usage"] = final
    events.append((event("message_delta", delta_obj), False))
    events.append((event("message_stop", {"type": "message_stop"}), False))
    return events


def _gemini_events(scenario: Scenario, model: str, pieces: list[str]) -> Events:
    """Gemini alt=sse: CRLF framing, ': ' after keys, cumulative usage, no terminator (§4.3)."""
    usage = _usage(scenario, len(pieces))
    visible = usage.output - usage.reasoning
    failing = scenario.fail is not None
    sent = pieces[: scenario.fail_after] if failing else (pieces or [""])
    events: Events = []
    for index, piece in enumerate(sent):
        candidate: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"}}
        last = index == len(sent) - 1
        if last and not failing:
            candidate["finishReason"] = _GEMINI_FINISH.get(scenario.finish_reason, "STOP")
        candidate["index"] = 0
        obj: dict[str, Any] = {"candidates": [candidate]}
        if scenario.usage:
            # Cumulative: the visible count grows with each chunk and ends at the total.
            so_far = visible if last and not failing else min(index + 1, visible)
            meta: dict[str, Any] = {
                "promptTokenCount": usage.input,
                "candidatesTokenCount": so_far,
                "totalTokenCount": usage.input + so_far + usage.reasoning,
            }
            if usage.cached:
                meta["cachedContentTokenCount"] = usage.cached
            if usage.reasoning:
                meta["thoughtsTokenCount"] = usage.reasoning
            obj["usageMetadata"] = meta
        obj |= {"modelVersion": model, "responseId": "fakeResponse0001"}
        data = json.dumps(obj, separators=(",", ": "), ensure_ascii=False)
        events.append((f"data: {data}\r\n\r\n".encode(), bool(piece)))
    if failing and scenario.fail == "midstream":
        error = {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
        }
        events.append((f"data: {json.dumps({'error': error})}\r\n\r\n".encode(), False))
    return events


def _error_body(provider: str, status: int) -> tuple[bytes, dict[str, str]]:
    """An HTTP error in the provider's envelope: its fixture when one exists for the status."""
    for path in sorted(FIXTURES_DIR.glob(f"{FIXTURE_PREFIX[provider]}_error_{status}*.json")):
        return path.read_bytes(), fixture_headers(path.name)
    message = f"Fake upstream error {status}"
    body: dict[str, Any]
    if provider == "anthropic":
        kind = "overloaded_error" if status == 529 else "api_error"
        body = {"type": "error", "error": {"type": kind, "message": message}}
    elif provider == "gemini":
        body = {"error": {"code": status, "message": message, "status": "INTERNAL"}}
    elif provider == "mistral":
        body = {
            "object": "error",
            "message": message,
            "type": "api_error",
            "param": None,
            "code": None,
        }
    else:
        body = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return json.dumps(body).encode(), {"content-type": "application/json"}


def split_events(raw: bytes) -> Events:
    """A transcript's events, separators included (so the bytes stay identical)."""
    parts = re.split(rb"(?<=\n\n)|(?<=\r\n\r\n)", raw)
    return [(part, True) for part in parts if part]


def _writes(data: bytes, chunking: str, rng: random.Random) -> Iterator[bytes]:
    if chunking == "bytes1":
        for index in range(len(data)):
            yield data[index : index + 1]
    elif chunking == "random":
        index = 0
        while index < len(data):
            size = rng.randint(1, 24)
            yield data[index : index + size]
            index += size
    else:
        yield data


# --- the server ---------------------------------------------------------------------------------


class _DisconnectedError(Exception):
    pass


def _route(path: str) -> tuple[str, str | None, str | None, str | None]:
    """(key, provider, endpoint, model) of a request path; provider None = not a provider path."""
    key = "default"
    if path.startswith("/k/"):
        _, _, rest = path[3:].partition("/")
        key = path[3:].split("/", 1)[0]
        path = "/" + rest
    for provider, prefix in PREFIXES.items():
        if path.startswith(f"/{prefix}/") or path == f"/{prefix}":
            return (key, *_endpoint(provider, path[len(prefix) + 1 :]))
    if path.startswith("/v1/messages"):
        return key, "anthropic", "chat", None
    if path.startswith("/v1beta/"):
        return (key, *_endpoint("gemini", path[len("/v1beta") :]))
    if path.startswith("/v1/"):
        return (key, *_endpoint("", path[len("/v1") :]))
    return key, None, None, None


def _endpoint(provider: str, rest: str) -> tuple[str | None, str | None, str | None]:
    if provider == "anthropic":
        rest = rest.removeprefix("/v1")
        if rest == "/messages":
            return provider, "chat", None
    if provider == "gemini":
        match = re.fullmatch(r"/models/([^/:]+):streamGenerateContent", rest)
        if match:
            return provider, "chat", match.group(1)
    elif rest == "/chat/completions":
        return provider, "chat", None
    if rest in ("/models", "/models/"):
        return provider, "models", None
    return None, None, None


class FakeUpstreamServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = FakeState()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str, key: str | None = None) -> str:
        provider = _PROVIDER_ALIASES.get(provider, provider)
        namespace = f"/k/{key}" if key else ""
        return f"{self.url}{namespace}/{PREFIXES[provider]}"

    # lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> None:
        """Run the server on its own event loop in a daemon thread (for pytest)."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    # request handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await self._control(request)
        key, provider, endpoint, model = _route(request.path)
        if provider == "":  # /v1/chat/completions or /v1/models without a provider prefix
            provider = self.state.peek_provider(key, ("openai", "mistral", "openai_compatible"))
            provider = provider or "openai"
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
        record = RequestRecord(
            key=key,
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            json=body,
            provider=provider,
            endpoint=endpoint,
            max_tokens=request_max_tokens(provider, body) if provider else None,
        )
        self.state.record(record)
        if provider is None or endpoint is None:
            record.status = 404
            record.completed = True
            return web.json_response({"error": {"message": "no such fake path"}}, status=404)
        try:
            response = await self._answer(request, record, provider, endpoint, model, body)
        except (_DisconnectedError, ConnectionResetError):
            record.disconnected = True
            raise web.HTTPException() from None  # nobody is listening any more
        except asyncio.CancelledError:
            record.disconnected = True
            raise
        record.completed = True
        return response

    async def _answer(
        self,
        request: web.Request,
        record: RequestRecord,
        provider: str,
        endpoint: str,
        model: str | None,
        body: Any,
    ) -> web.StreamResponse:
        if (
            provider == "mistral"
            and endpoint == "chat"
            and isinstance(body, dict)
            and ("stream_options" in body or "max_completion_tokens" in body)
        ):
            # Mistral refuses OpenAI-only fields (PROTOCOLS §3.2).
            return self._fixture_response(record, "mistral_error_422_extra_forbidden.json", {})
        scenario = self.state.take(record.key, provider, endpoint)
        if scenario is None:
            if endpoint == "models":
                if request.query.get("pageToken") or request.query.get("after_id"):
                    return self._empty_page(record, provider)
                scenario = Scenario(
                    kind="fixture", fixture=f"{FIXTURE_PREFIX[provider]}_models.json"
                )
            else:
                scenario = Scenario(provider=provider, echo=True)
        if scenario.first_byte_delay:
            await _sleep(request, scenario.first_byte_delay)
        if scenario.kind == "fixture":
            assert scenario.fixture is not None
            if scenario.fixture.endswith(".sse"):
                raw = (FIXTURES_DIR / scenario.fixture).read_bytes()
                headers = fixture_headers(scenario.fixture) | scenario.headers
                return await self._stream(request, record, scenario, split_events(raw), headers)
            return self._fixture_response(
                record, scenario.fixture, scenario.headers, scenario.status
            )
        if scenario.status is not None and scenario.status >= 400:
            error_body, headers = _error_body(provider, scenario.status)
            record.status = scenario.status
            return web.Response(
                body=error_body, status=scenario.status, headers=headers | scenario.headers
            )
        model_name = (
            model or (body.get("model") if isinstance(body, dict) else None) or "fake-model"
        )
        scenario = _sized(scenario, record)
        pieces = _pieces(scenario, _last_user_text(provider, body))
        if provider == "anthropic":
            events = _anthropic_events(scenario, model_name, pieces)
        elif provider == "gemini":
            events = _gemini_events(scenario, model_name, pieces)
        else:
            options = body.get("stream_options") if isinstance(body, dict) else None
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            events = _openai_events(provider, scenario, model_name, pieces, include_usage)
        headers = {"content-type": SSE_CONTENT_TYPES[provider], "cache-control": "no-cache"}
        return await self._stream(request, record, scenario, events, headers | scenario.headers)

    def _fixture_response(
        self,
        record: RequestRecord,
        name: str,
        extra_headers: dict[str, str],
        status: int | None = None,
    ) -> web.Response:
        record.status = status or fixture_status(name)
        return web.Response(
            body=(FIXTURES_DIR / name).read_bytes(),
            status=record.status,
            headers=fixture_headers(name) | extra_headers,
        )

    def _empty_page(self, record: RequestRecord, provider: str) -> web.Response:
        record.status = 200
        if provider == "gemini":
            return web.json_response({"models": []})
        return web.json_response({"data": [], "has_more": False, "first_id": None, "last_id": None})

    async def _stream(
        self,
        request: web.Request,
        record: RequestRecord,
        scenario: Scenario,
        events: Events,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=scenario.status or 200, headers=headers)
        record.status = response.status
        await response.prepare(request)
        rng = random.Random(scenario.chunk_seed)
        if scenario.chunking == "whole":
            await response.write(b"".join(data for data, _ in events))
            record.text_deltas = sum(is_delta for _, is_delta in events)
        else:
            deltas = 0
            for index, (data, is_delta) in enumerate(events):
                if index and scenario.delay:
                    await _sleep(request, scenario.delay)
                for piece in _writes(data, scenario.chunking, rng):
                    _check_connected(request)
                    await response.write(piece)
                    if scenario.chunking != "event":
                        await asyncio.sleep(0)  # let each fragment leave on its own
                deltas += is_delta
                record.text_deltas = deltas
                if is_delta and deltas == scenario.stall_after:
                    await _sleep(request, scenario.stall)
        if scenario.fail == "disconnect":
            if request.transport is not None:
                request.transport.abort()
            raise _DisconnectedError
        await response.write_eof()
        return response

    async def _control(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("key")
        if request.path == "/_fake/health":
            return web.json_response({"ok": True, "url": self.url})
        if request.path == "/_fake/script" and request.method == "POST":
            data = await request.json()
            scenario_key = str(data.pop("key", None) or key or "default")
            try:
                scenario = Scenario.from_dict(data)
            except (TypeError, ValueError) as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)
            self.state.script(scenario_key, scenario)
            return web.json_response({"ok": True})
        if request.path == "/_fake/requests":
            records = self.state.requests(key or "default")
            return web.json_response({"requests": [r.to_dict() for r in records]})
        if request.path == "/_fake/reset" and request.method == "POST":
            self.state.reset(key)
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": "unknown control path"}, status=404)


def _sized(scenario: Scenario, record: RequestRecord) -> Scenario:
    """The scenario with its length taken from the request (`past_max_tokens`), else as it is.
    A copy: a scenario answering many requests is sized again for each."""
    if scenario.past_max_tokens is None or record.max_tokens is None:
        return scenario
    return dataclasses.replace(
        scenario, deltas=record.max_tokens + scenario.past_max_tokens, finish_reason="length"
    )


def _check_connected(request: web.Request) -> None:
    transport = request.transport
    if transport is None or transport.is_closing():
        raise _DisconnectedError


async def _sleep(request: web.Request, seconds: float) -> None:
    """Sleep, but notice a client that hung up in the meantime."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        _check_connected(request)
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await asyncio.sleep(min(remaining, 0.01))


def _last_user_text(provider: str, body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    with contextlib.suppress(Exception):
        if provider == "gemini":
            return str(body["contents"][-1]["parts"][0]["text"])[:200]
        content = body["messages"][-1]["content"]
        return (content if isinstance(content, str) else json.dumps(content))[:200]
    return ""


class FakeUpstreamClient:
    """Scripts a fake upstream running in another process, over its control API."""

    def __init__(self, url: str, key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.key = key

    def base_url(self, provider: str) -> str:
        provider = _PROVIDER_ALIASES.get(provider, provider)
        namespace = f"/k/{self.key}" if self.key else ""
        return f"{self.url}{namespace}/{PREFIXES[provider]}"

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        query = f"?key={self.key}" if self.key else ""
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(  # noqa: S310 - a local http URL chosen by the caller
            f"{self.url}{path}{query}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def script(self, **fields: Any) -> None:
        Scenario.from_dict(dict(fields))  # validate here, with a local traceback
        self._call("POST", "/_fake/script", fields)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_fake/requests")["requests"])

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})
