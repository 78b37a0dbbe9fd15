"""Writes to conversations and messages. Every real-time frame is emitted after commit from here.

All functions are synchronous and touch the database; the generation engine and the consumer call
them through `database_sync_to_async`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone

from accounts.access import membership_get
from accounts.models import Organization
from chat import events
from chat.access import conversation_get_for_update, conversation_get_for_user, message_get_for_user
from chat.models import Conversation, Message, MessageRole, MessageStatus
from chat.selectors import branch_path_to_root, message_latest
from chat.serializers import conversation_payload, message_payload
from core.exceptions import ApplicationError
from providers.models import AIModel
from providers.selectors import aimodel_get_for_use

# Called inside a send's or regenerate's transaction, last, with the prepared reply and the model
# it was validated against: the engine admits the call in the same transaction (one commit and no
# second trip to the ORM thread on the way to the first token). It returns whether the call was
# admitted: the answer is then stored `streaming` (its `message.created` frame still says
# `pending`, the state it was created in), else it stays `pending` for the engine to fail.
ThenInTransaction = Callable[["PreparedReply", AIModel], bool]
# Marks "the frame had no parent_id key" (follow the latest message), distinct from None (new root).
UNSET: Any = object()
# Foreign keys whose objects the caller holds (so they exist): `full_clean` would otherwise spend
# one query on each to check it, on the path to a reply's first token.
_HELD_FOREIGN_KEYS = ["organization", "user", "conversation", "parent"]
TITLE_MAX_CHARS = 200


@dataclass(frozen=True)
class PromptTurn:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class PreparedReply:
    """Everything the generation engine needs to produce one assistant message."""

    user_id: int
    organization_id: int
    conversation_id: int
    assistant_message_id: int
    model_id: str
    system: str | None
    turns: list[PromptTurn]
    max_tokens: int
    temperature: float | None


def _validation_error(message: str, **detail: Any) -> ApplicationError:
    return ApplicationError(message, code="validation_error", status=400, detail=detail)


def _model_check(*, org: Organization, model_id: str) -> str:
    """The model id if it names an enabled model of the org; `validation_error` otherwise."""
    return aimodel_get_for_use(org=org, model_id=model_id).model_id


# --- Conversations ------------------------------------------------------------------------------


def conversation_create(
    *, user: Any, title: str = "", model: str = "", system_prompt: str = ""
) -> Conversation:
    org = membership_get(user=user).organization
    if model:
        _model_check(org=org, model_id=model)
    conversation = Conversation(
        organization=org,
        user=user,
        title=title.strip()[:TITLE_MAX_CHARS],
        model=model,
        system_prompt=system_prompt,
    )
    conversation.full_clean()
    conversation.save()
    payload = conversation_payload(conversation)
    transaction.on_commit(
        partial(events.conversation_created_send, user_id=user.pk, conversation=payload)
    )
    return conversation


def conversation_update(
    *,
    conversation: Conversation,
    title: str | None = None,
    model: str | None = None,
    system_prompt: str | None = None,
    archived: bool | None = None,
) -> Conversation:
    fields: list[str] = []
    if title is not None:
        conversation.title = title.strip()[:TITLE_MAX_CHARS]
        fields.append("title")
    if model is not None:
        if model:
            _model_check(org=conversation.organization, model_id=model)
        conversation.model = model
        fields.append("model")
    if system_prompt is not None:
        conversation.system_prompt = system_prompt
        fields.append("system_prompt")
    if archived is not None:
        conversation.archived = archived
        fields.append("archived")
    if not fields:
        return conversation
    conversation.updated_at = timezone.now()
    conversation.full_clean()
    conversation.save(update_fields=[*fields, "updated_at"])
    payload = conversation_payload(conversation)
    transaction.on_commit(
        partial(
            events.conversation_updated_send, user_id=conversation.user_id, conversation=payload
        )
    )
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation and its messages. Usage records stay: the ledger has no FK to it.

    A generation still streaming into it goes on and is settled as usual; its message updates
    then find no row and are dropped (see `message_finish`).
    """
    user_id, conversation_id = conversation.user_id, conversation.pk
    conversation.delete()
    transaction.on_commit(
        partial(events.conversation_deleted_send, user_id=user_id, conversation_id=conversation_id)
    )


