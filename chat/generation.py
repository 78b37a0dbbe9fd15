"""The generation engine: one transport-agnostic path from a prompt to a settled provider call.

Every caller (the chat WebSocket, conversation titles, the OpenAI-compatible /v1 API) goes
through `run_generation`:

1. admission through `billing.gate.admission_open` (price snapshot, reservation, budgets; a
   refusal ends the generation `failed` with the gate's code and no provider call);
2. streaming from the provider adapter (`providers.wire.dispatch.stream_chat`), text handed to a
   sink;
3. settlement through `billing.gate.admission_settle`, exactly once, in every ending, shielded
   from cancellation: complete, stopped (task cancelled: `generation.stop` or shutdown), provider
   error after output (charged) or before any output (not charged).

A sink adapts the engine to a transport. `ChatReplySink` persists an assistant message (partial
content about every second, final state through services) and sends batched `message.delta`
frames; the /v1 gateway has a sink of its own (gateway/openai_api.py).

Chat replies run as asyncio tasks in the ASGI process, registered by assistant message id
(`chat.registry`), never awaited by the socket: closing the socket does not stop them. The ORM is
only ever reached through `database_sync_to_async`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from accounts.access import membership_get
from accounts.models import User
from billing.gate import (
    Admission,
    ModelPrice,
    TokenCap,
    admission_heartbeat,
    admission_open,
    admission_output_cap,
    admission_settle,
)
from billing.models import UsageRecord
from billing.pricing import (
    TokenUsage,
    UnitPrices,
    prompt_tokens_estimate,
    prompt_tokens_upper_bound,
)
from chat import events, services
from chat.registry import GenerationKind, registry
from chat.services import MessageOutcome, PreparedReply, PromptTurn
from core.exceptions import ApplicationError, outage_error
from core.metrics import PROVIDER_ERRORS
from providers.models import AIModel
from providers.selectors import aimodel_get_for_use, provider_config_for
from providers.services import provider_key_mark_used
from providers.wire.base import (
    ChatMessage,
    ChatRequest,
    Finish,
    ProviderConfig,
    ProviderError,
    TextDelta,
    UsageReport,
)
from providers.wire.dispatch import stream_chat

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Module constants read at call time, so tests and the benchmark can tune them.
DELTA_INTERVAL = 0.04  # seconds: at most ~25 delta frames per second per message
PERSIST_INTERVAL = 1.0  # seconds between saves of partial content
KEY_LAST_USED_RESOLUTION = timedelta(seconds=60)  # how stale a provider key's last_used_at may be
HEARTBEAT_INTERVAL = 30.0  # seconds between reservation heartbeats (the reaper's liveness signal)
SHUTDOWN_TIMEOUT = 10.0
TITLE_MAX_TOKENS = 32
TITLE_SYSTEM = (
    "You write titles for chat conversations. Answer with a short title of at most six words "
    "for the conversation below, in its language, with no quotes and no final punctuation."
)

Status = Literal["complete", "stopped", "failed"]


@dataclass(frozen=True)
class GenerationRequest:
    user_id: int
    model_id: str  # the org-facing model id
    turns: list[PromptTurn]
    system: str | None
    max_tokens: int
    temperature: float | None = None
    source: str = "chat"
    conversation_id: int | None = None
    message_id: int | None = None
    api_token_id: int | None = None
    stop: tuple[str, ...] | None = None  # stop sequences, passed to the provider as they are
    # Replaces the default admission (`_admit`) for callers that resolve the user, model and key
    # themselves (the /v1 API's in-process caches). Runs in the ORM thread, like `_admit`.
    admit: Callable[[GenerationRequest], tuple[Admission, ProviderConfig]] | None = field(
        default=None, compare=False, repr=False
    )
    # Admission and settlement in the loop's thread pool instead of the one shared ORM thread:
    # they are independent short transactions, so a high-concurrency caller (the /v1 gateway on
    # Postgres) need not queue behind every other request's database work.
    parallel_orm: bool = False
    # Admitted already (the chat socket admits in the transaction that stores the messages, see
    # `chat_reply_send`): the admission and provider config, or the gate's refusal.
    admitted: tuple[Admission, ProviderConfig] | ApplicationError | None = field(
        default=None, compare=False, repr=False
    )


@dataclass(frozen=True)
class GenerationResult:
    status: Status
    text: str
    error_code: str = ""
    error_message: str = ""
    error_detail: dict[str, Any] | None = None  # a refusal's structured detail (budget_exceeded)
    finish_reason: str | None = None
    record: UsageRecord | None = None  # the ledger row; None when nothing was charged
    admission: Admission | None = None

    @property
    def cost_usd(self) -> Decimal | None:
        return self.record.cost_usd if self.record is not None else None

    def outcome(self) -> MessageOutcome:
        record = self.record
        return MessageOutcome(
            status=self.status,
            content=self.text,
            input_tokens=record.input_tokens if record else None,
            output_tokens=record.output_tokens if record else None,
            cached_input_tokens=record.cached_input_tokens if record else None,
            reasoning_tokens=record.reasoning_tokens if record else None,
            cost_usd=record.cost_usd if record else None,
            error_code=self.error_code,
            error_message=self.error_message,
            error_detail=self.error_detail,
        )


class GenerationSink:
    """Where a generation's progress goes. The base sink discards everything."""

    async def on_admitted(self, admission: Admission) -> None:
        return None

    async def on_text(self, text: str) -> None:
        return None

    async def on_upstream_done(
        self, *, status: Status, text: str, usage: UsageReport | None, finish_reason: str | None
    ) -> None:
        """Called once the provider call ended, before settlement: a transport that can answer
        from the provider's own usage report may do so now (settlement still follows)."""

    async def on_finished(self, result: GenerationResult) -> None:
        """Called exactly once, after settlement, shielded from cancellation."""


