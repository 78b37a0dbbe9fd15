"""/v1 in-process through the real ASGI application when Redis cannot be reached: the token
cache's version check fails closed with service_unavailable, before any provider call. (The
live-process version, with a Redis server killed mid-run, is tests/core/test_outages.py.)"""

from __future__ import annotations

import httpx2 as httpx
import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from gateway.token_services import token_create
from tests.chat.support import make_model
from tests.e2e.live import free_port
from tests.fake_upstream.plugin import FakeUpstream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_it_refuses_with_service_unavailable_when_redis_is_unreachable(
    v1_client: httpx.AsyncClient, bob: User, fake_upstream: FakeUpstream, settings
) -> None:
    await database_sync_to_async(make_model)(
        org=bob.membership.organization, base_url=fake_upstream.base_url("openai")
    )
    token = await database_sync_to_async(token_create)(user=bob, name="b")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # a port where nothing listens

    for stream in (False, True):
        r = await v1_client.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {token.secret}"},
            json={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": stream,
            },
        )
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert (error["type"], error["code"]) == ("service_unavailable", "service_unavailable")
        assert error["detail"] == {"service": "redis"}
        assert error["message"].startswith("Redis is unreachable")
    assert fake_upstream.requests == []
