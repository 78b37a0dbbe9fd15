"""/v1 authentication in-process through the real ASGI application: bad, revoked, expired and
other-org tokens can do nothing; revocation and rights changes reach the cache at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from accounts.models import Membership, User
from gateway.models import ApiToken
from gateway.token_services import _version_key, api_cache, token_create, token_revoke
from providers.models import AIModel
from tests.chat.support import make_model

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def models_of(v1_client: httpx.AsyncClient, secret: str) -> tuple[int, Any]:
    r = await v1_client.get("/v1/models", headers=auth(secret))
    return r.status_code, r.json()


async def test_it_refuses_missing_and_unknown_tokens(v1_client: httpx.AsyncClient) -> None:
    r = await v1_client.get("/v1/models")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "not_authenticated"
    status, body = await models_of(v1_client, "pl-not-a-real-token")
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


async def test_it_lists_only_the_callers_org_models(
    v1_client: httpx.AsyncClient, bob: User, charlie: User
) -> None:
    await database_sync_to_async(make_model)(org=bob.membership.organization)
    await database_sync_to_async(make_model)(
        org=charlie.membership.organization, provider="anthropic"
    )
    bobs = await database_sync_to_async(token_create)(user=bob, name="b")
    charlies = await database_sync_to_async(token_create)(user=charlie, name="c")
    assert (await models_of(v1_client, bobs.secret))[1]["data"][0]["id"] == "gpt-4o-mini"
    assert [m["id"] for m in (await models_of(v1_client, charlies.secret))[1]["data"]] == [
        "claude-haiku-4-5"
    ]
    # Charlie's token cannot reach Bob's org's model.
    r = await v1_client.post(
        "/v1/chat/completions",
        headers=auth(charlies.secret),
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_it_drops_a_revoked_token_at_once(v1_client: httpx.AsyncClient, bob: User) -> None:
    created = await database_sync_to_async(token_create)(user=bob, name="b")
    assert (await models_of(v1_client, created.secret))[0] == 200  # now cached
    await database_sync_to_async(token_revoke)(actor=bob, token=created.token)
    assert (await models_of(v1_client, created.secret))[0] == 401


async def test_it_refuses_an_expired_token(v1_client: httpx.AsyncClient, bob: User) -> None:
    created = await database_sync_to_async(token_create)(
        user=bob, name="b", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert (await models_of(v1_client, created.secret))[0] == 200
    await database_sync_to_async(ApiToken.objects.filter(pk=created.token.pk).update)(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    api_cache.clear()
    assert (await models_of(v1_client, created.secret))[0] == 401


async def test_it_drops_tokens_of_deactivated_or_removed_members(
    v1_client: httpx.AsyncClient, bob: User
) -> None:
    created = await database_sync_to_async(token_create)(user=bob, name="b")
    assert (await models_of(v1_client, created.secret))[0] == 200
    bob.is_active = False
    await database_sync_to_async(bob.save)(update_fields=["is_active"])
    assert (await models_of(v1_client, created.secret))[0] == 401
    bob.is_active = True
    await database_sync_to_async(bob.save)(update_fields=["is_active"])
    assert (await models_of(v1_client, created.secret))[0] == 200
    await database_sync_to_async(Membership.objects.filter(user=bob).delete)()
    assert (await models_of(v1_client, created.secret))[0] == 401


async def test_it_sees_a_disabled_model_at_once(v1_client: httpx.AsyncClient, bob: User) -> None:
    model = await database_sync_to_async(make_model)(org=bob.membership.organization)
    created = await database_sync_to_async(token_create)(user=bob, name="b")
    assert len((await models_of(v1_client, created.secret))[1]["data"]) == 1
    model.enabled = False
    await database_sync_to_async(model.save)(update_fields=["enabled"])
    assert (await models_of(v1_client, created.secret))[1]["data"] == []
    assert await database_sync_to_async(AIModel.objects.count)() == 1


@pytest.mark.skipif(not settings.REDIS_URL, reason="cross-process invalidation needs REDIS_URL")
async def test_it_obeys_a_revocation_made_in_another_process(
    v1_client: httpx.AsyncClient, bob: User
) -> None:
    import redis

    created = await database_sync_to_async(token_create)(user=bob, name="b")
    assert (await models_of(v1_client, created.secret))[0] == 200  # cached here
    # Another process revokes: it writes the row and bumps the shared version (no local clear).
    await database_sync_to_async(ApiToken.objects.filter(pk=created.token.pk).update)(
        revoked_at=timezone.now()
    )
    redis.Redis.from_url(str(settings.REDIS_URL)).incr(_version_key())
    assert (await models_of(v1_client, created.secret))[0] == 401


async def test_it_limits_calls_in_flight_per_token(
    v1_client: httpx.AsyncClient, bob: User, fake_upstream, settings
) -> None:
    settings.API_MAX_CONCURRENT_PER_TOKEN = 1
    await database_sync_to_async(make_model)(
        org=bob.membership.organization, base_url=fake_upstream.base_url("openai"), model_id="m"
    )
    created = await database_sync_to_async(token_create)(user=bob, name="b")
    fake_upstream.script(provider="openai", deltas=40, delay=0.05)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    first = asyncio.create_task(
        v1_client.post("/v1/chat/completions", json=body, headers=auth(created.secret))
    )
    await fake_upstream.wait_for_async(lambda f: len(f.requests) == 1)
    second = await v1_client.post("/v1/chat/completions", json=body, headers=auth(created.secret))
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "rate_limited"
    assert (await first).status_code == 200
    # The slot is free again once the first call is answered.
    fake_upstream.script(provider="openai", deltas=2)
    third = await v1_client.post("/v1/chat/completions", json=body, headers=auth(created.secret))
    assert third.status_code == 200


async def test_it_bounds_max_tokens_as_the_socket_does(
    v1_client: httpx.AsyncClient, bob: User
) -> None:
    # Issue 13, item 12: 10**30 answered 500 (decimal.InvalidOperation in the reservation).
    await database_sync_to_async(make_model)(org=bob.membership.organization, model_id="m")
    created = await database_sync_to_async(token_create)(user=bob, name="t")
    for name in ("max_tokens", "max_completion_tokens"):
        r = await v1_client.post(
            "/v1/chat/completions",
            headers=auth(created.secret),
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}], name: 10**30},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == name