# --- helpers ------------------------------------------------------------------------------------


async def _shielded(aw: Awaitable[T]) -> T:
    """Run `aw` to the end even if the calling task is cancelled meanwhile.

    The cancellation is not lost: `asyncio.current_task().cancelling()` still reports it, which
    is how `run_generation` tells a stop from a normal ending.
    """
    future = asyncio.ensure_future(aw)
    while True:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.done():
                return future.result()  # raises the future's own error, if any
            # Our task was cancelled; the work goes on, and we wait for it again.


def _orm(request: GenerationRequest, fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    if request.parallel_orm:
        return database_sync_to_async(fn, thread_sensitive=False)
    return database_sync_to_async(fn)


def _cancel_requested() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _admit(request: GenerationRequest) -> tuple[Admission, ProviderConfig]:
    user = User.objects.select_related("membership__organization").get(pk=request.user_id)
    org = membership_get(user=user).organization
    ai_model = aimodel_get_for_use(org=org, model_id=request.model_id)
    # One commit (one WAL flush on Postgres) for the reservation and the key's last use: each
    # commit is milliseconds on the way to the first token.
    with transaction.atomic():
        return _admit_loaded(request, user=user, ai_model=ai_model)


def _admit_loaded(
    request: GenerationRequest, *, user: User, ai_model: AIModel
) -> tuple[Admission, ProviderConfig]:
    """Admission for a user and model the caller loaded (and checked: the model is enabled in
    the user's org). Call inside a transaction: the reservation and the key's last use share
    its commit."""
    config = provider_config_for(ai_model=ai_model)
    admission = admission_open_for(request, user_id=user.pk, ai_model=ai_model)
    # The key's last use to the minute: one UPDATE (and a row lock shared by every call on the
    # key, held to the commit) is skipped when the loaded key was marked less than that ago.
    last_used = ai_model.provider_key.last_used_at
    if last_used is None or timezone.now() - last_used >= KEY_LAST_USED_RESOLUTION:
        provider_key_mark_used(provider_key_id=ai_model.provider_key_id)
    return admission, config


def model_price(ai_model: AIModel) -> ModelPrice:
    """The price snapshot of a model that the gate admits a call at."""
    return ModelPrice(
        model_id=ai_model.model_id,
        upstream_model=ai_model.name,
        provider=ai_model.provider_key.provider,
        provider_key_id=ai_model.provider_key_id,
        prices=UnitPrices(
            input=ai_model.input_usd_per_mtok,
            output=ai_model.output_usd_per_mtok,
            cached_input=ai_model.cached_input_usd_per_mtok,
            cache_write=ai_model.cache_write_usd_per_mtok,
        ),
        max_output_tokens=ai_model.max_output_tokens,
    )


def admission_open_for(
    request: GenerationRequest,
    *,
    user_id: int,
    ai_model: AIModel,
    token_cap: TokenCap | None = None,
) -> Admission:
    """The one admission step of every caller (chat, titles, /v1): the request's prompt sized
    and the model's prices snapshotted, then the gate."""
    texts = [t.content for t in request.turns]
    return admission_open(
        organization_id=ai_model.organization_id,
        user_id=user_id,
        model=model_price(ai_model),
        prompt_tokens_upper=prompt_tokens_upper_bound(texts, request.system),
        prompt_tokens_estimate=prompt_tokens_estimate(texts, request.system),
        max_tokens=request.max_tokens,
        source=request.source,
        conversation_id=request.conversation_id,
        message_id=request.message_id,
        api_token_id=request.api_token_id,
        token_cap=token_cap,
    )


def _admitted(
    admitted: tuple[Admission, ProviderConfig] | ApplicationError,
) -> tuple[Admission, ProviderConfig]:
    """The admission made before the engine ran, or the gate's refusal raised again."""
    if isinstance(admitted, ApplicationError):
        raise admitted
    return admitted


def _chat_request(request: GenerationRequest, admission: Admission) -> ChatRequest:
    return ChatRequest(
        model=admission.upstream_model,
        messages=[
            ChatMessage(role="assistant" if t.role == "assistant" else "user", content=t.content)
            for t in request.turns
        ],
        max_tokens=admission.max_tokens,
        system=request.system,
        temperature=request.temperature,
        stop=list(request.stop) if request.stop else None,
    )


def token_usage(report: UsageReport) -> TokenUsage:
    """A provider's usage report in billing's terms (the same numbers)."""
    return TokenUsage(
        input_tokens=report.input_tokens,
        cached_input_tokens=report.cached_input_tokens,
        cache_write_tokens=report.cache_write_tokens,
        output_tokens=report.output_tokens,
        reasoning_tokens=report.reasoning_tokens,
    )


class _OutputMeter:
    """A running count of output tokens, for cutting off a provider that ignores max_tokens.

    Never bytes or characters (a byte count cut honest answers in accented, CJK or emoji text
    off): each text delta is at least one token, and a provider's own running count (Anthropic,
    Gemini report one mid-stream) replaces that when it is higher. So the count never exceeds the
    tokens really streamed, and a provider that honours max_tokens is never cut off.
    """

    def __init__(self) -> None:
        self.deltas = 0
        self.reported = 0

    def add_text(self) -> None:
        self.deltas += 1

    def add_usage(self, report: UsageReport) -> None:
        self.reported = max(self.reported, report.output_tokens)

    @property
    def tokens(self) -> int:
        return max(self.deltas, self.reported)


@dataclass
class _Progress:
    parts: list[str] = field(default_factory=list)
    usage: UsageReport | None = None
    finish: str | None = None
    status: Status = "complete"
    error_code: str = ""
    error_message: str = ""
    meter: _OutputMeter = field(default_factory=_OutputMeter)
    cut_off: bool = False


async def _stream(
    request: GenerationRequest,
    admission: Admission,
    config: ProviderConfig,
    sink: GenerationSink,
    progress: _Progress,
) -> None:
    """Stream the provider's answer into `progress`; classify how it ended. Never raises."""
    try:
        if _cancel_requested():
            raise asyncio.CancelledError
        await sink.on_admitted(admission)
        stream = stream_chat(config, _chat_request(request, admission))
        # Mid-stream enforcement: a provider that ignores max_tokens is cut off once its output
        # reaches max_tokens plus the policy's margin (an honest one never does). What it
        # streamed is still settled (estimated when no usage came), never written off.
        output_cap = admission_output_cap(admission)
        meter = progress.meter
        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    if event.text:
                        progress.parts.append(event.text)
                        await sink.on_text(event.text)
                        meter.add_text()
                elif isinstance(event, UsageReport):
                    progress.usage = event
                    meter.add_usage(event)
                elif isinstance(event, Finish):
                    progress.finish = event.reason
                if meter.tokens >= output_cap:
                    logger.warning(
                        "generation %s reached its output cap of %d tokens; cut off",
                        admission.call_id,
                        output_cap,
                    )
                    progress.finish = "length"
                    progress.cut_off = True
                    break
        finally:
            # Closing the adapter's generator closes the upstream HTTP connection (a stop must
            # stop the provider's meter too).
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await _shielded(aclose())
    except asyncio.CancelledError:
        progress.status = "stopped"
    except ProviderError as exc:
        PROVIDER_ERRORS.labels(provider=str(config.provider), code=exc.code).inc()
        progress.status, progress.error_code, progress.error_message = (
            "failed",
            exc.code,
            exc.message,
        )
    except Exception:
        logger.exception("generation %s failed", admission.call_id)
        PROVIDER_ERRORS.labels(provider=str(config.provider), code="provider_error").inc()
        progress.status, progress.error_code = "failed", "provider_error"
        progress.error_message = "The provider's answer could not be read."


# --- the engine ---------------------------------------------------------------------------------


async def run_generation(
    request: GenerationRequest, sink: GenerationSink | None = None
) -> GenerationResult:
    """Admit, stream and settle one provider call; return how it ended.

    Cancelling the task running this is how a generation is stopped: the upstream connection is
    closed, the content so far is kept with status `stopped`, and the call is settled (estimated
    when the provider reported no usage). The cancellation is absorbed (the task returns its
    result) so a stopped generation reads like any other ending.
    """
    sink = sink or GenerationSink()
    _install_shutdown_hook()
    try:
        if request.admitted is not None:
            admission, config = _admitted(request.admitted)
        else:
            admit = request.admit or _admit
            admission, config = await _shielded(_orm(request, admit)(request))
    except ApplicationError as exc:
        result = GenerationResult(
            "failed",
            "",
            error_code=exc.code,
            error_message=exc.message,
            error_detail=exc.detail or None,
        )
        await _finish(sink, result)
        return _absorb_cancel(result)
    except Exception as exc:
        logger.exception("generation admission failed")
        outage = outage_error(exc)  # the database or Redis is down: say so, as everywhere
        result = GenerationResult(
            "failed",
            "",
            error_code="internal_error" if outage is None else outage.code,
            error_message="The request failed." if outage is None else outage.message,
        )
        await _finish(sink, result)
        return _absorb_cancel(result)

    progress = _Progress()
    await _stream(request, admission, config, sink, progress)
    text = "".join(progress.parts)
    usage = progress.usage
    status = progress.status
    try:
        await sink.on_upstream_done(
            status=status, text=text, usage=usage, finish_reason=progress.finish
        )
    except Exception:
        logger.exception("on_upstream_done of %s failed", admission.call_id)
    # A call that ended (failed or stopped) before any output is not charged; every other ending
    # writes exactly one row, estimated when the provider reported no usage.
    failed_before_output = status != "complete" and not text and usage is None
    record: UsageRecord | None = None
    try:
        record = await _shielded(
            _orm(request, admission_settle)(
                admission=admission,
                usage=None if usage is None else token_usage(usage),
                output_text=text,
                failed_before_output=failed_before_output,
                output_deltas=progress.meter.deltas,
                cut_off=progress.cut_off,
            )
        )
    except Exception:
        # The reservation stays open and the reaper settles it: the charge is never lost.
        logger.exception("settlement of %s failed; left to the reaper", admission.call_id)
    result = GenerationResult(
        status,
        text,
        error_code=progress.error_code,
        error_message=progress.error_message,
        finish_reason=progress.finish,
        record=record,
        admission=admission,
    )
    await _finish(sink, result)
    return _absorb_cancel(result)


async def _finish(sink: GenerationSink, result: GenerationResult) -> None:
    try:
        await _shielded(sink.on_finished(result))
    except Exception:
        # The ledger row is written; only the transport's view of the ending is lost.
        logger.exception("finishing a generation (%s) failed", result.status)


def _absorb_cancel(result: GenerationResult) -> GenerationResult:
    task = asyncio.current_task()
    if task is not None:
        while task.cancelling():
            task.uncancel()
    return result


def start_generation(
    request: GenerationRequest,
    sink: GenerationSink | None = None,
    *,
    kind: GenerationKind = "api",
) -> asyncio.Task[GenerationResult]:
    """Run a generation as a registered task of the running loop (keyed by message id when it
    has one, so `stop_generation` finds it). Nobody has to await the task."""
    task = asyncio.get_running_loop().create_task(run_generation(request, sink))
    key = (
        registry.message_key(request.message_id)
        if request.message_id is not None
        else f"{kind}:{uuid.uuid4().hex}"
    )
    registry.add(
        key=key, task=task, user_id=request.user_id, kind=kind, message_id=request.message_id
    )
    return task


def stop_generation(*, message_id: int) -> bool:
    """Cancel the generation of this assistant message if it runs in this process."""
    entry = registry.for_message(message_id)
    if entry is None:
        return False
    entry.task.cancel()
    return True


# --- chat replies -------------------------------------------------------------------------------


class _DeltaPump:
    """Batches text into `message.delta` frames: the first text goes out at once, then at most
    one frame per DELTA_INTERVAL, so a fast upstream cannot flood the channel layer."""

    def __init__(
        self,
        *,
        conversation_id: int,
        message_id: int,
        user_id: int | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.user_id = user_id
        self.seq = 0
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    def push(self, text: str) -> None:
        self._pending.append(text)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending:
                text = "".join(self._pending)
                self._pending.clear()
                await events.message_delta_send(
                    conversation_id=self.conversation_id,
                    message_id=self.message_id,
                    seq=self.seq,
                    text=text,
                    user_id=self.user_id,
                )
                self.seq += 1
            if self._closing and not self._pending:
                return
            await asyncio.sleep(DELTA_INTERVAL)

    async def close(self) -> None:
        """Flush what is pending and stop."""
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()


class ChatReplySink(GenerationSink):
    """Streams a generation into a stored assistant message (CONTRACT "WebSocket chat")."""

    def __init__(
        self,
        *,
        conversation_id: int,
        message_id: int,
        user_id: int | None = None,
        streaming_stored: bool = False,
    ) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.user_id = user_id
        # Status `streaming` was stored with the admission: no save needed on admission.
        self._streaming_stored = streaming_stored
        self._parts: list[str] = []
        self._pump: _DeltaPump | None = None
        self._admission: Admission | None = None
        self._last_persist = 0.0
        self._last_heartbeat = 0.0
        self._queued: tuple[str, bool] | None = None  # the next save: (content, heartbeat)
        self._writer: asyncio.Task[None] | None = None

    async def on_admitted(self, admission: Admission) -> None:
        self._admission = admission
        now = time.monotonic()
        self._last_persist = self._last_heartbeat = now
        if not self._streaming_stored:
            self._persist_later("", heartbeat=False)  # status `streaming`
        self._pump = _DeltaPump(
            conversation_id=self.conversation_id,
            message_id=self.message_id,
            user_id=self.user_id,
        )

    async def on_text(self, text: str) -> None:
        self._parts.append(text)
        if self._pump is not None:
            self._pump.push(text)
        now = time.monotonic()
        if now - self._last_persist >= PERSIST_INTERVAL:
            self._last_persist = now
            heartbeat = now - self._last_heartbeat >= HEARTBEAT_INTERVAL
            if heartbeat:
                self._last_heartbeat = now
            self._persist_later("".join(self._parts), heartbeat=heartbeat)

    def _persist_later(self, content: str, *, heartbeat: bool) -> None:
        """Save partial content in the background, so the stream never waits for the database
        (the ORM thread is shared by the whole process: under load a save can wait seconds).
        Saves of one message run one at a time, in order; a newer content replaces a queued one.
        """
        queued = self._queued
        self._queued = (content, heartbeat or (queued is not None and queued[1]))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    async def _write_queued(self) -> None:
        while self._queued is not None:
            content, heartbeat = self._queued
            self._queued = None
            try:
                await database_sync_to_async(self._persist)(content, heartbeat)
            except Exception:
                # The final state is still stored by `message_finish`.
                logger.exception("saving partial content of message %s failed", self.message_id)

    def _persist(self, content: str, heartbeat: bool) -> None:
        services.message_progress_save(message_id=self.message_id, content=content)
        if heartbeat and self._admission is not None:
            admission_heartbeat(admission=self._admission)

    async def on_finished(self, result: GenerationResult) -> None:
        if self._pump is not None:
            await self._pump.close()
        if self._writer is not None:
            # A partial save still queued must not land after (and overwrite) the final state.
            await self._writer
        message = await database_sync_to_async(services.message_finish)(
            message_id=self.message_id, outcome=result.outcome()
        )
        if message is not None and result.status == "complete":
            title = await database_sync_to_async(services.title_prompt_for)(
                message_id=self.message_id
            )
            if title is not None:
                _ = start_title(*title)


class _AdmissionDatabaseError(Exception):
    """The ledger could not be written while admitting inside a send's transaction."""


@dataclass(frozen=True)
class ReplyStart:
    """A stored user turn and pending answer (`services.message_send`/`message_regenerate`),
    with the answer's call admitted in the same transaction: the admission and provider config,
    the gate's refusal, or None when admission is left to the engine."""

    prepared: PreparedReply
    created: bool
    admitted: tuple[Admission, ProviderConfig] | ApplicationError | None


def _reply_request(
    prepared: PreparedReply,
    admitted: tuple[Admission, ProviderConfig] | ApplicationError | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        user_id=prepared.user_id,
        model_id=prepared.model_id,
        turns=prepared.turns,
        system=prepared.system,
        max_tokens=prepared.max_tokens,
        temperature=prepared.temperature,
        source="chat",
        conversation_id=prepared.conversation_id,
        message_id=prepared.assistant_message_id,
        admitted=admitted,
    )


def _reply_start(
    store: Callable[..., Any], *, user: User, kwargs: dict[str, Any]
) -> tuple[Any, tuple[Admission, ProviderConfig] | ApplicationError | None]:
    """Run `store` (a send or regenerate service) with the answer's admission as the last step
    of its transaction: one trip to the ORM thread and one commit before the upstream call.

    A refusal by the gate (budget, price) keeps the stored messages, as when the engine admits:
    the engine then fails the answer with the gate's code. If the ledger cannot be written, the
    transaction is rolled back and the messages are stored alone; the engine admits (and fails
    with `service_unavailable`) as it does for every other caller.
    """
    outcome: list[tuple[Admission, ProviderConfig] | ApplicationError] = []

    def then(prepared: PreparedReply, ai_model: AIModel) -> bool:
        try:
            admitted = _admit_loaded(_reply_request(prepared), user=user, ai_model=ai_model)
        except ApplicationError as exc:
            if exc.code == "service_unavailable":
                raise _AdmissionDatabaseError from exc
            outcome.append(exc)
            return False
        outcome.append(admitted)
        return True

    try:
        stored = store(user=user, then=then, **kwargs)
    except _AdmissionDatabaseError:
        return store(user=user, **kwargs), None
    return stored, outcome[0] if outcome else None


def chat_reply_send(*, user: User, **kwargs: Any) -> ReplyStart:
    """`services.message_send` with the answer admitted in its transaction (ORM thread)."""
    (prepared, created), admitted = _reply_start(services.message_send, user=user, kwargs=kwargs)
    return ReplyStart(prepared=prepared, created=created, admitted=admitted)


def chat_reply_regenerate(*, user: User, **kwargs: Any) -> ReplyStart:
    """`services.message_regenerate` with the answer admitted in its transaction."""
    prepared, admitted = _reply_start(services.message_regenerate, user=user, kwargs=kwargs)
    return ReplyStart(prepared=prepared, created=False, admitted=admitted)


def start_chat_reply(
    prepared: PreparedReply,
    *,
    admitted: tuple[Admission, ProviderConfig] | ApplicationError | None = None,
) -> asyncio.Task[GenerationResult]:
    """Start the generation of a prepared assistant message (see `services.message_send`).

    `admitted`: the call's admission made with the messages (`chat_reply_send`); the engine
    admits it otherwise."""
    request = _reply_request(prepared, admitted)
    sink = ChatReplySink(
        conversation_id=prepared.conversation_id,
        message_id=prepared.assistant_message_id,
        user_id=prepared.user_id,
        streaming_stored=isinstance(admitted, tuple),
    )
    return start_generation(request, sink, kind="chat")


# --- titles -------------------------------------------------------------------------------------


async def _title_run(request: GenerationRequest) -> GenerationResult:
    result = await run_generation(request)
    if result.status == "complete" and result.text.strip() and request.conversation_id:
        await database_sync_to_async(services.conversation_title_set)(
            conversation_id=request.conversation_id, title=result.text
        )
    return result


def start_title(
    user_id: int, conversation_id: int, model_id: str, turns: list[PromptTurn]
) -> asyncio.Task[GenerationResult]:
    """Title a conversation after its first answer: the same engine and gate, source "system",
    charged to the user whose conversation it is."""
    request = GenerationRequest(
        user_id=user_id,
        model_id=model_id,
        turns=turns,
        system=TITLE_SYSTEM,
        max_tokens=TITLE_MAX_TOKENS,
        source="system",
        conversation_id=conversation_id,
    )
    task = asyncio.get_running_loop().create_task(_title_run(request))
    registry.add(key=f"title:{conversation_id}", task=task, user_id=user_id, kind="title")
    return task


# --- shutdown -----------------------------------------------------------------------------------


async def shutdown_generations(timeout: float = SHUTDOWN_TIMEOUT) -> int:  # noqa: ASYNC109
    """Stop every generation running in this loop and wait (up to `timeout`) for each to settle.

    Each ends `stopped` with its content so far and one ledger row. What does not finish in time
    keeps an open reservation that the billing reaper settles. Returns how many were running.
    """
    entries = registry.running()
    for entry in entries:
        entry.task.cancel()
    if entries:
        _done, pending = await asyncio.wait({e.task for e in entries}, timeout=timeout)
        if pending:
            logger.warning("%d generations did not settle before shutdown", len(pending))
    return len(entries)


_hook_installed = False


def _install_shutdown_hook() -> None:
    """Under Daphne (Twisted's asyncio reactor), settle in-flight generations before the
    reactor stops: a "before shutdown" trigger that returns a Deferred delays the shutdown until
    it fires. Daphne implements no ASGI lifespan, so this is the hook it offers. Elsewhere (tests,
    other servers) nothing is installed; call `shutdown_generations` from the server's own hook.
    """
    global _hook_installed  # noqa: PLW0603
    if _hook_installed or "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    if not getattr(reactor, "running", False):
        return
    _hook_installed = True

    def _before_shutdown() -> Any:
        return Deferred.fromFuture(asyncio.ensure_future(shutdown_generations()))

    reactor.addSystemEventTrigger("before", "shutdown", _before_shutdown)  # type: ignore[arg-type]
