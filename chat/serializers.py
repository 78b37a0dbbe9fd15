"""Wire shapes of conversations and messages (CONTRACT "Conversations and messages"), and the DRF
input serializers shared by REST and the WebSocket frames."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict

from rest_framework import serializers

from chat.models import Conversation, Message
from core.dates import iso_utc
from core.serializers import StrictSerializer


class ConversationPayload(TypedDict):
    id: int
    title: str
    model: str
    system_prompt: str
    created_at: str
    updated_at: str
    archived: bool


class ErrorPayload(TypedDict):
    code: str
    message: str
    # Only when the failure has one (a budget_exceeded refusal: CONTRACT, budget refusal detail).
    detail: NotRequired[dict[str, Any]]


class UsagePayload(TypedDict):
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int


class MessagePayload(TypedDict):
    id: int
    conversation_id: int
    parent_id: int | None
    role: Literal["user", "assistant"]
    content: str
    model: str
    status: Literal["pending", "streaming", "complete", "stopped", "failed"]
    error: ErrorPayload | None
    usage: UsagePayload | None
    cost_usd: str
    created_at: str


def money_str(value: Decimal | None) -> str:
    """A Decimal as a plain decimal string ("0.000123400", never "1E-9")."""
    return format(value if value is not None else Decimal(0), "f")


def conversation_payload(conversation: Conversation) -> ConversationPayload:
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "model": conversation.model,
        "system_prompt": conversation.system_prompt,
        "created_at": iso_utc(conversation.created_at),
        "updated_at": iso_utc(conversation.updated_at),
        "archived": conversation.archived,
    }


def message_payload(message: Message) -> MessagePayload:
    usage: UsagePayload | None = None
    if message.input_tokens is not None or message.output_tokens is not None:
        usage = {
            "input_tokens": message.input_tokens or 0,
            "output_tokens": message.output_tokens or 0,
            "cached_input_tokens": message.cached_input_tokens or 0,
            "reasoning_tokens": message.reasoning_tokens or 0,
        }
    error: ErrorPayload | None = None
    if message.error_code:
        error = {"code": message.error_code, "message": message.error_message}
        if message.error_detail:
            error["detail"] = message.error_detail
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "parent_id": message.parent_id,
        "role": message.role,  # type: ignore[typeddict-item]
        "content": message.content,
        "model": message.model,
        "status": message.status,  # type: ignore[typeddict-item]
        "error": error,
        "usage": usage,
        "cost_usd": money_str(message.cost_usd),
        "created_at": iso_utc(message.created_at),
    }


# --- Input --------------------------------------------------------------------------------------


class ConversationCreateInput(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    model = serializers.CharField(max_length=200, required=False, allow_blank=True)
    system_prompt = serializers.CharField(
        max_length=100_000, required=False, allow_blank=True, trim_whitespace=False
    )


class ConversationUpdateInput(ConversationCreateInput):
    archived = serializers.BooleanField(required=False)


class ConversationListInput(serializers.Serializer[Any]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=500)
    archived = serializers.BooleanField(required=False, allow_null=True, default=None)


class ExportInput(serializers.Serializer[Any]):
    format = serializers.ChoiceField(choices=["markdown", "json"], default="markdown")


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer: "5" and 5.0 and true are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string (DRF would turn 5 into "5")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A number that must arrive as a finite JSON number: "1", true and NaN are refused (DRF
    would take float("1") and float(True), and NaN passes every min/max check)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class FrameBase(serializers.Serializer[Any]):
    type = serializers.CharField()
    client_id = StrictCharField(required=False, allow_blank=True, max_length=200)


class MessageSendFrame(FrameBase):
    conversation_id = StrictIntegerField(allow_null=True, min_value=1)
    # Presence matters: without the key the message follows the latest one; null = new root.
    parent_id = StrictIntegerField(required=False, allow_null=True, min_value=1)
    model = StrictCharField(max_length=200)
    # The org's own limit (max_message_chars) is checked by the service.
    content = StrictCharField(trim_whitespace=False, max_length=10_000_000)
    max_tokens = StrictIntegerField(required=False, min_value=1, max_value=1_000_000)
    temperature = StrictFloatField(required=False, min_value=0, max_value=2)

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Content may not be empty.")
        return value


class MessageRegenerateFrame(FrameBase):
    message_id = StrictIntegerField(min_value=1)
    model = StrictCharField(max_length=200, required=False)
    max_tokens = StrictIntegerField(required=False, min_value=1, max_value=1_000_000)
    temperature = StrictFloatField(required=False, min_value=0, max_value=2)


class GenerationStopFrame(FrameBase):
    message_id = StrictIntegerField(min_value=1)


class ConversationSubscribeFrame(FrameBase):
    conversation_id = StrictIntegerField(min_value=1)
