"""Gemini `streamGenerateContent?alt=sse` (PROTOCOLS.md §4).

Roles are user/model, the system prompt is `systemInstruction`, limits go in
`generationConfig`. `usageMetadata` is cumulative on every chunk (the last one wins);
`promptTokenCount` already includes cached tokens and `thoughtsTokenCount` is billed as output,
so it is added to the output and reported as reasoning. Gemini has no terminator: a stream that
closes without a `finishReason` is truncated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

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

_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def _headers(config: ProviderConfig) -> dict[str, str]:
    return {"x-goog-api-key": config.api_key, "Content-Type": "application/json"}


def _model_path(model: str) -> str:
    return quote(model.removeprefix("models/"), safe="-._~")


def build_request(
    config: ProviderConfig, request: ChatRequest
) -> tuple[str, dict[str, str], dict[str, Any]]:
    contents = [
        {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
        for m in request.messages
    ]
    generation: dict[str, Any] = {"maxOutputTokens": request.max_tokens}
    if request.temperature is not None:
        generation["temperature"] = request.temperature
    if request.stop:
        generation["stopSequences"] = list(request.stop)
    body: dict[str, Any] = {"contents": contents, "generationConfig": generation}
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    url = (
        f"{config.resolved_base_url()}/models/{_model_path(request.model)}"
        ":streamGenerateContent?alt=sse"
    )
    return url, _headers(config) | {"Accept": "text/event-stream"}, body


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def normalise_usage(meta: dict[str, Any]) -> UsageReport:
    thoughts = _int(meta.get("thoughtsTokenCount"))
    return UsageReport(
        input_tokens=_int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount")),
        cached_input_tokens=_int(meta.get("cachedContentTokenCount")),
        cache_write_tokens=0,
        output_tokens=_int(meta.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
    )


async def stream(config: ProviderConfig, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
    url, headers, body = build_request(config, request)
    response = await transport.request(config, "POST", url, headers=headers, json_body=body)
    started = False
    try:
        usage: dict[str, Any] | None = None
        finish_raw: str | None = None
        async for event in transport.iter_sse(config, response):
            payload = transport.load_json(config, event.data)
            if not isinstance(payload, dict):
                continue
            if payload.get("error"):
                raise transport.midstream_error(config, payload["error"], partial=started)
            if isinstance(payload.get("usageMetadata"), dict):
                usage = payload["usageMetadata"]
            candidates = payload.get("candidates") or []
            candidate = candidates[0] if candidates and isinstance(candidates[0], dict) else {}
            for part in (candidate.get("content") or {}).get("parts") or []:
                text = part.get("text") if isinstance(part, dict) else None
                if isinstance(text, str) and text and not part.get("thought"):
                    started = True
                    yield TextDelta(text)
            if candidate.get("finishReason"):
                finish_raw = str(candidate["finishReason"])
            block = (payload.get("promptFeedback") or {}).get("blockReason")
            if block and not candidates:
                finish_raw = "SAFETY"  # the prompt itself was blocked: nothing will follow
        if finish_raw is None:
            raise transport.truncated_error(config, partial=started)
        response.release()
        if usage is not None:
            yield normalise_usage(usage)
        yield Finish(reason=_FINISH_REASONS.get(finish_raw, "other"), raw=finish_raw)
    except ProviderError as exc:
        exc.partial = exc.partial or started
        raise
    finally:
        response.close()


async def list_models(config: ProviderConfig) -> list[str]:
    url = f"{config.resolved_base_url()}/models"
    names: list[str] = []
    params = {"pageSize": "1000"}
    seen_tokens: set[str] = set()
    for _ in range(20):
        payload = await transport.get_json(config, url, headers=_headers(config), params=params)
        models = payload.get("models") if isinstance(payload, dict) else None
        if not isinstance(models, list):
            raise ProviderError("provider_error", "Gemini sent an unexpected model list.")
        for model in models:
            if not isinstance(model, dict) or not model.get("name"):
                continue
            methods = model.get("supportedGenerationMethods")
            if isinstance(methods, list) and "generateContent" not in methods:
                continue  # embedding and other non-chat models
            name = str(model["name"]).removeprefix("models/")
            if name not in names:
                names.append(name)
        token = payload.get("nextPageToken")
        if not token or token in seen_tokens:
            break
        seen_tokens.add(str(token))
        params = {"pageSize": "1000", "pageToken": str(token)}
    return names
