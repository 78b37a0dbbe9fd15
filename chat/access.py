"""The access chokepoint for conversations and messages (STYLE rule 3).

REST views, the WebSocket consumer and tasks resolve every user-facing conversation or message
through these functions. Conversations are private to their owner in this version: anything that
is not the caller's own, in the caller's organisation, answers 404 (existence does not leak).
"""

from __future__ import annotations

from typing import Any

from accounts.access import membership_get
from chat.models import Conversation, Message
from core.exceptions import NotFoundError


def _conversation_check(*, user: Any, conversation: Conversation | None) -> Conversation:
    membership = membership_get(user=user)
    if conversation is None:
        raise NotFoundError("Conversation not found.")
    if conversation.organization_id != membership.organization_id:
        raise NotFoundError("Conversation not found.")
    if conversation.user_id != user.pk:
        raise NotFoundError("Conversation not found.")
    return conversation


def conversation_get_for_user(*, user: Any, conversation_id: int) -> Conversation:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    return _conversation_check(user=user, conversation=conversation)


def conversation_get_for_update(*, user: Any, conversation_id: int) -> Conversation:
    """Like `conversation_get_for_user`, with the row locked: call inside `transaction.atomic`."""
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    return _conversation_check(user=user, conversation=conversation)


def message_get_for_user(*, user: Any, message_id: int) -> Message:
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise NotFoundError("Message not found.")
    try:
        _conversation_check(user=user, conversation=message.conversation)
    except NotFoundError as exc:
        raise NotFoundError("Message not found.") from exc
    return message
