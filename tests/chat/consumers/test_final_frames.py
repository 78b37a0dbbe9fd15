"""Every socket of a member learns how every answer ended, also under a burst of sends.

An acceptance run (one member, 4 tabs, 20 sends at once) saw answers stored as ended whose
`message.completed`/`message.failed` reached no socket: the in-memory layer dropped them past its
per-channel capacity. These tests replay that burst against the layer the settings choose, and
against the Redis layer production uses.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connections

from server.asgi import application
from tests.chat.support import drain, make_model, session_headers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SOCKETS = 4
SENDS = 20
FINAL = frozenset({"message.completed", "message.failed"})


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_connection():
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def _burst_limits(settings):
    cache.clear()
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = SENDS
    settings.CHAT_MESSAGES_PER_MINUTE = SENDS * 2


@pytest.fixture
def redis_layer(redis_url, settings):
    """The Redis pub/sub layer of production for this test, whatever the run's settings say."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "core.channel_layer.PubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": "potluck-test-final-frames"},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def memory_layer(settings):
    """The in-memory layer of embedded mode, as base.py configures it without REDIS_URL."""
    from server.settings import base

    settings.CHANNEL_LAYERS = {"default": base.EMBEDDED_CHANNEL_LAYER}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def _connect(user) -> WebsocketCommunicator:
    headers = await database_sync_to_async(session_headers)(user)
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _endings(comm: WebsocketCommunicator, within: float) -> dict[int | str, str]:
    """Read until this socket saw the end of SENDS answers: {assistant id: final frame type},
    plus {"error <client_id>": code} for refused sends."""
    answers: set[int] = set()
    refused: dict[int | str, str] = {}
    ended: dict[int, str] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(answers) < SENDS or not answers <= set(ended):
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            # Not receive_json_from(timeout=...): on a timeout it cancels the application.
            message = await asyncio.wait_for(comm.output_queue.get(), timeout=remaining)
        except TimeoutError:
            break
        if message["type"] != "websocket.send":
            break
        frame = json.loads(message["text"])
        if frame["type"] == "message.created" and frame["message"]["role"] == "assistant":
            answers.add(frame["message"]["id"])
        elif frame["type"] in FINAL:
            ended[frame["message"]["id"]] = frame["type"]
        elif frame["type"] == "error":
            refused[f"error {frame.get('client_id')}"] = frame["code"]
            answers.add(-len(refused))  # counts towards SENDS, never ends
    return {answer: ended.get(answer, "missing") for answer in answers if answer > 0} | refused


async def _burst(alice, fake_upstream) -> None:
    model = await database_sync_to_async(make_model)(
        org=alice.membership.organization, base_url=fake_upstream.base_url("openai"), model_id="m"
    )
    assert model.pk
    # Fast, long streams: many delta frames per socket while the answers end.
    fake_upstream.script(provider="openai", deltas=400, delay=0.002, times=None)
    sockets = [await _connect(alice) for _ in range(SOCKETS)]
    sends = [
        sockets[i % SOCKETS].send_json_to(
            {
                "type": "message.send",
                "conversation_id": None,
                "model": "m",
                "content": f"question {i}",
                "client_id": f"c{i}",
            }
        )
        for i in range(SENDS)
    ]
    await asyncio.gather(*sends)
    seen = await asyncio.gather(*(_endings(comm, within=90) for comm in sockets))
    await drain()
    for comm in sockets:
        await comm.disconnect()
    for endings in seen:
        missing = [answer for answer, kind in endings.items() if kind not in FINAL]
        # Every answer announced and ended on this socket; no send refused.
        assert (len(endings), missing) == (SENDS, [])


async def test_it_ends_every_answer_on_every_socket_in_embedded_mode(
    alice, fake_upstream, memory_layer
):
    await _burst(alice, fake_upstream)


async def test_it_ends_every_answer_on_every_socket_with_redis(alice, fake_upstream, redis_layer):
    await _burst(alice, fake_upstream)
