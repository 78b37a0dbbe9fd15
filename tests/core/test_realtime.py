"""core.realtime, the one sender of realtime frames, over the in-memory layer of embedded mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers, get_channel_layer

from core import realtime


@pytest.fixture
def small_layer(settings) -> Iterator[None]:
    """A layer whose socket queues hold 2 messages, so a busy socket is easy to make."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "core.channel_layer.InMemoryChannelLayer",
            "CONFIG": {"capacity": 2},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def _socket(user_id: int) -> str:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add(realtime.user_group(user_id), channel)
    return channel


async def _received(channel: str, count: int) -> list[Any]:
    layer = get_channel_layer()
    assert layer is not None
    return [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(count)]


@pytest.mark.asyncio
async def test_it_waits_for_room_for_a_reliable_frame_and_drops_a_lossy_one(small_layer):
    channel = await _socket(1)
    for n in (1, 2, 3):  # the third finds the queue full and is dropped
        await realtime.asend_to_user(1, {"type": "message.delta", "n": n}, lossy=True)
    ending = asyncio.ensure_future(realtime.asend_to_user(1, {"type": "message.completed", "n": 4}))
    await asyncio.sleep(0.05)
    assert not ending.done()  # waiting for room, not dropped
    assert await _received(channel, 1) == [1]
    await asyncio.wait_for(ending, 5)
    assert await _received(channel, 2) == [2, 4]


@pytest.mark.asyncio
async def test_it_stops_waiting_for_a_socket_that_left(small_layer):
    channel = await _socket(1)
    for n in (1, 2):
        await realtime.asend_to_user(1, {"type": "message.delta", "n": n}, lossy=True)
    ending = asyncio.ensure_future(realtime.asend_to_user(1, {"type": "message.completed", "n": 3}))
    await asyncio.sleep(0.05)
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_discard(realtime.user_group(1), channel)
    await asyncio.wait_for(ending, 1)  # well before RELIABLE_TIMEOUT


@pytest.mark.asyncio
async def test_it_hands_sends_from_a_worker_thread_to_the_loop_in_order():
    channel = await _socket(2)

    def commit_hooks() -> float:
        started = time.monotonic()
        for n in range(50):
            realtime.send_to_user(2, {"type": "message.created", "n": n})
        return time.monotonic() - started

    # The ORM thread hands the frames over without waiting for the layer.
    assert await sync_to_async(commit_hooks)() < 0.5
    await realtime.handed_sends_done(realtime.user_group(2))
    assert await _received(channel, 50) == list(range(50))


@pytest.mark.asyncio
async def test_it_sends_from_the_loop_thread_and_from_outside_any_loop():
    channel = await _socket(3)
    realtime.send_to_user(3, {"type": "conversation.updated", "n": 1})  # on the loop's thread
    await realtime.handed_sends_done()
    assert await _received(channel, 1) == [1]


def test_it_sends_from_plain_sync_code_before_returning(settings):
    # Outside any loop (Celery, shell) the frame is sent through async_to_sync; with no socket in
    # the group there is nothing to receive, and nothing raises.
    realtime.send_to_user(4, {"type": "budget.warning", "n": 1})


@pytest.mark.asyncio
async def test_it_coalesces_state_frames_to_the_newest(small_layer):
    channel = await _socket(5)

    def settle_many() -> None:
        for n in range(20):
            realtime.send_to_user_coalesced(5, {"type": "budget.updated", "n": n}, interval=0.1)

    await sync_to_async(settle_many)()
    # The first goes at once, the newest at the end of the interval; the ones between are not sent.
    assert await _received(channel, 2) == [0, 19]
    await asyncio.sleep(0.15)
    layer = get_channel_layer()
    assert layer is not None
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.1)