def conversation_title_set(*, conversation_id: int, title: str) -> Conversation | None:
    """Set a generated title, unless the user titled the conversation meanwhile (or deleted it)."""
    title = " ".join(title.split()).strip().strip("\"'*#").strip()[:TITLE_MAX_CHARS]
    if not title:
        return None
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
        if conversation is None or conversation.title:
            return None
        conversation.title = title
        conversation.save(update_fields=["title"])
        payload = conversation_payload(conversation)
        transaction.on_commit(
            partial(
                events.conversation_updated_send,
                user_id=conversation.user_id,
                conversation=payload,
            )
        )
    return conversation


# --- Messages -----------------------------------------------------------------------------------


def message_create_user(
    *,
    conversation: Conversation,
    parent: Message | None,
    content: str,
    client_id: str | None = None,
) -> Message:
    message = Message(
        conversation=conversation,
        parent=parent,
        role=MessageRole.USER,
        content=content,
        status=MessageStatus.COMPLETE,
    )
    message.full_clean(exclude=_HELD_FOREIGN_KEYS)
    message.save()
    transaction.on_commit(
        partial(
            events.message_created_send,
            user_id=conversation.user_id,
            message=message_payload(message),
            client_id=client_id,
        )
    )
    return message


def message_create_assistant(
    *,
    conversation: Conversation,
    parent: Message,
    model: str,
    client_id: str | None = None,
    stored_status: str = MessageStatus.PENDING,
) -> Message:
    """A pending answer. `stored_status` `streaming`: the row is inserted as streaming (the
    caller admits the call in this transaction and sets it back to pending if refused); the
    `message.created` frame says `pending` either way."""
    message = Message(
        conversation=conversation,
        parent=parent,
        role=MessageRole.ASSISTANT,
        content="",
        model=model,
        status=stored_status,
    )
    message.full_clean(exclude=_HELD_FOREIGN_KEYS)
    message.save()
    payload = message_payload(message)
    payload["status"] = "pending"
    transaction.on_commit(
        partial(
            events.message_created_send,
            user_id=conversation.user_id,
            message=payload,
            client_id=client_id,
        )
    )
    return message


def _prompt_turns(path: list[Message]) -> list[PromptTurn]:
    """The branch as provider turns. Empty assistant answers (failed before any output) are
    dropped and consecutive turns of one role merged, because some providers insist on strict
    user/assistant alternation."""
    turns: list[PromptTurn] = []
    for message in path:
        if not message.content.strip():
            continue
        if turns and turns[-1].role == message.role:
            turns[-1] = PromptTurn(turns[-1].role, f"{turns[-1].content}\n\n{message.content}")
        else:
            turns.append(PromptTurn(message.role, message.content))
    return turns


def _answer_start(
    *,
    org: Organization,
    conversation: Conversation,
    parent: Message,
    path: list[Message],
    ai_model: AIModel,
    client_id: str | None,
    max_tokens: int | None,
    temperature: float | None,
    then: ThenInTransaction | None,
) -> PreparedReply:
    """Create the assistant answer under `parent` (whose branch is `path`) and what the engine
    needs for it; `then`, when given, admits the call last inside the caller's transaction (the
    answer is stored `streaming` for that, and back to `pending` when admission declines)."""
    assistant = message_create_assistant(
        conversation=conversation,
        parent=parent,
        model=ai_model.model_id,
        client_id=client_id,
        stored_status=MessageStatus.PENDING if then is None else MessageStatus.STREAMING,
    )
    prepared = PreparedReply(
        user_id=conversation.user_id,
        organization_id=conversation.organization_id,
        conversation_id=conversation.pk,
        assistant_message_id=assistant.pk,
        model_id=ai_model.model_id,
        system=conversation.system_prompt or None,
        turns=_prompt_turns(path),
        max_tokens=max_tokens or org.default_max_tokens,
        temperature=temperature,
    )
    if then is not None and not then(prepared, ai_model):
        assistant.status = MessageStatus.PENDING
        Message.objects.filter(pk=assistant.pk).update(status=MessageStatus.PENDING)
    return prepared


