"""Anthropic Messages API streaming (PROTOCOLS.md §2).

Usage: `message_start` carries the input counts, `message_delta` carries cumulative counts (the
last one wins). Anthropic's `input_tokens` excludes cache reads and writes; we add them back to
follow OpenAI's convention. The stream ends with `message_stop`; there is no `[DONE]`.
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

API_VERSION = "2023-06-01"
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}
_USAGE_FIELDS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)


def _headers(config: ProviderConfig) -> dict[str, str]:
    return {
        "x-api-key": config.api_key,
        "anthropic-version": API_VERSION,
        "content-type": "application/json",
    }


def build_request(
    config: ProviderConfig, request: ChatRequest
) -> tuple[str, dict[str, str], dict[str, Any]]:
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": True,
    }
    if request.system:
        body["system"] = request.system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    headers = _headers(config) | {"accept": "text/event-stream"}
    return f"{config.resolved_base_url()}/v1/messages", headers, body


def _merge_usage(into: dict[str, int], usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    for name in _USAGE_FIELDS:
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            into[name] = value  # cumulative: the latest explicit value (0 included) wins
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("thinking_tokens"), int):
        into["thinking_tokens"] = details["thinking_tokens"]


def normalise_usage(usage: dict[str, int]) -> UsageReport:
    cache_read = usage.get("cache_read_input_tokens", 0)
    cache_write = usage.get("cache_creation_input_tokens", 0)
    return UsageReport(
        input_tokens=usage.get("input_tokens", 0) + cache_read + cache_write,
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=usage.get("output_tokens", 0),
        reasoning_tokens=usage.get("thinking_tokens", 0),
    )


def _read_message_event(payload: dict[str, Any], usage: dict[str, int]) -> str | None:
    """Merge the usage of message_start / message_delta; return a stop_reason if present."""
    message = payload.get("message")
    if isinstance(message, dict):  # message_start
        _merge_usage(usage, message.get("usage"))
    _merge_usage(usage, payload.get("usage"))  # message_delta (cumulative)
    stop_reason = (payload.get("delta") or {}).get("stop_reason")
    return str(stop_reason) if stop_reason else None


async def stream(config: ProviderConfig, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
    url, headers, body = build_request(config, request)
    response = await transport.request(config, "POST", url, headers=headers, json_body=body)
    started = False
    try:
        usage: dict[str, int] = {}
        finish_raw: str | None = None
        done = False
        async for event in transport.iter_sse(config, response):
            payload = transport.load_json(config, event.data)
            if not isinstance(payload, dict):
                continue
            kind = event.event if event.event != "message" else str(payload.get("type", ""))
            if kind in ("message_start", "message_delta"):
                finish_raw = _read_message_event(payload, usage) or finish_raw
            elif kind == "content_block_delta":
                delta = payload.get("delta") or {}
                text = delta.get("text") if delta.get("type") == "text_delta" else None
                if isinstance(text, str) and text:
                    started = True
                    yield TextDelta(text)
            elif kind == "message_stop":
                done = True
                break
            elif kind == "error":
                raise transport.midstream_error(config, payload.get("error"), partial=started)
            # ping, content_block_start/stop and unknown events carry nothing we need.
        if not done:
            raise transport.truncated_error(config, partial=started)
        await transport.finish(response)
        if usage:
            yield normalise_usage(usage)
        yield Finish(reason=_FINISH_REASONS.get(finish_raw or "", "other"), raw=finish_raw)
    except ProviderError as exc:
        exc.partial = exc.partial or started
        raise
    finally:
        response.close()


async def list_models(config: ProviderConfig) -> list[str]:
    url = f"{config.resolved_base_url()}/v1/models"
    names: list[str] = []
    params = {"limit": "1000"}
    for _ in range(20):  # pages; a real account has far fewer
        payload = await transport.get_json(config, url, headers=_headers(config), params=params)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise ProviderError("provider_error", "Anthropic sent an unexpected model list.")
        names.extend(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id"))
        last_id = payload.get("last_id")
        if not payload.get("has_more") or not last_id or params.get("after_id") == last_id:
            break
        params = {"limit": "1000", "after_id": str(last_id)}
    return names
