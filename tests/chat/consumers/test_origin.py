"""Issue 13, item 8: the chat socket's Origin must match scheme, host and port, in process through
the real ASGI application (the live Daphne case is in test_socket_revocation_live.py)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from server.asgi import application
from tests.chat.support import session_headers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def opens(user, *, origin: str, host: str, scheme: str = "ws", **extra: str) -> bool:
    headers = [
        (name, value)
        for name, value in await database_sync_to_async(session_headers)(user, origin=origin)
        if name != b"host"
    ]
    headers.append((b"host", host.encode()))
    headers += [(k.replace("_", "-").encode(), v.encode()) for k, v in extra.items()]
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    comm.scope["scheme"] = scheme
    connected, _ = await comm.connect()
    if connected:
        await comm.disconnect()
    return connected


async def test_it_compares_scheme_host_and_port(alice) -> None:
    host = "127.0.0.1:8000"
    assert await opens(alice, origin="http://127.0.0.1:8000", host=host)
    assert not await opens(alice, origin="http://127.0.0.1:9999", host=host)  # another port
    assert not await opens(alice, origin="https://127.0.0.1:8000", host=host)  # another scheme
    assert not await opens(alice, origin="http://localhost:8000", host=host)  # another host
    assert not await opens(alice, origin="http://evil.example:8000", host="evil.example:8000")
    assert not await opens(alice, origin="null", host=host)
    assert await opens(alice, origin="https://127.0.0.1", host="127.0.0.1", scheme="wss")
    assert not await opens(alice, origin="http://127.0.0.1", host="127.0.0.1", scheme="wss")


async def test_it_accepts_exactly_the_trusted_origins_behind_a_proxy(alice, settings) -> None:
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert await opens(alice, origin="https://chat.example.com", host="web:8000")
    assert not await opens(alice, origin="https://chat.example.com:8443", host="web:8000")
    assert not await opens(alice, origin="http://chat.example.com", host="web:8000")
    # Same origin through the proxy, which says the client spoke https.
    assert await opens(
        alice,
        origin="https://chat.example.com",
        host="chat.example.com",
        x_forwarded_proto="https",
    )
