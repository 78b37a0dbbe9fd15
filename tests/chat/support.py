"""Shared setup for the conversation, engine and consumer tests: models, conversations, sockets."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from django.test import Client

from accounts.models import Organization, User
from chat.models import Conversation, Message
from chat.registry import registry
from providers.models import AIModel, ProviderKey
from providers.wire.base import close_session
from tests.factories import PASSWORD

UPSTREAM_NAMES = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "mistral": "mistral-small-latest",
    "openai_compatible": "llama3.2:latest",
}


def make_model(
    *,
    org: Organization,
    provider: str = "openai",
    base_url: str = "http://127.0.0.1:9/v1",
    model_id: str | None = None,
    enabled: bool = True,
    input_price: str = "1",
    output_price: str = "2",
) -> AIModel:
    key = ProviderKey.objects.create(
        organization=org,
        provider=provider,
        label=f"{provider} key",
        base_url=base_url,
        api_key="sk-test-secret-1234",
        key_last4="1234",
    )
    name = UPSTREAM_NAMES[provider]
    return AIModel.objects.create(
        organization=org,
        provider_key=key,
        model_id=model_id or name,
        name=name,
        input_usd_per_mtok=Decimal(input_price),
        output_usd_per_mtok=Decimal(output_price),
        enabled=enabled,
    )


def make_conversation(*, user: User, title: str = "", **extra: Any) -> Conversation:
    org = user.membership.organization
    return Conversation.objects.create(organization=org, user=user, title=title, **extra)


def make_message(
    *,
    conversation: Conversation,
    role: str = "user",
    content: str = "hello",
    parent: Message | None = None,
    **extra: Any,
) -> Message:
    return Message.objects.create(
        conversation=conversation, role=role, content=content, parent=parent, **extra
    )


def session_headers(user: User, *, origin: str = "http://testserver") -> list[tuple[bytes, bytes]]:
    """Headers of a browser socket: a real session cookie from a real login, and an Origin."""
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    session_id = client.cookies["sessionid"].value
    return [
        (b"cookie", f"sessionid={session_id}".encode()),
        (b"origin", origin.encode()),
        (b"host", b"testserver"),  # a browser always sends it; the Origin must match it
    ]


async def drain() -> None:
    """Let every generation (and title) of this loop finish before the database is flushed."""
    for _ in range(3):
        running = registry.running()
        if not running:
            break
        await asyncio.wait({e.task for e in running}, timeout=10)
    await close_session()
