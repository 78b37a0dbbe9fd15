"""Outbound real-time frames: one TypedDict per frame and one `*_send()` per frame.

Each `*_send()` chooses the audience (STYLE rule 5). Conversations are private to their owner, so:
- conversation and message lifecycle frames (`conversation.created/updated`, `message.created`,
  `message.completed`, `message.failed`) and `budget.updated` go to `user.<id>`: every open tab of
  the owner learns about them, whatever conversation it shows;
- the high-volume `message.delta` frames go only to `conversation.<id>`, which a socket joins by
  sending to the conversation or with `conversation.subscribe`.
The channel-layer message *is* the frame: its `type` maps to the consumer method that forwards it.
Group sends are at-most-once (they drop silently when a socket is slow or gone); the stored
message is the truth and clients refetch on reconnect (STYLE rule 8).

Services call the sync senders through `transaction.on_commit`, never before the commit.
"""

from __future__ import annotations

import asyncio
import logging
import os
from functools import partial
from typing import Literal, NotRequired, TypedDict

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

from chat.serializers import ConversationPayload, MessagePayload

logger = logging.getLogger(__name__)


class ConversationCreatedEvent(TypedDict):
    type: Literal["conversation.created"]
    conversation: ConversationPayload
    client_id: NotRequired[str]


class ConversationUpdatedEvent(TypedDict):
    """An extension of the contract: the conversation's fields changed (e.g. a generated title)."""

    type: Literal["conversation.updated"]
    conversation: ConversationPayload


class ConversationDeletedEvent(TypedDict):
    """An extension of the contract: the conversation is gone."""

    type: Literal["conversation.deleted"]
    conversation_id: int


class MessageCreatedEvent(TypedDict):
    type: Literal["message.created"]
    message: MessagePayload
    client_id: NotRequired[str]


class MessageDeltaEvent(TypedDict):
    type: Literal["message.delta"]
    message_id: int
    seq: int
    text: str


class MessageCompletedEvent(TypedDict):
    type: Literal["message.completed"]
    message: MessagePayload


class MessageFailedEvent(TypedDict):
    type: Literal["message.failed"]
    message: MessagePayload


class BudgetUpdatedEvent(TypedDict):
    type: Literal["budget.updated"]
    spent_usd: str
    limit_usd: str | None
    remaining_usd: str | None
    period_end: str