def message_send(
    *,
    user: Any,
    conversation_id: int | None,
    content: str,
    model: str,
    parent_id: int | None = UNSET,
    client_id: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    then: ThenInTransaction | None = None,
) -> tuple[PreparedReply, bool]:
    """Store a user message and its pending assistant answer; return what the engine needs and
    whether the conversation was created.

    Everything is validated before anything is written (model enabled in the caller's org,
    content within the org's limit, the conversation and parent the caller's own), so a refused
    frame stores nothing. Frames go out after commit in order: `conversation.created` (when
    new), `message.created` for the user message, then for the assistant message. `then`, when
    given, runs last inside the transaction.
    """
    org = membership_get(user=user).organization
    with transaction.atomic():
        created = conversation_id is None
        if conversation_id is not None:
            # Access first: someone else's conversation is not_found whatever else is wrong.
            conversation = conversation_get_for_update(user=user, conversation_id=conversation_id)
        ai_model = aimodel_get_for_use(org=org, model_id=model)
        model_id = ai_model.model_id
        if len(content) > org.max_message_chars:
            raise _validation_error(
                f"The message is longer than {org.max_message_chars} characters.",
                max_message_chars=org.max_message_chars,
            )
        if conversation_id is None:
            if parent_id not in (UNSET, None):
                raise _validation_error("A new conversation has no parent message.")
            conversation = Conversation(
                organization=org, user=user, model=model_id, updated_at=timezone.now()
            )
            conversation.full_clean(exclude=_HELD_FOREIGN_KEYS)
            conversation.save()
            payload = conversation_payload(conversation)
            transaction.on_commit(
                partial(
                    events.conversation_created_send,
                    user_id=user.pk,
                    conversation=payload,
                    client_id=client_id,
                )
            )
            parent: Message | None = None
        else:
            if parent_id is UNSET:
                parent = message_latest(conversation=conversation)
            elif parent_id is None:
                parent = None
            else:
                parent = Message.objects.filter(pk=parent_id, conversation=conversation).first()
                if parent is None:
                    raise _validation_error("parent_id is not a message of this conversation.")
            conversation.model = model_id
            conversation.updated_at = timezone.now()
            conversation.save(update_fields=["model", "updated_at"])
        user_message = message_create_user(
            conversation=conversation, parent=parent, content=content, client_id=client_id
        )
        # A new first message is the whole branch: no query needed.
        path = [user_message] if parent is None else branch_path_to_root(message=user_message)
        prepared = _answer_start(
            org=org,
            conversation=conversation,
            parent=user_message,
            path=path,
            ai_model=ai_model,
            client_id=client_id,
            max_tokens=max_tokens,
            temperature=temperature,
            then=then,
        )
    return prepared, created


def message_regenerate(
    *,
    user: Any,
    message_id: int,
    model: str | None = None,
    client_id: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    then: ThenInTransaction | None = None,
) -> PreparedReply:
    """A new assistant answer beside `message_id`, under the same user message. `then`, when
    given, runs last inside the transaction (see `message_send`)."""
    original = message_get_for_user(user=user, message_id=message_id)
    if original.role != MessageRole.ASSISTANT or original.parent_id is None:
        raise _validation_error("Only an assistant answer can be regenerated.")
    org = original.conversation.organization
    ai_model = aimodel_get_for_use(org=org, model_id=model or original.model)
    model_id = ai_model.model_id
    with transaction.atomic():
        conversation = conversation_get_for_update(
            user=user, conversation_id=original.conversation_id
        )
        parent = Message.objects.get(pk=original.parent_id)
        conversation.model = model_id
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["model", "updated_at"])
        return _answer_start(
            org=org,
            conversation=conversation,
            parent=parent,
            path=branch_path_to_root(message=parent),
            ai_model=ai_model,
            client_id=client_id,
            max_tokens=max_tokens,
            temperature=temperature,
            then=then,
        )


def message_progress_save(*, message_id: int, content: str) -> None:
    """Persist partial content while streaming (a missing row, i.e. a deleted conversation, is
    ignored). No frame: clients get the text from `message.delta`."""
    Message.objects.filter(pk=message_id).update(
        content=content, status=MessageStatus.STREAMING, updated_at=timezone.now()
    )


@dataclass(frozen=True)
class MessageOutcome:
    status: str  # complete | stopped | failed
    content: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: Decimal | None = None
    error_code: str = ""
    error_message: str = ""
    error_detail: dict[str, Any] | None = None


