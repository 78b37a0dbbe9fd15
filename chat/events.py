"""Outbound real-time frames: one TypedDict per frame and one `*_send()` per frame.

Each `*_send()` chooses the audience (STYLE rule 5). Conversations are private to their owner, so:
- conversation and message lifecycle frames (`conversation.created/updated`, `message.created`,
  `message.completed`, `message.failed`) and `budget.updated` go to `user.<id>`: every open tab of
  the owner learns about them, whatever conversation it shows;
- the high-volume `message.delta` frames go to the owner's `user.<id>` group too (every socket is
  in it from connect on, so the first token never waits for a new subscription); without an owner
  they go to `conversation.<id>`, which a socket joins with `conversation.subscribe`.
The channel-layer message *is* the frame: its `type` maps to the consumer method that forwards it.
Every frame goes out through `core.realtime`: lifecycle frames reliably (they wait for room in
a busy socket's queue rather than drop), deltas lossy (the next delta or the ending repairs a
lost one). The stored message is the truth and clients refetch on reconnect (STYLE rule 8).

Services call the sync senders through `transaction.on_commit`, never before the commit.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from billing.notices import BudgetUpdatedEvent, BudgetWarningEvent
from chat.serializers import ConversationPayload, MessagePayload
from core import realtime
from core.realtime import conversation_group, user_group


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
    | BudgetWarningEvent
    | ErrorEvent
)


def group_name(kind: Literal["user", "conversation"], object_id: int) -> str:
    """The one place group names are built: `user.<id>`, `conversation.<id>` (core.realtime)."""
    return user_group(object_id) if kind == "user" else conversation_group(object_id)


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
    realtime.send_to_user(user_id, event)


def conversation_updated_send(*, user_id: int, conversation: ConversationPayload) -> None:
    event: ConversationUpdatedEvent = {"type": "conversation.updated", "conversation": conversation}
    realtime.send_to_user(user_id, event)


def conversation_deleted_send(*, user_id: int, conversation_id: int) -> None:
    event: ConversationDeletedEvent = {
        "type": "conversation.deleted",
        "conversation_id": conversation_id,
    }
    realtime.send_to_user(user_id, event)


def message_created_send(
    *, user_id: int, message: MessagePayload, client_id: str | None = None
) -> None:
    event: MessageCreatedEvent = {"type": "message.created", "message": message}
    _with_client_id(event, client_id)
    realtime.send_to_user(user_id, event)


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
        await realtime.handed_sends_done(None)
        await realtime.asend_to_group(conversation_group(conversation_id), event, lossy=True)
        return
    # Conversations are private to their owner, and every socket of the owner is in the owner's
    # group from connect on: deltas go there, so the first token never waits for a new group
    # subscription (with the Redis pub/sub layer, a fresh SUBSCRIBE cost 10-35 ms on the path).
    await realtime.asend_to_user(user_id, event, lossy=True)


def message_completed_send(*, user_id: int, message: MessagePayload) -> None:
    event: MessageCompletedEvent = {"type": "message.completed", "message": message}
    realtime.send_to_user(user_id, event)


def message_failed_send(*, user_id: int, message: MessagePayload) -> None:
    event: MessageFailedEvent = {"type": "message.failed", "message": message}
    realtime.send_to_user(user_id, event)


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
