"""The dispatcher: picks the wire adapter for a provider, and retries before the first token.

The adapters import `base` and `transport`, never this module, so the import graph has no circle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from providers.wire import anthropic_messages, gemini, openai_chat
from providers.wire.base import ChatRequest, ProviderConfig, ProviderError, ProviderEvent
from providers.wire.transport import retry_delay

logger = logging.getLogger("providers.wire")


# --- the entry points ---------------------------------------------------------------------------


async def stream_chat(config: ProviderConfig, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
    """Stream one chat completion: TextDelta*, then UsageReport? and Finish.

    Retries (429 worth retrying, 5xx, 529, connection errors) happen only before anything was
    yielded: once output began, an error is raised with `partial=True` and never retried.
    """
    attempt = 0
    while True:
        yielded = False
        try:
            async for event in _protocol_stream(config, request):
                yielded = True
                yield event
            return
        except ProviderError as exc:
            delay = retry_delay(exc, attempt) if not yielded else None
            if delay is None:
                raise
            logger.warning(
                "provider %s: %s (status %s), retrying in %.2fs (attempt %d)",
                config.provider,
                exc.code,
                exc.status,
                delay,
                attempt + 1,
            )
        await asyncio.sleep(delay)
        attempt += 1


def _protocol_stream(config: ProviderConfig, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
    if config.provider in ("openai", "mistral", "openai_compatible"):
        return openai_chat.stream(config, request)
    if config.provider == "anthropic":
        return anthropic_messages.stream(config, request)
    if config.provider == "gemini":
        return gemini.stream(config, request)
    raise ProviderError("provider_error", f"Unknown provider {config.provider!r}.")


async def list_models(config: ProviderConfig) -> list[str]:
    """The model names the key can use, as the provider lists them."""
    if config.provider in ("openai", "mistral", "openai_compatible"):
        return await openai_chat.list_models(config)
    if config.provider == "anthropic":
        return await anthropic_messages.list_models(config)
    if config.provider == "gemini":
        return await gemini.list_models(config)
    raise ProviderError("provider_error", f"Unknown provider {config.provider!r}.")
