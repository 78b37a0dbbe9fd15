"""Reads of conversations and message trees."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Organization
from chat.models import Conversation, Message


def conversation_list_for_user(
    *, user: Any, q: str | None = None, archived: bool | None = None
) -> QuerySet[Conversation]:
    """The caller's conversations, newest activity first; `q` matches titles and message content."""
    qs = Conversation.objects.filter(user_id=user.pk, organization__memberships__user_id=user.pk)
    if archived is not None:
        qs = qs.filter(archived=archived)
    if q:
        # Exists() instead of a join keeps one row per conversation however many messages match.
        matching = Message.objects.filter(conversation_id=OuterRef("pk"), content__icontains=q)
        qs = qs.filter(Q(title__icontains=q) | Exists(matching))
    return qs.order_by("-updated_at", "-id")


def message_list(*, conversation: Conversation) -> list[Message]:
    """Every message of the conversation (the whole tree), oldest first."""
    return list(
        Message.objects.filter(conversation_id=conversation.pk).order_by("created_at", "id")
    )


def message_latest(*, conversation: Conversation) -> Message | None:
    """The conversation's newest message. A child is always created after its parent, so the newest
    message is a leaf: the tip of the branch the user last worked on."""
    return (
        Message.objects.filter(conversation_id=conversation.pk)
        .order_by("-created_at", "-id")
        .first()
    )


def branch_path_to_root(*, message: Message) -> list[Message]:
    """The path root → `message` (inclusive), loaded with one query whatever the depth."""
    by_id = {m.pk: m for m in Message.objects.filter(conversation_id=message.conversation_id)}
    path: list[Message] = []
    current: Message | None = by_id.get(message.pk, message)
    seen: set[int] = set()
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id is not None else None
    path.reverse()
    return path


def active_branch(*, conversation: Conversation) -> list[Message]:
    """The branch ending at the newest message: what the user sees in the conversation view."""
    latest = message_latest(conversation=conversation)
    return [] if latest is None else branch_path_to_root(message=latest)


def title_model_validate(org: Organization, data: dict[str, Any]) -> None:
    """An organisation's `title_model` must name one of its enabled models (or be null).
    Registered as an `accounts.extensions.org_validators` entry."""
    if not data.get("title_model"):
        return
    from providers.models import AIModel

    if not AIModel.objects.filter(
        organization=org, model_id=data["title_model"], enabled=True
    ).exists():
        raise ValidationError({"title_model": ["Not an enabled model of this organisation."]})