def message_finish(*, message_id: int, outcome: MessageOutcome) -> Message | None:
    """Store the final state of an assistant message and announce it after commit
    (`message.completed` for complete/stopped, `message.failed` for failed).

    Returns None when the message no longer exists (its conversation was deleted mid-stream).
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return None
        message.status = outcome.status
        message.content = outcome.content
        message.input_tokens = outcome.input_tokens
        message.output_tokens = outcome.output_tokens
        message.cached_input_tokens = outcome.cached_input_tokens
        message.reasoning_tokens = outcome.reasoning_tokens
        message.cost_usd = outcome.cost_usd
        message.error_code = outcome.error_code
        message.error_message = outcome.error_message[:2000]
        message.error_detail = outcome.error_detail or None
        message.save(
            update_fields=[
                "status",
                "content",
                "input_tokens",
                "output_tokens",
                "cached_input_tokens",
                "reasoning_tokens",
                "cost_usd",
                "error_code",
                "error_message",
                "error_detail",
                "updated_at",
            ]
        )
        user_id = Conversation.objects.values_list("user_id", flat=True).get(
            pk=message.conversation_id
        )
        sender = (
            events.message_failed_send
            if outcome.status == MessageStatus.FAILED
            else events.message_completed_send
        )
        transaction.on_commit(partial(sender, user_id=user_id, message=message_payload(message)))
    return message


def title_prompt_for(*, message_id: int) -> tuple[int, int, str, list[PromptTurn]] | None:
    """(user_id, conversation_id, title model id, prompt) when the conversation of this just
    completed answer should get a generated title, else None.

    Only the first answer of an untitled conversation qualifies, and only when the org names an
    enabled `title_model`.
    """
    message = Message.objects.select_related("conversation__organization").filter(pk=message_id)
    answer = message.first()
    if answer is None or answer.status != MessageStatus.COMPLETE or answer.parent_id is None:
        return None
    conversation = answer.conversation
    org = conversation.organization
    if conversation.title or not org.title_model:
        return None
    if (
        Message.objects.filter(
            conversation=conversation, role=MessageRole.ASSISTANT, status=MessageStatus.COMPLETE
        )
        .exclude(pk=answer.pk)
        .exists()
    ):
        return None
    try:
        title_model = _model_check(org=org, model_id=org.title_model)
    except ApplicationError:
        return None
    question = Message.objects.get(pk=answer.parent_id).content
    text = f"User: {question[:2000]}\n\nAssistant: {answer.content[:2000]}"
    return conversation.user_id, conversation.pk, title_model, [PromptTurn("user", text)]


def conversation_for_user(*, user: Any, conversation_id: int) -> Conversation:
    """Resolve access for a subscription (a thin alias so consumers call one service)."""
    return conversation_get_for_user(user=user, conversation_id=conversation_id)


def message_for_user(*, user: Any, message_id: int) -> Message:
    """Resolve access to a message (for `generation.stop`)."""
    return message_get_for_user(user=user, message_id=message_id)


def chat_rate_check(*, user_id: int) -> None:
    """Count one chat request against the user's per-minute limit (setting
    CHAT_MESSAGES_PER_MINUTE, default 30); `rate_limited` (429) past it. A fixed one-minute
    window in the cache, so it holds across processes when the cache is Redis."""
    limit = int(settings.CHAT_MESSAGES_PER_MINUTE)
    window = int(time.time() // 60)
    key = f"chat-rate:{user_id}:{window}"
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip (this is on the way to every answer's first token): create the window's
        # counter if missing and count, pipelined. Django's add() and incr() take three.
        redis_key = backend.make_and_validate_key(key)
        client: Any = backend._cache.get_client(redis_key, write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=False)
        pipe.set(redis_key, 0, ex=120, nx=True)
        pipe.incr(redis_key)
        count = int(pipe.execute()[1])
    else:
        cache.add(key, 0, timeout=120)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=120)
            count = 1
    if count > limit:
        raise ApplicationError(
            f"More than {limit} messages a minute; wait a moment.",
            code="rate_limited",
            status=429,
            detail={"retry_after_seconds": 60 - int(time.time()) % 60},
        )
