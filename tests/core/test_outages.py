"""Outages against real processes: a live Daphne (tests/e2e/live.py) on its own Redis server,
which the test kills, and on a Postgres reached through a TCP proxy, which the test cuts.

Whatever is down, Potluck fails closed with one contract code: `service_unavailable` (503) with
`detail.service` "redis" or "database", over /v1 (OpenAI's envelope), REST and the chat socket
(an `error` frame; the socket stays open). No provider call starts and nothing is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import aiohttp
import httpx2 as httpx
import pytest

from tests.e2e.live import LiveApp, free_port, live_app
from tests.fake_upstream.plugin import FakeUpstream
from tests.fake_upstream.server import FakeUpstreamServer
from tests.gateway.conftest import PASSWORD, PRICES, refresh_csrf, session_client

MODEL = "gpt-4o-mini"
IN_CI = os.environ.get("CI") == "true"


def _missing(what: str) -> None:
    """A service this test needs is not there: a failure in CI, a skip elsewhere."""
    if IN_CI:
        pytest.fail(f"CI must provide {what}")
    pytest.skip(f"{what} is not available")


# --- the services the test breaks ---------------------------------------------------------------


@dataclass
class PrivateRedis:
    process: subprocess.Popen[bytes]
    url: str

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, on a free port, with nothing persisted."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server on PATH")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.05)
        yield PrivateRedis(process=process, url=f"redis://127.0.0.1:{port}/0")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of a real server: `cut()` closes every connection
    through it and stops listening, so the app's next attempt is refused, as when the database
    host goes away."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._cut:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            sockets, self._sockets = self._sockets, set()
        self.listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _postgres_target() -> tuple[str, int]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        _missing("Postgres (DATABASE_URL=postgres://…)")
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 5432


# --- a live Potluck, set up through its API -----------------------------------------------------


@dataclass
class Site:
    app: LiveApp
    fake: FakeUpstream
    alice: httpx.Client
    secret: str

    def v1(self, **extra: Any) -> httpx.Response:
        return httpx.post(
            f"{self.app.url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {self.secret}"},
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **extra},
            timeout=30,
        )

    def socket_headers(self) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.alice.cookies.items())
        return {"Cookie": cookie, "Origin": self.app.url}

    @property
    def ws_url(self) -> str:
        return self.app.url.replace("http://", "ws://") + "/ws/chat/"


@contextlib.contextmanager
def live_site(tmp: Path, server: FakeUpstreamServer, **live_options: Any) -> Iterator[Site]:
    fake = FakeUpstream(server, f"outage-{uuid.uuid4().hex[:8]}")
    with live_app(tmp, with_celery=False, **live_options) as app:
        alice = session_client(app.url)
        try:
            r = alice.post(
                "/api/setup/",
                json={
                    "org_name": "Acme",
                    "name": "Alice",
                    "email": "a@acme.test",
                    "password": PASSWORD,
                },
            )
            assert r.status_code == 201, r.text
            refresh_csrf(alice)
            r = alice.post(
                "/api/provider-keys/",
                json={
                    "provider": "openai",
                    "label": "openai",
                    "api_key": "sk-fake-openai-0000",
                    "base_url": fake.base_url("openai"),
                },
            )
            assert r.status_code == 201, r.text
            r = alice.post(
                "/api/models/", json={"provider_key": r.json()["id"], "name": MODEL, **PRICES}
            )
            assert r.status_code == 201, r.text
            # No conversation titles: their provider calls would run on after the sends.
            r = alice.patch("/api/org/", json={"title_model": None})
            assert r.status_code == 200, r.text
            r = alice.post("/api/tokens/", json={"name": "script"})
            assert r.status_code == 201, r.text
            yield Site(app=app, fake=fake, alice=alice, secret=r.json()["token"])
        finally:
            alice.close()
            fake.reset()


async def _send(ws: aiohttp.ClientWebSocketResponse, site: Site, client_id: str) -> dict[str, Any]:
    """Send a message in a new conversation; the frame that ends it: `message.completed`,
    `message.failed` or `error`."""
    await ws.send_json(
        {
            "type": "message.send",
            "conversation_id": None,
            "model": MODEL,
            "content": "hello",
            "client_id": client_id,
        }
    )
    return await _until(ws, {"message.completed", "message.failed", "error"})


async def _until(ws: aiohttp.ClientWebSocketResponse, types: set[str]) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = await ws.receive_json(timeout=15)
        if frame["type"] in types:
            return frame


async def _socket_stays_open(ws: aiohttp.ClientWebSocketResponse) -> None:
    # A frame that needs neither Redis nor the database gets its answer on the same socket.
    await ws.send_json({"type": "no.such.frame", "client_id": "probe"})
    frame = await _until(ws, {"error"})
    assert (frame["code"], frame["client_id"]) == ("validation_error", "probe")
    assert not ws.closed


def _assert_v1_down(response: httpx.Response, service: str) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("service_unavailable", "service_unavailable")
    assert error["detail"] == {"service": service}
    assert error["message"].startswith(
        "Redis is unreachable" if service == "redis" else "The database is unreachable"
    )


# --- the tests ----------------------------------------------------------------------------------


def test_it_fails_closed_when_redis_goes_down(
    tmp_path: Path, fake_upstream_server: FakeUpstreamServer
) -> None:
    with (
        private_redis() as redis,
        live_site(tmp_path, fake_upstream_server, extra_env={"REDIS_URL": redis.url}) as site,
    ):

        async def scenario() -> None:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(site.ws_url, headers=site.socket_headers()) as ws,
            ):
                site.fake.script(provider="openai", text="Hello", deltas=2)
                assert site.v1().status_code == 200
                site.fake.script(provider="openai", text="Hello", deltas=2)
                assert (await _send(ws, site, "before"))["type"] == "message.completed"
                calls = len(site.fake.requests)
                conversations = site.alice.get("/api/conversations/").json()

                redis.kill()

                _assert_v1_down(await asyncio.to_thread(site.v1), "redis")
                _assert_v1_down(await asyncio.to_thread(site.v1, stream=True), "redis")
                frame = await _send(ws, site, "after")
                assert frame["type"] == "error", frame
                assert (frame["code"], frame["client_id"]) == ("service_unavailable", "after")
                assert frame["detail"] == {"service": "redis"}
                assert frame["message"].startswith("Redis is unreachable")
                await _socket_stays_open(ws)
                # REST: the login throttle counts in Redis.
                visitor = session_client(site.app.url)
                try:
                    r = visitor.post(
                        "/api/auth/login/", json={"email": "a@acme.test", "password": PASSWORD}
                    )
                finally:
                    visitor.close()
                assert r.status_code == 503, r.text
                assert (r.json()["code"], r.json()["detail"]) == (
                    "service_unavailable",
                    {"service": "redis"},
                )
                # Fail closed: no provider call started, and the refused send stored nothing.
                assert len(site.fake.requests) == calls
                assert site.alice.get("/api/conversations/").json() == conversations

        asyncio.run(scenario())


def test_it_fails_closed_when_the_database_goes_down(
    tmp_path: Path, fake_upstream_server: FakeUpstreamServer
) -> None:
    target = _postgres_target()
    proxy = CuttableProxy(target)
    direct: list[str] = []

    def via_proxy(url: str) -> str:
        direct.append(url)
        parsed = urlparse(url)
        netloc = parsed.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{proxy.port}"
        return urlunparse(
            parsed._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1 else host)
        )

    with (
        private_redis() as redis,
        live_site(
            tmp_path,
            fake_upstream_server,
            extra_env={"REDIS_URL": redis.url},
            database_url_via=via_proxy,
        ) as site,
    ):
        capped = site.alice.post("/api/tokens/", json={"name": "capped", "max_budget_usd": "5"})
        assert capped.status_code == 201, capped.text
        unused = site.alice.post("/api/tokens/", json={"name": "unused"})
        assert unused.status_code == 201, unused.text

        async def scenario() -> None:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(site.ws_url, headers=site.socket_headers()) as ws,
            ):
                plain = site.secret
                for secret in (plain, capped.json()["token"]):
                    site.secret = secret
                    site.fake.script(provider="openai", text="Hello", deltas=2)
                    assert site.v1().status_code == 200  # the token and the model now cached
                site.fake.script(provider="openai", text="Hello", deltas=2)
                assert (await _send(ws, site, "before"))["type"] == "message.completed"
                calls = len(site.fake.requests)
                stored = _message_count(direct[0])

                proxy.cut()

                frame = await _send(ws, site, "after")
                assert frame["type"] == "error", frame
                assert (frame["code"], frame["client_id"]) == ("service_unavailable", "after")
                assert frame["detail"] == {"service": "database"}
                assert frame["message"].startswith("The database is unreachable")
                await _socket_stays_open(ws)
                # A cached token is refused at admission (the gate cannot write the ledger), a
                # capped one when its cap is read, an uncached one at authentication.
                for secret in (plain, capped.json()["token"], unused.json()["token"]):
                    site.secret = secret
                    _assert_v1_down(await asyncio.to_thread(site.v1), "database")
                # REST: the contract's error shape, not a 500 page.
                r = await asyncio.to_thread(site.alice.get, "/api/conversations/")
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "service_unavailable"
                assert r.json()["detail"] == {"service": "database"}
                assert len(site.fake.requests) == calls
                assert _message_count(direct[0]) == stored

        asyncio.run(scenario())


def _message_count(database_url: str) -> int:
    """Messages stored, read straight from Postgres (not through the cut proxy)."""
    import psycopg

    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM chat_message").fetchone()
    assert row is not None
    return int(row[0])
