"""Small helpers shared by the provider tests."""

from __future__ import annotations

from dataclasses import dataclass, field

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

API_KEY = "sk-test-SECRET-0123456789abcdef"


def request(**overrides: object) -> ChatRequest:
    fields: dict[str, object] = {
        "model": "test-model",
        "messages": [ChatMessage(role="user", content="Count from 1 to 3")],
        "max_tokens": 256,
    }
    fields.update(overrides)
    return ChatRequest(**fields)  # type: ignore[arg-type]


def config(fake: object, provider: str, api_key: str = API_KEY) -> ProviderConfig:
    return ProviderConfig(provider=provider, api_key=api_key, base_url=fake.base_url(provider))  # type: ignore[attr-defined]


@dataclass
class Outcome:
    text: str = ""
    deltas: int = 0
    usage: list[UsageReport] = field(default_factory=list)
    finish: Finish | None = None
    error: ProviderError | None = None
    order: list[str] = field(default_factory=list)


async def collect(cfg: ProviderConfig, req: ChatRequest | None = None) -> Outcome:
    outcome = Outcome()
    try:
        async for event in stream_chat(cfg, req or request()):
            outcome.order.append(type(event).__name__)
            if isinstance(event, TextDelta):
                outcome.text += event.text
                outcome.deltas += 1
            elif isinstance(event, UsageReport):
                outcome.usage.append(event)
            else:
                outcome.finish = event
    except ProviderError as exc:
        outcome.error = exc
    return outcome
