"""Issue 13, item 3, against a live Daphne: a socket opened earlier does not outlive the member's
session, activity or role. Logout closes that session's sockets, deactivation and role changes
close all of the user's, and a money-costing frame re-checks the member in the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx2 as httpx
import pytest

from tests.e2e.live import LiveApp, live_app
from tests.fake_upstream.plugin import FakeUpstream
from tests.fake_upstream.server import FakeUpstreamServer

PASSWORD = "correct horse battery staple"


def client(app: LiveApp) -> httpx.Client:
    c = httpx.Client(base_url=app.url, timeout=30)
    c.get("/api/auth/csrf/").raise_for_status()
    c.headers["X-CSRFToken"] = c.cookies["csrftoken"]
    return c


def log_in(app: LiveApp, email: str) -> httpx.Client:
    c = client(app)
    r = c.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.get("/api/auth/csrf/")
    c.headers["X-CSRFToken"] = c.cookies["csrftoken"]
    return c


class Live:
    def __init__(self, app: LiveApp, fake: FakeUpstream) -> None:
        self.app = app
        self.fake = fake
        self.alice = client(app)
        r = self.alice.post(
            "/api/setup/",
            json={
                "org_name": "Acme",
                "name": "Alice",
                "email": "a@acme.test",
                "password": PASSWORD,
            },
        )
        assert r.status_code == 201, r.text
        self.alice.get("/api/auth/csrf/")
        self.alice.headers["X-CSRFToken"] = self.alice.cookies["csrftoken"]
        r = self.alice.post(
            "/api/provider-keys/",
            json={
                "provider": "openai",
                "label": "k",
                "api_key": "sk-live-0000",
                "base_url": fake.base_url("openai"),
            },
        )
        assert r.status_code == 201, r.text
        r = self.alice.post(
            "/api/models/",
            json={
                "provider_key": r.json()["id"],
                "name": "gpt-4o-mini",
                "input_usd_per_mtok": "1",
                "output_usd_per_mtok": "2",
            },
        )
        assert r.status_code == 201, r.text

    def member(self, email: str) -> tuple[int, httpx.Client]:
        r = self.alice.post("/api/invitations/", json={"email": email, "role": "member"})
        assert r.status_code == 201, r.text
        c = client(self.app)
        r = c.post(
            "/api/invitations/accept/",
            json={"token": r.json()["token"], "name": email, "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        c.get("/api/auth/csrf/")
        c.headers["X-CSRFToken"] = c.cookies["csrftoken"]
        return int(r.json()["id"]), c


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream_server: FakeUpstreamServer
) -> Iterator[Live]:
    fake = FakeUpstream(fake_upstream_server, f"revoke-{uuid.uuid4().hex[:8]}")
    tmp: Path = tmp_path_factory.mktemp("live-revoke")
    with live_app(tmp, with_celery=False) as app:
        yield Live(app, fake)


async def _closed_with(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> int | None:
    """The close code if the server closes the socket within `seconds`, else None."""
    try:
        while True:
            message = await ws.receive(timeout=seconds)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.close_code
    except TimeoutError:
        return None


async def _open(
    session: aiohttp.ClientSession, app: LiveApp, browser: httpx.Client
) -> aiohttp.ClientWebSocketResponse:
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    return await session.ws_connect(
        app.url.replace("http", "ws") + "/ws/chat/",
        headers={"Origin": app.url, "Cookie": cookie},
    )


def test_it_closes_the_sockets_of_a_logged_out_session_only(live: Live) -> None:
    _, first = live.member("logout@acme.test")
    second = log_in(live.app, "logout@acme.test")

    async def scenario() -> tuple[int | None, int | None]:
        async with aiohttp.ClientSession() as session:
            ws_first = await _open(session, live.app, first)
            ws_second = await _open(session, live.app, second)
            await asyncio.sleep(0.3)
            assert (await asyncio.to_thread(first.post, "/api/auth/logout/")).status_code == 204
            return await _closed_with(ws_first, 5), await _closed_with(ws_second, 1)

    assert asyncio.run(scenario()) == (4401, None)


def test_it_closes_every_socket_of_a_deactivated_member(live: Live) -> None:
    user_id, bob = live.member("deactivated@acme.test")

    async def scenario() -> int | None:
        async with aiohttp.ClientSession() as session:
            ws = await _open(session, live.app, bob)
            await asyncio.sleep(0.3)
            r = await asyncio.to_thread(
                live.alice.patch, f"/api/members/{user_id}/", json={"is_active": False}
            )
            assert r.status_code == 200, r.text
            return await _closed_with(ws, 5)

    assert asyncio.run(scenario()) == 4401


def test_it_rechecks_the_member_on_a_frame_that_costs_money(live: Live) -> None:
    _, carol = live.member("silent@acme.test")

    async def scenario() -> int | None:
        async with aiohttp.ClientSession() as session:
            ws = await _open(session, live.app, carol)
            # Deactivated behind the app's back: no event reaches the socket, only the database.
            await asyncio.to_thread(
                live.app.manage,
                "shell",
                "-c",
                "from accounts.models import User;"
                "User.objects.filter(email='silent@acme.test').update(is_active=False)",
            )
            await ws.send_json(
                {
                    "type": "message.send",
                    "conversation_id": None,
                    "model": "gpt-4o-mini",
                    "content": "Still here?",
                    "client_id": "c1",
                }
            )
            return await _closed_with(ws, 10)

    assert asyncio.run(scenario()) == 4401
    assert live.fake.requests == []  # nothing went to the provider, nothing was charged


def test_it_refuses_an_origin_on_another_port(live: Live) -> None:
    _, dave = live.member("origin@acme.test")
    cookie = "; ".join(f"{k}={v}" for k, v in dave.cookies.items())
    url = live.app.url.replace("http", "ws") + "/ws/chat/"

    async def scenario(origin: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(url, headers={"Origin": origin, "Cookie": cookie})
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
            await ws.close()
            return 101

    assert asyncio.run(scenario("http://127.0.0.1:9999")) == 403
    assert asyncio.run(scenario(live.app.url)) == 101
