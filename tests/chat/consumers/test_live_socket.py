"""The chat socket's handshake against a live Daphne, with a real WebSocket client.

Channels' test communicator reports a close before accept and a close after it alike; a browser
does not: the first is an HTTP 403 at the handshake, whose close code it never sees.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.live import live_app


async def _handshakes(url: str) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws/chat/"
    async with aiohttp.ClientSession() as session:
        # Anonymous, from an allowed origin: the handshake succeeds, then the server closes 4401.
        async with session.ws_connect(ws_url, origin=url) as ws:
            assert ws._response is not None
            assert ws._response.status == 101
            message = await ws.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4401
        # A foreign origin is refused at the handshake, before any consumer runs.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws_url, origin="http://evil.example")
        assert refused.value.status == 403


def test_it_closes_anonymous_sockets_with_4401_after_the_handshake(tmp_path: Path) -> None:
    with live_app(tmp_path, with_celery=False) as app:
        asyncio.run(_handshakes(app.url))