class ErrorEvent(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    detail: NotRequired[dict[str, object]]
    client_id: NotRequired[str]


ChatEvent = (
    ConversationCreatedEvent
    | ConversationUpdatedEvent
    | ConversationDeletedEvent
    | MessageCreatedEvent
    | MessageDeltaEvent
    | MessageCompletedEvent
    | MessageFailedEvent
    | BudgetUpdatedEvent
    | ErrorEvent
)


def group_name(kind: Literal["user", "conversation"], object_id: int) -> str:
    """The one place group names are built: `user.<id>`, `conversation.<id>`."""
    return f"{kind}.{object_id}"


async def _group_send_async(group: str, event: ChatEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, dict(event))
    except Exception:
        # Delivery is best-effort by contract; a full or unreachable layer must not fail a
        # generation or a request whose state is already stored.
        logger.warning("Dropping %s frame for %s", event["type"], group, exc_info=True)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop of the ASGI server when this thread is one of its sync workers
    (`sync_to_async` records it, as `async_to_sync` uses it); None anywhere else (Celery, shell,
    sync tests)."""
    loop: asyncio.AbstractEventLoop | None = getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


def _group_send(group: str, event: ChatEvent) -> None:
    """Send from sync code. In a worker thread of the ASGI server the send is handed to the
    server's loop without waiting for it: the ORM thread (shared by the whole process) then does
    not wait for Redis after every commit. Order is kept: sends start in the order they are
    handed over, and the channel layer publishes in that order."""
    loop = _server_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_spawn_send, group, event)
        except RuntimeError:  # the loop closed meanwhile
            logger.warning("Dropping %s frame for %s", event["type"], group)
        return
    async_to_sync(_group_send_async)(group, event)


# The last send handed to each loop, per group: every send waits for the one before it to the
# same group, so a group's frames keep the order of their commits whatever the channel layer does
# with concurrent sends. Groups do not wait for each other: under load, one long chain would
# hold up every socket's deltas behind every other member's lifecycle frames.
_tails: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[None]] = {}


def _spawn_send(group: str, event: ChatEvent) -> None:
    loop = asyncio.get_running_loop()
    key = (loop, group)
    task = loop.create_task(_send_after(_tails.get(key), group, event))
    _tails[key] = task
    task.add_done_callback(partial(_forget_tail, key))


async def _send_after(previous: asyncio.Task[None] | None, group: str, event: ChatEvent) -> None:
    if previous is not None and not previous.done():
        await asyncio.wait({previous})
    await _group_send_async(group, event)


def _forget_tail(key: tuple[asyncio.AbstractEventLoop, str], task: asyncio.Task[None]) -> None:
    if _tails.get(key) is task:
        del _tails[key]


async def _after_handed_sends(group: str | None = None) -> None:
    """Wait until the sends handed over from sync code so far went out: to `group`, or to every
    group when None (so a delta never overtakes the `message.created` of its message)."""
    loop = asyncio.get_running_loop()
    if group is not None:
        tail = _tails.get((loop, group))
        tails = {tail} if tail is not None and not tail.done() else set()
    else:
        tails = {t for (owner, _), t in _tails.items() if owner is loop and not t.done()}
    if tails:
        await asyncio.wait(tails)


def _with_client_id(
    event: ConversationCreatedEvent | MessageCreatedEvent, client_id: str | None
) -> None:
    if client_id is not None:
        event["client_id"] = client_id


def conversation_created_send(
    *, user_id: int, conversation: ConversationPayload, client_id: str | None = None
) -> None:
    event: ConversationCreatedEvent = {"type": "conversation.created", "conversation": conversation}
    _with_client_id(event, client_id)
    _group_send(group_name("user", user_id), event)


def conversation_updated_send(*, user_id: int, conversation: ConversationPayload) -> None:
    event: ConversationUpdatedEvent = {"type": "conversation.updated", "conversation": conversation}
    _group_send(group_name("user", user_id), event)


def conversation_deleted_send(*, user_id: int, conversation_id: int) -> None:
    event: ConversationDeletedEvent = {
        "type": "conversation.deleted",
        "conversation_id": conversation_id,
    }
    _group_send(group_name("user", user_id), event)


def message_created_send(
    *, user_id: int, message: MessagePayload, client_id: str | None = None
) -> None:
    event: MessageCreatedEvent = {"type": "message.created", "message": message}
    _with_client_id(event, client_id)
    _group_send(group_name("user", user_id), event)


async def message_delta_send(
    *, conversation_id: int, message_id: int, seq: int, text: str, user_id: int | None = None
) -> None:
    """Async: deltas are sent from the generation engine's event loop and touch no database.

    `user_id` (the conversation's owner, whose group carries the message's `message.created`):
    wait only for the frames handed over to that group; without it, for every group's."""
    event: MessageDeltaEvent = {
        "type": "message.delta",
        "message_id": message_id,
        "seq": seq,
        "text": text,
    }
    if user_id is None:
        await _after_handed_sends(None)
        await _group_send_async(group_name("conversation", conversation_id), event)
        return
    # Conversations are private to their owner, and every socket of the owner is in the owner's
    # group from connect on: deltas go there, so the first token never waits for a new group
    # subscription (with the Redis pub/sub layer, a fresh SUBSCRIBE cost 10-35 ms on the path).
    group = group_name("user", user_id)
    await _after_handed_sends(group)
    await _group_send_async(group, event)


def message_completed_send(*, user_id: int, message: MessagePayload) -> None:
    event: MessageCompletedEvent = {"type": "message.completed", "message": message}
    _group_send(group_name("user", user_id), event)


def message_failed_send(*, user_id: int, message: MessagePayload) -> None:
    event: MessageFailedEvent = {"type": "message.failed", "message": message}
    _group_send(group_name("user", user_id), event)


def budget_updated_send(
    *,
    user_id: int,
    spent_usd: str,
    limit_usd: str | None,
    remaining_usd: str | None,
    period_end: str,
) -> None:
    event: BudgetUpdatedEvent = {
        "type": "budget.updated",
        "spent_usd": spent_usd,
        "limit_usd": limit_usd,
        "remaining_usd": remaining_usd,
        "period_end": period_end,
    }
    _group_send(group_name("user", user_id), event)


def error_frame(
    *,
    code: str,
    message: str,
    client_id: str | None = None,
    detail: dict[str, object] | None = None,
) -> ErrorEvent:
    """The `error` frame a consumer sends straight back to the socket that sent a bad frame."""
    event: ErrorEvent = {"type": "error", "code": code, "message": message}
    if detail:
        event["detail"] = detail
    if client_id is not None:
        event["client_id"] = client_id
    return event
