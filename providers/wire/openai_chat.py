"""OpenAI Chat Completions streaming, as spoken by OpenAI, Mistral and OpenAI-compatible servers.

Quirks (PROTOCOLS.md §1, §3, §5):
- OpenAI gets `max_completion_tokens` and `stream_options.include_usage` (usage then arrives in
  an extra `choices: []` chunk before `[DONE]`).
- Mistral rejects unknown fields with 422: it gets `max_tokens` and never `stream_options`; its
  usage rides in the last content chunk.
- OpenAI-compatible servers (Ollama, vLLM, Groq, ...) get `max_tokens` and
  `stream_options.include_usage`; the key is optional (local Ollama needs none).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from providers.wire import transport
from providers.wire.base import (
    ChatRequest,
    Finish,
    ProviderConfig,
    ProviderError,
    ProviderEvent,
    TextDelta,
    UsageReport,
)

_FINISH_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def _headers(config: ProviderConfig, *, stream: bool) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if stream:
        headers["Accept"] = "text/event-stream"
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    return headers


def build_request(
    config: ProviderConfig, request: ChatRequest
) -> tuple[str, dict[str, str], dict[str, Any]]:
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend({"role": m.role, "content": m.content} for m in request.messages)
    body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": True}
    if config.provider == "openai":
        body["max_completion_tokens"] = request.max_tokens
    else:
        body["max_tokens"] = request.max_tokens
    if config.provider != "mistral":
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    url = f"{config.resolved_base_url()}/chat/completions"
    return url, _headers(config, stream=True), body


def _int(value: Any) -> int:
    # An explicit 0 is a real count; only a missing or malformed value counts as 0 here.
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def normalise_usage(usage: dict[str, Any]) -> UsageReport:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return UsageReport(
        input_tokens=_int(usage.get("prompt_tokens")),
        cached_input_tokens=_int(prompt_details.get("cached_tokens")),
        cache_write_tokens=_int(prompt_details.get("cache_write_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
    )


def _first_choice(payload: dict[str, Any]) -> tuple[list[str], str | None]:
    """The text deltas and finish reason of choice 0 in one chunk."""
    texts: list[str] = []
    finish_raw: str | None = None
    for choice in payload.get("choices") or []:
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            continue
        content = (choice.get("delta") or {}).get("content")
        if isinstance(content, str) and content:
            texts.append(content)
        if choice.get("finish_reason"):
            finish_raw = str(choice["finish_reason"])
    return texts, finish_raw


async def stream(config: ProviderConfig, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
    url, headers, body = build_request(config, request)
    response = await transport.request(config, "POST", url, headers=headers, json_body=body)
    started = False
    try:
        usage: dict[str, Any] | None = None
        finish_raw: str | None = None
        done = False
        async for event in transport.iter_sse(config, response):
            data = event.data.strip()
            if data == "[DONE]":
                done = True
                break
            payload = transport.load_json(config, data)
            if not isinstance(payload, dict):
                continue
            if payload.get("error"):
                raise transport.midstream_error(config, payload["error"], partial=started)
            if isinstance(payload.get("usage"), dict):
                usage = payload["usage"]
            texts, chunk_finish = _first_choice(payload)
            for text in texts:
                started = True
                yield TextDelta(text)
            finish_raw = chunk_finish or finish_raw
            if finish_raw == "error":  # Mistral's only in-band failure signal
                raise transport.midstream_error(
                    config, {"type": "error", "message": "finish_reason error"}, partial=started
                )
        if not done:
            raise transport.truncated_error(config, partial=started)
        await transport.finish(response)
        if usage is not None:
            yield normalise_usage(usage)
        yield Finish(reason=_FINISH_REASONS.get(finish_raw or "", "other"), raw=finish_raw)
    except ProviderError as exc:
        exc.partial = exc.partial or started
        raise
    finally:
        response.close()


async def list_models(config: ProviderConfig) -> list[str]:
    url = f"{config.resolved_base_url()}/models"
    payload = await transport.get_json(config, url, headers=_headers(config, stream=False))
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise ProviderError(
            "provider_error", f"{transport.display_name(config)} sent an unexpected model list."
        )
    return [str(item["id"]) for item in data if isinstance(item, dict) and item.get("id")]
