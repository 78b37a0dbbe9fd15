"""The chat socket against a live Daphne (`make run`'s processes), with a real WebSocket client.

Channels' test communicator reports a close before accept and a close after it alike; a browser
does not: the first is an HTTP 403 at the handshake, whose close code it never sees. And the burst
that lost answers' endings in an acceptance run is replayed here the way it was seen: one member,
4 sockets, 20 sends at once, over the network.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.live import fake_upstream_process, live_app, sign_in_with_model
from tests.fake_upstream.server import FakeUpstreamClient

EMAIL = "owner@acme.test"
PASSWORD = "a-long-enough-password-1"
SOCKETS = 4
SENDS = 20
FINAL = frozenset({"message.completed", "message.failed"})


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


async def _endings(ws: aiohttp.ClientWebSocketResponse, within: float) -> dict[Any, str]:
    """{assistant id: final frame type, or "missing"} for every answer this socket was told of,
    plus {"error <client_id>": code} for refused sends."""
    answers: set[int] = set()
    ended: dict[int, str] = {}
    refused: dict[Any, str] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(answers) + len(refused) < SENDS or not answers <= set(ended):
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            message = await asyncio.wait_for(ws.receive(), remaining)
        except TimeoutError:
            break
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        frame = json.loads(message.data)
        if frame["type"] == "message.created" and frame["message"]["role"] == "assistant":
            answers.add(frame["message"]["id"])
        elif frame["type"] in FINAL:
            ended[frame["message"]["id"]] = frame["type"]
        elif frame["type"] == "error":
            refused[f"error {frame.get('client_id')}"] = frame["code"]
    return {answer: ended.get(answer, "missing") for answer in answers} | refused


async def _burst(url: str, fake_url: str) -> list[dict[Any, str]]:
    ws_url = url.replace("http://", "ws://") + "/ws/chat/"
    # unsafe: accept cookies from an IP address host (127.0.0.1), as a browser does.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await sign_in_with_model(session, url, fake_url, email=EMAIL, password=PASSWORD)
        sockets = [await session.ws_connect(ws_url, origin=url) for _ in range(SOCKETS)]
        await asyncio.gather(
            *(
                sockets[i % SOCKETS].send_json(
                    {
                        "type": "message.send",
                        "conversation_id": None,
                        "model": "m",
                        "content": f"question {i}",
                        "client_id": f"c{i}",
                    }
                )
                for i in range(SENDS)
            )
        )
        seen = await asyncio.gather(*(_endings(ws, within=90) for ws in sockets))
        for ws in sockets:
            await ws.close()
        return list(seen)


@pytest.mark.timeout(240)  # the processes' start, and up to 90 s waiting for lost endings
def test_it_ends_every_answer_of_a_burst_on_every_socket(tmp_path: Path) -> None:
    limits = {"CHAT_MAX_CONCURRENT_GENERATIONS": str(SENDS), "CHAT_MESSAGES_PER_MINUTE": "100"}
    with (
        fake_upstream_process() as fake_url,
        live_app(tmp_path, extra_env=limits, with_celery=False) as app,
    ):
        app.manage(
            "create_org", "--name", "Acme", "--owner-email", EMAIL, "--owner-password", PASSWORD
        )
        # Long, fast streams: many delta frames per socket while the answers end.
        FakeUpstreamClient(fake_url).script(
            provider="openai_compatible", deltas=400, delay=0.002, times=None
        )
        seen = asyncio.run(_burst(app.url, fake_url))
    for endings in seen:
        missing = [answer for answer, kind in endings.items() if kind not in FINAL]
        # Every answer announced and ended on this socket; no send refused.
        assert (len(endings), missing) == (SENDS, [])
