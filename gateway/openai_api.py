"""The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions` (CONTRACT
"OpenAI-compatible API"), as a lean ASGI application.

`server/asgi.py` sends every `/v1/` request here before Django's handler, so this path pays for
no middleware, no request signals and no URL resolution: a gateway's overhead is its product.
The work itself goes through the one engine (`chat.generation.start_generation`) and the one gate
(`billing.gate`, via `gateway.openai_services.api_admit`), so budgets, the ledger (source "api",
with the token's id) and provider handling are the chat's.

Authentication and model lookup come from in-process caches (see gateway.token_services): a
warm request touches the database only for admission and settlement.

Errors use OpenAI's envelope, `{"error": {"message", "type", "code", "param"}}`, with `type` and
`code` both the contract's code: 401 not_authenticated, 402 budget_exceeded, 404 not_found (an
unknown model, or one the token may not use), 400 validation_error, 429 rate_limited (more than
API_MAX_CONCURRENT_PER_TOKEN calls of one token in flight in this process) and
provider_rate_limited, 503 provider_unavailable, 503 service_unavailable (the database or Redis
is unreachable: `detail.service` names it, and no provider call starts), 502 other provider errors.
A budget_exceeded error also carries the gate's `detail` (which budget, what is left, when it
resets) under `error.detail`, an addition OpenAI's SDKs ignore.

`x-potluck-overhead-ms` is the time Potluck held the request minus the time spent waiting for
the provider, in milliseconds with two decimals:
- non-streaming: from the first byte of the request reaching this application until the
  response is sent, minus the time from the start of the upstream request until its last text
  arrived (so admission, settlement, the usage tail of the upstream stream, parsing and
  serialising are all counted as overhead);
- streaming: sent with the response headers, which go out together with the first text: the
  time from the request reaching this application until then, minus the time from the start of
  the upstream request until its first text (the time-to-first-token overhead).
`x-potluck-upstream-ms` is the upstream part that was subtracted.
A client that disconnects cancels the generation: the upstream request is closed and the call
is settled for what was generated (estimated when the provider had not reported usage yet).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from billing.gate import Admission, new_call_id
from chat.generation import (
    GenerationRequest,
    GenerationResult,
    GenerationSink,
    start_generation,
    token_usage,
)
from chat.services import PromptTurn
from core.exceptions import ApplicationError, ServiceUnavailableError, outage_error
from gateway.openai_services import (
    ResolvedModel,
    api_admit,
    model_for_token,
    org_models_cached,
    org_models_load_cached,
)
from gateway.token_services import (
    TokenPrincipal,
    connect_invalidation_signals,
    token_authenticate,
)
from providers.wire.base import UsageReport

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

connect_invalidation_signals()

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_STOP_SEQUENCES = 4
MAX_TOKENS_LIMIT = 1_000_000

# The contract's codes and their HTTP statuses on this API.
STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 400,
    "price_unknown": 400,
    "not_authenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "budget_exceeded": 402,
    "rate_limited": 429,
    "provider_rate_limited": 429,
    "provider_unavailable": 503,
    "service_unavailable": 503,
    "generation_stopped": 503,
    "provider_auth": 502,
    "context_length_exceeded": 502,
    "provider_error": 502,
    "internal_error": 500,
}


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.detail = detail

    @property
    def status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 502 if self.code.startswith("provider") else 400)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.code,
            "code": self.code,
            "param": self.param,
        }
        # Beyond OpenAI's envelope (SDKs ignore unknown keys): a refusal's structured detail
        # (which budget refused, what is left, when it resets) or which service is down.
        if self.detail:
            error["detail"] = self.detail
        return {"error": error}


def _api_error_from(exc: ApplicationError) -> ApiError:
    outage = outage_error(exc)
    if outage is not None:
        return ApiError(outage.code, outage.message, detail=outage.detail)
    param = exc.detail.get("param") if isinstance(exc.detail, dict) else None
    return ApiError(
        exc.code,
        exc.message,
        param=param if isinstance(param, str) else None,
        detail=exc.detail if exc.code == "budget_exceeded" else None,
    )


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


class _Exchange:
    """One HTTP request/response, with the clock the overhead header is computed from."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started = time.perf_counter()
        self.scope = scope
        self.receive = receive
        self.send = send
        self.upstream_s = 0.0
        self.started_response = False
        self.closed = False
        self.disconnected = False

    def header(self, name: bytes) -> str | None:
        for key, value in self.scope.get("headers", []):
            if key == name:
                return bytes(value).decode("latin-1")
        return None

    def _timing_headers(self) -> list[tuple[bytes, bytes]]:
        held = time.perf_counter() - self.started
        overhead_ms = max(held - self.upstream_s, 0.0) * 1000
        return [
            (b"x-potluck-overhead-ms", f"{overhead_ms:.2f}".encode()),
            (b"x-potluck-upstream-ms", f"{self.upstream_s * 1000:.2f}".encode()),
        ]

    async def start(
        self, status: int, content_type: bytes, extra: list[tuple[bytes, bytes]]
    ) -> None:
        self.started_response = True
        headers = [(b"content-type", content_type), *extra, *self._timing_headers()]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def json(self, status: int, data: Any) -> None:
        body = _dumps(data)
        await self.start(
            status, b"application/json", [(b"content-length", str(len(body)).encode())]
        )
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
        self.closed = True

    async def body(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise asyncio.CancelledError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ApiError("validation_error", "The request body is too large.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


# --- the application ------------------------------------------------------------------------


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry point for every `/v1/...` HTTP request."""
    if scope["type"] != "http":
        return
    exchange = _Exchange(scope, receive, send)
    try:
        await _route(exchange)
    except asyncio.CancelledError:
        return  # the client went away before we answered
    except ApiError as exc:
        await _answer_error(exchange, exc)
    except ApplicationError as exc:
        await _answer_error(exchange, _api_error_from(exc))
    except Exception as exc:
        outage = outage_error(exc)
        if outage is None:
            logger.exception("/v1 request failed")
            await _answer_error(exchange, ApiError("internal_error", "The request failed."))
        else:
            logger.warning("/v1 request refused, %s is down: %s", outage.service, exc)
            await _answer_error(exchange, _api_error_from(outage))


async def _answer_error(exchange: _Exchange, exc: ApiError) -> None:
    if exchange.started_response:
        return
    await exchange.json(exc.status, exc.body())


async def _route(exchange: _Exchange) -> None:
    path = exchange.scope["path"].rstrip("/")
    method = exchange.scope["method"]
    if path == "/v1/chat/completions":
        _require_method(method, "POST")
        await _chat_completions(exchange)
    elif path == "/v1/models":
        _require_method(method, "GET")
        await _models_list(exchange)
    elif path.startswith("/v1/models/"):
        _require_method(method, "GET")
        await _model_retrieve(exchange, path.removeprefix("/v1/models/"))
    else:
        raise ApiError("not_found", f"Unknown path {path[:200]!r}.")


def _require_method(method: str, wanted: str) -> None:
    if method != wanted:
        raise ApiError("method_not_allowed", f"Use {wanted} here.")


async def _authenticate(exchange: _Exchange) -> TokenPrincipal:
    header = exchange.header(b"authorization") or ""
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            "not_authenticated",
            "Send a Potluck API token as `Authorization: Bearer <token>`.",
        )
    principal = await token_authenticate(secret=secret.strip())
    if principal is None:
        raise ApiError(
            "not_authenticated", "The API token is not valid (unknown, revoked or expired)."
        )
    return principal


async def _org_models(principal: TokenPrincipal) -> dict[str, ResolvedModel]:
    models = org_models_cached(organization_id=principal.organization_id)
    if models is None:
        models = await database_sync_to_async(org_models_load_cached)(
            organization_id=principal.organization_id
        )
    return models


def _model_object(resolved: ResolvedModel) -> dict[str, Any]:
    return {
        "id": resolved.ai_model.model_id,
        "object": "model",
        "created": int(resolved.ai_model.created_at.timestamp()),
        "owned_by": resolved.ai_model.provider_key.provider,
    }


async def _models_list(exchange: _Exchange) -> None:
    principal = await _authenticate(exchange)
    models = await _org_models(principal)
    data = [_model_object(m) for key, m in sorted(models.items()) if principal.allows(key)]
    await exchange.json(200, {"object": "list", "data": data})


async def _model_retrieve(exchange: _Exchange, model_id: str) -> None:
    from urllib.parse import unquote

    principal = await _authenticate(exchange)
    models = await _org_models(principal)
    resolved = model_for_token(principal=principal, models=models, model_id=unquote(model_id))
    await exchange.json(200, _model_object(resolved))


# --- chat completions -------------------------------------------------------------------------


class _ParsedChat:
    def __init__(self, body: Any, *, default_max_tokens: int) -> None:
        if not isinstance(body, dict):
            raise ApiError("validation_error", "The body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError("validation_error", "`model` is required.", param="model")
        self.model: str = model
        self.system, self.turns = _parse_messages(body.get("messages"))
        self.max_tokens = _parse_max_tokens(body, default=default_max_tokens)
        self.temperature = _parse_temperature(body.get("temperature"))
        self.stop = _parse_stop(body.get("stop"))
        n = body.get("n")
        if n is not None and n != 1:
            raise ApiError("validation_error", "Only n=1 is supported.", param="n")
        stream = body.get("stream", False)
        if stream is not None and not isinstance(stream, bool):
            raise ApiError("validation_error", "`stream` must be a boolean.", param="stream")
        self.stream = bool(stream)
        options = body.get("stream_options") or {}
        if not isinstance(options, dict):
            raise ApiError(
                "validation_error", "`stream_options` must be an object.", param="stream_options"
            )
        self.include_usage = bool(options.get("include_usage", False))
        user = body.get("user")
        if user is not None and not isinstance(user, str):
            raise ApiError("validation_error", "`user` must be a string.", param="user")


def _text_of(content: Any, index: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise ApiError(
                    "validation_error",
                    "Only text content parts are supported.",
                    param=f"messages[{index}].content",
                )
            text = part.get("text")
            if not isinstance(text, str):
                raise ApiError(
                    "validation_error",
                    "A text part needs a `text` string.",
                    param=f"messages[{index}].content",
                )
            parts.append(text)
        return "".join(parts)
    raise ApiError(
        "validation_error",
        "Message content must be a string or a list of text parts.",
        param=f"messages[{index}].content",
    )


def _parse_messages(messages: Any) -> tuple[str | None, list[PromptTurn]]:
    if not isinstance(messages, list) or not messages:
        raise ApiError("validation_error", "`messages` must be a non-empty list.", param="messages")
    system: list[str] = []
    turns: list[PromptTurn] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ApiError(
                "validation_error", "Each message must be an object.", param=f"messages[{index}]"
            )
        role = message.get("role")
        text = _text_of(message.get("content"), index)
        if role in ("system", "developer"):
            system.append(text)
        elif role in ("user", "assistant"):
            turns.append(PromptTurn(role=str(role), content=text))
        else:
            raise ApiError(
                "validation_error",
                f"Unsupported message role {str(role)[:50]!r}.",
                param=f"messages[{index}].role",
            )
    if not turns:
        raise ApiError(
            "validation_error", "At least one user message is required.", param="messages"
        )
    return ("\n\n".join(system) if system else None), turns


def _parse_max_tokens(body: dict[str, Any], *, default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        # The same bound as the chat frames' max_tokens (chat.serializers): a huge integer would
        # otherwise overflow the reservation's Decimal arithmetic.
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= MAX_TOKENS_LIMIT
        ):
            raise ApiError(
                "validation_error",
                f"`{name}` must be an integer from 1 to {MAX_TOKENS_LIMIT}.",
                param=name,
            )
        return int(value)
    return default


def _parse_temperature(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise ApiError(
            "validation_error", "`temperature` must be between 0 and 2.", param="temperature"
        )
    return float(value)


def _parse_stop(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,) if value else None
    if (
        isinstance(value, list)
        and len(value) <= MAX_STOP_SEQUENCES
        and all(isinstance(s, str) and s for s in value)
    ):
        return tuple(value) or None
    raise ApiError(
        "validation_error", "`stop` must be a string or a list of up to 4 strings.", param="stop"
    )


@dataclass(frozen=True)
class _Early:
    """A complete answer with the provider's usage report, before settlement."""

    text: str
    usage: UsageReport
    finish_reason: str | None


class _ApiSink(GenerationSink):
    """Hands text to the HTTP side through a queue and keeps the upstream clock."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | _Early | GenerationResult] = asyncio.Queue()
        self.admitted_at: float | None = None
        self.first_text_at: float | None = None
        self.last_text_at: float | None = None
        self.upstream_done_at: float | None = None

    async def on_admitted(self, admission: Admission) -> None:
        self.admitted_at = time.perf_counter()

    async def on_text(self, text: str) -> None:
        now = time.perf_counter()
        if self.first_text_at is None:
            self.first_text_at = now
        self.last_text_at = now
        self.queue.put_nowait(text)

    async def on_upstream_done(
        self, *, status: str, text: str, usage: UsageReport | None, finish_reason: str | None
    ) -> None:
        self.upstream_done_at = time.perf_counter()
        if status == "complete" and usage is not None:
            # The answer is known; settlement (the ledger row) follows without the client.
            self.queue.put_nowait(_Early(text=text, usage=usage, finish_reason=finish_reason))

    async def on_finished(self, result: GenerationResult) -> None:
        self.queue.put_nowait(result)

    def upstream_until(self, moment: float | None) -> float:
        if self.admitted_at is None or moment is None:
            return 0.0
        return max(moment - self.admitted_at, 0.0)


def _finish_reason(result: GenerationResult | _Early) -> str:
    reason = result.finish_reason or "stop"
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def _usage(result: GenerationResult | _Early) -> dict[str, Any]:
    if isinstance(result, _Early):
        # The same normalisation the gate bills with, so the answer and the ledger agree.
        billed = token_usage(result.usage).normalized()
        prompt, completion = billed.input_tokens, billed.output_tokens
        cached, reasoning = billed.cached_input_tokens, billed.reasoning_tokens
    else:
        record = result.record
        prompt = record.input_tokens if record else 0
        completion = record.output_tokens if record else 0
        cached = record.cached_input_tokens if record else 0
        reasoning = record.reasoning_tokens if record else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": cached,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _result_error(result: GenerationResult) -> ApiError:
    if result.status == "stopped":
        return ApiError("generation_stopped", "The generation was stopped by the server.")
    if result.error_code == "service_unavailable":
        # Refused at admission because the database is down (the gate's only outage).
        return _api_error_from(ServiceUnavailableError("database"))
    return ApiError(
        result.error_code or "provider_error",
        result.error_message or "Failed.",
        detail=result.error_detail if result.error_code == "budget_exceeded" else None,
    )


async def _watch_disconnect(exchange: _Exchange, task: asyncio.Task[GenerationResult]) -> None:
    """Cancel the generation when the client goes away (it is still settled and charged)."""
    while True:
        message = await exchange.receive()
        if message["type"] == "http.disconnect":
            exchange.disconnected = True
            task.cancel()
            return


# Calls in flight per token in this process, for Potluck's own concurrency limit (the budget
# gate bounds money; this bounds a runaway script's load). Per process, like the chat's limit.
_in_flight: collections.Counter[int] = collections.Counter()


@contextlib.contextmanager
def _concurrency_slot(token_id: int) -> Iterator[None]:
    limit = int(settings.API_MAX_CONCURRENT_PER_TOKEN)
    if _in_flight[token_id] >= limit:
        raise ApiError(
            "rate_limited",
            f"This token already has {limit} requests in flight; wait for one to finish.",
        )
    _in_flight[token_id] += 1
    try:
        yield
    finally:
        _in_flight[token_id] -= 1
        if _in_flight[token_id] <= 0:
            del _in_flight[token_id]


async def _chat_completions(exchange: _Exchange) -> None:
    principal = await _authenticate(exchange)
    with _concurrency_slot(principal.token_id):
        await _chat_completion_admitted(exchange, principal)


async def _chat_completion_admitted(exchange: _Exchange, principal: TokenPrincipal) -> None:
    raw = await exchange.body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: `[[[[…]]]]` nested too deeply
        raise ApiError("validation_error", "The body is not valid JSON.") from None
    parsed = _ParsedChat(body, default_max_tokens=principal.default_max_tokens)
    models = await _org_models(principal)
    resolved = model_for_token(principal=principal, models=models, model_id=parsed.model)
    request = GenerationRequest(
        user_id=principal.user_id,
        model_id=parsed.model,
        turns=parsed.turns,
        system=parsed.system,
        max_tokens=parsed.max_tokens,
        temperature=parsed.temperature,
        source="api",
        api_token_id=principal.token_id,
        stop=parsed.stop,
        admit=partial(api_admit, principal=principal, resolved=resolved),
        parallel_orm=not settings.IS_SQLITE,
    )
    sink = _ApiSink()
    task = start_generation(request, sink, kind="api")
    watcher = asyncio.get_running_loop().create_task(_watch_disconnect(exchange, task))
    try:
        if parsed.stream:
            await _stream_answer(exchange, parsed, sink, task)
        else:
            await _whole_answer(exchange, parsed, sink, task)
    finally:
        watcher.cancel()
        # Once the provider call ended, settlement goes on without us (the task is registered and
        # shielded); before that, leaving means nobody wants the answer: stop it.
        if not task.done() and sink.upstream_done_at is None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({task})


def _completion_id() -> str:
    return f"chatcmpl-{new_call_id()}"


async def _whole_answer(
    exchange: _Exchange,
    parsed: _ParsedChat,
    sink: _ApiSink,
    task: asyncio.Task[GenerationResult],
) -> None:
    while True:
        item = await sink.queue.get()
        if isinstance(item, _Early | GenerationResult):
            break
    if exchange.disconnected:
        return  # nobody to answer; the call was stopped and settled
    exchange.upstream_s = sink.upstream_until(sink.upstream_done_at or sink.last_text_at)
    result = item
    if isinstance(result, GenerationResult) and result.status != "complete":
        raise _result_error(result)
    await exchange.json(
        200,
        {
            "id": _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": parsed.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": result.text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": _finish_reason(result),
                }
            ],
            "usage": _usage(result),
            "service_tier": "default",
            "system_fingerprint": None,
        },
    )


async def _stream_answer(
    exchange: _Exchange,
    parsed: _ParsedChat,
    sink: _ApiSink,
    task: asyncio.Task[GenerationResult],
) -> None:
    first = await sink.queue.get()
    if isinstance(first, GenerationResult) and first.status != "complete" and not first.text:
        raise _result_error(first)
    if isinstance(first, _Early) and not first.text:
        first = await sink.queue.get()  # no text at all: the settled result follows
    completion_id = _completion_id()
    created = int(time.time())
    include_usage = parsed.include_usage

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        data: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": parsed.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        return b"data: " + _dumps(data) + b"\n\n"

    exchange.upstream_s = sink.upstream_until(sink.first_text_at)
    await exchange.start(
        200,
        b"text/event-stream; charset=utf-8",
        [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")],
    )
    out = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    item: str | _Early | GenerationResult = first
    while isinstance(item, str):
        texts = [item]
        # Coalesce what is already queued: one write for a burst of small deltas.
        while not sink.queue.empty():
            item = sink.queue.get_nowait()
            if not isinstance(item, str):
                break
            texts.append(item)
        out.append(chunk({"content": "".join(texts)}, None))
        await exchange.send(
            {"type": "http.response.body", "body": b"".join(out), "more_body": True}
        )
        out = []
        if isinstance(item, str):
            item = await sink.queue.get()
    result = item
    if isinstance(result, _Early) or result.status == "complete":
        out.append(chunk({}, _finish_reason(result)))
        if include_usage:
            usage = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": parsed.model,
                "system_fingerprint": None,
                "choices": [],
                "usage": _usage(result),
            }
            out.append(b"data: " + _dumps(usage) + b"\n\n")
    elif not exchange.disconnected:
        out.append(b"data: " + _dumps(_result_error(result).body()) + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    if exchange.disconnected:
        return
    with contextlib.suppress(Exception):
        await exchange.send(
            {"type": "http.response.body", "body": b"".join(out), "more_body": False}
        )
    exchange.closed = True
