"""The channel layers: Redis pub/sub for production, in-memory for embedded mode.

`InMemoryChannelLayer` is Channels' own with one addition, `group_send_reliable`, which
`core.realtime` uses for the frames that must not be lost: where `group_send` drops a message for a
socket whose queue is full (the layer's capacity), it waits for room. An acceptance run with one
member, 4 tabs and 20 sends at once lost 9 answers' endings that way.

`PubSubChannelLayer` is channels_redis's pub/sub layer with two delays of 4.3.0 taken out.
Its receive queues are unbounded, so a publish Redis accepted reaches every subscribed socket of
the process; `core.realtime` retries a publish that failed.

Measured with bench/chat_streams.py, both sat on the way to a reply's first token:

1. The receiver idles in 100 ms sleeps while its connection has no subscription (every socket of
   the process closed). A socket that connects then and sends at once got its first frames
   0-100 ms late (50 ms on average, more than all of Potluck's own work before the first token).
   Here the receiver waits for the first subscription instead, and starts reading at once.
2. Every PUBLISH of the process waits for the one before it (they share the lock that guards
   SUBSCRIBE), one Redis round trip each: a ceiling of a few thousand frames a second for the
   whole process, reached at a couple of hundred streams. Here a publisher hands its message to
   a per-connection outbox and the pending messages go out together in one pipeline; Redis
   answers them in order, so frames keep the order in which they were sent.

Everything else (channel and group bookkeeping, serialisation, reconnection) is the library's.
The subclass reaches into `RedisSingleShardConnection`, an internal class: channels_redis is
pinned, and tests/core/test_channel_layer.py checks both behaviours against a real Redis.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisSingleShardConnection,
)

logger = logging.getLogger(__name__)


def _settle(batch: list[tuple[str, bytes, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, _, future in batch:
        if future.done():  # the publisher was cancelled meanwhile
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class _Shard(RedisSingleShardConnection):  # type: ignore[misc]
    def __init__(self, host: Any, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        self._has_subscription = asyncio.Event()
        self._outbox: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: bytes) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, message, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        await future

    async def _flush(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                self._ensure_redis()
                pipe = self._redis.pipeline(transaction=False)
                for channel, message, _ in batch:
                    pipe.publish(channel, message)
                await pipe.execute()
            except Exception as exc:
                _settle(batch, exc)
            except BaseException:
                _settle(batch, ConnectionError("The channel layer was closed."))
                raise
            else:
                _settle(batch, None)

    async def subscribe(self, channel: str) -> None:
        await super().subscribe(channel)
        self._has_subscription.set()

    async def _do_receiving(self) -> None:
        while True:
            pubsub = self._pubsub
            if pubsub is None or not pubsub.subscribed:
                # Sleep until there is something to read, not in fixed steps.
                self._has_subscription.clear()
                await self._has_subscription.wait()
                continue
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                self._receive_message(message)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:
                logger.exception("Unexpected exception in the channel layer's receive task")
                await asyncio.sleep(1)

    async def flush(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})
        await super().flush()


class PubSubChannelLayer(RedisPubSubChannelLayer):  # type: ignore[misc]
    """`channels_redis.pubsub.RedisPubSubChannelLayer` with the receiver and publisher above."""

    def _get_layer(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            # The library's own bookkeeping (per-loop layers closed with their loop), then our
            # shards in place of its fresh, still unconnected ones.
            layer = super()._get_layer()
            layer._shards = [_Shard(shard.host, layer) for shard in layer._shards]
            return layer
        return super()._get_layer()


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer plus `group_send_reliable` (see the module docstring)."""

    async def group_send_reliable(
        self, group: str, message: dict[str, Any], *, patience: float
    ) -> int:
        """Put `message` on the queue of every channel in `group`, waiting up to `patience`
        seconds for room in a full one. Returns how many channels it could not reach: ones that
        stayed full that long, or left the group (their socket closed) while it waited."""
        self.require_valid_group_name(group)
        self._clean_expired()  # type: ignore[attr-defined]  # what group_send does first
        channels = list(self.groups.get(group, {}))
        if not channels:
            return 0
        deadline = asyncio.get_running_loop().time() + patience
        reached = await asyncio.gather(
            *(self._send_waiting(group, channel, message, deadline) for channel in channels)
        )
        return reached.count(False)

    async def _send_waiting(
        self, group: str, channel: str, message: dict[str, Any], deadline: float
    ) -> bool:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.send(channel, message)
            except ChannelFull:
                pass
            else:
                return True
            if channel not in self.groups.get(group, {}) or loop.time() >= deadline:
                return False
            # The socket's consumer drains its queue continuously; a short poll keeps this free
            # of the queue's internals.
            await asyncio.sleep(0.005)
