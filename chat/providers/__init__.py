"""Async adapters for the LLM providers' streaming chat APIs (one module per wire protocol)."""

from __future__ import annotations

from chat.providers.base import (
    DEFAULT_BASE_URLS,
    ChatMessage,
    ChatRequest,
    Finish,
    ProviderConfig,
    ProviderError,
    ProviderEvent,
    TextDelta,
    UsageReport,
    close_session,
    list_models,
    stream_chat,
)

__all__ = [
    "DEFAULT_BASE_URLS",
    "ChatMessage",
    "ChatRequest",
    "Finish",
    "ProviderConfig",
    "ProviderError",
    "ProviderEvent",
    "TextDelta",
    "UsageReport",
    "close_session",
    "list_models",
    "stream_chat",
]
