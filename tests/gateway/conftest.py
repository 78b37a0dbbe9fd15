"""A live Potluck (Daphne, the real ASGI app, a fresh database) for the /v1 API tests, set up
through its own REST API: Alice's org with OpenAI, Anthropic and Gemini models on the fake
upstream, Bob invited as a member, and Charlie's org beside it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.db import connections

from gateway.token_services import api_cache
from server.asgi import application
from tests.e2e.live import LiveApp, live_app
from tests.fake_upstream.plugin import FakeUpstream
from tests.fake_upstream.server import FakeUpstreamServer

PASSWORD = "correct horse battery staple"
PRICES = {"input_usd_per_mtok": "1", "output_usd_per_mtok": "2", "cached_input_usd_per_mtok": "0.5"}
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
}


def session_client(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    refresh_csrf(client)
    return client


def refresh_csrf(client: httpx.Client) -> None:
    """Logging in rotates the CSRF token: read it again, as the SPA does."""
    client.get("/api/auth/csrf/").raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]


@dataclass
class Live:
    app: LiveApp
    fake: FakeUpstream
    alice: httpx.Client
    bob: httpx.Client
    charlie: httpx.Client
    bob_id: int = 0
    tokens: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.app.url

    def token(self, client: httpx.Client, **fields: Any) -> dict[str, Any]:
        r = client.post("/api/tokens/", json={"name": f"t-{uuid.uuid4().hex[:6]}", **fields})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def records(self) -> list[dict[str, Any]]:
        r = self.alice.get("/api/usage/records/", params={"page_size": 500})
        assert r.status_code == 200, r.text
        return list(r.json()["results"])


def _setup(app: LiveApp, fake: FakeUpstream) -> Live:
    alice = session_client(app.url)
    r = alice.post(
        "/api/setup/",
        json={
            "org_name": "Acme",
            "name": "Alice",
            "email": "alice@acme.test",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    refresh_csrf(alice)
    for provider, name in MODELS.items():
        r = alice.post(
            "/api/provider-keys/",
            json={
                "provider": provider,
                "label": provider,
                "api_key": f"sk-fake-{provider}-0000",
                "base_url": fake.base_url(provider),
            },
        )
        assert r.status_code == 201, r.text
        r = alice.post(
            "/api/models/", json={"provider_key": r.json()["id"], "name": name, **PRICES}
        )
        assert r.status_code == 201, r.text
    r = alice.post("/api/invitations/", json={"email": "bob@acme.test", "role": "member"})
    assert r.status_code == 201, r.text
    bob = session_client(app.url)
    r = bob.post(
        "/api/invitations/accept/",
        json={"token": r.json()["token"], "name": "Bob", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    bob_id = int(r.json()["id"])
    refresh_csrf(bob)
    app.manage(
        "create_org",
        "--name",
        "Globex",
        "--owner-email",
        "charlie@globex.test",
        "--owner-password",
        PASSWORD,
    )
    charlie = session_client(app.url)
    r = charlie.post(
        "/api/auth/login/", json={"email": "charlie@globex.test", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    refresh_csrf(charlie)
    return Live(app=app, fake=fake, alice=alice, bob=bob, charlie=charlie, bob_id=bob_id)


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream_server: FakeUpstreamServer
) -> Iterator[Live]:
    fake = FakeUpstream(fake_upstream_server, f"api-{uuid.uuid4().hex[:8]}")
    tmp: Path = tmp_path_factory.mktemp("live-api")
    with live_app(tmp, with_celery=False) as app:
        state = _setup(app, fake)
        yield state
        for client in (state.alice, state.bob, state.charlie):
            client.close()


@pytest_asyncio.fixture
async def v1_client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the /v1 API served in process by the real ASGI application."""
    api_cache.clear()
    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    api_cache.clear()
    # Close the ORM worker thread's connection, so Postgres can drop the test database.
    await database_sync_to_async(connections.close_all)()
