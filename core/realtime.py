"""The one way realtime frames leave the server: every chat and billing frame goes through here.

A frame is a JSON object with a `type`; its channel-layer message *is* the frame, and the
consumer forwards it as it is. Audiences are groups: `user_group(user_id)` reaches every socket of
a member, `conversation_group(conversation_id)` the sockets that joined one conversation.

Two kinds of delivery:
- reliable (the default): lifecycle frames, endings, budget state. A full socket queue is waited
  on, a failed publish retried, up to RELIABLE_TIMEOUT; only a socket that is gone, or stuck
  that long, misses one. Clients still reconcile by refetching (STYLE rule 8), for those cases.
- lossy (`lossy=True`): high-volume frames whose loss the next frame repairs (`message.delta`).
  One attempt; dropped silently when a queue is full, as the channel layer spec allows.

Where to call from:
- `send_to_user` / `send_to_group` from any sync code. In a `sync_to_async` worker thread of the
  ASGI server (the ORM thread, after a commit) the send is handed to the server's loop and this
  returns at once, so the thread shared by the whole process never waits for the layer. On the
  loop's own thread it is scheduled the same way. Anywhere else (Celery, shell, sync tests) it is
  sent before returning.
- `asend_to_user` / `asend_to_group` from async code: they send after the frames handed over to
  the same group so far, so a delta never overtakes its message's `message.created`.
- `send_to_user_coalesced` for state snapshots a busy member may change hundreds of times a second
  (`budget.updated`): at most one frame per `interval`, the newest state winning.

Handed-over frames to one group keep the order in which they were handed over. Groups do not wait
for each other: one slow socket holds back only its own member's frames.

Nothing here raises into the caller: a frame that cannot be delivered is logged and dropped (the
stored state is the truth).
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

Frame = Mapping[str, Any]

# How long a reliable frame waits for room in a socket's queue, or keeps retrying a publish.
RELIABLE_TIMEOUT = 30.0
_RETRY_PAUSE = 0.05


def user_group(user_id: int) -> str:
    """Every socket of this member (joined at connect)."""
    return f"user.{user_id}"


def conversation_group(conversation_id: int) -> str:
    """The sockets that joined this conversation."""
    return f"conversation.{conversation_id}"


# --- sending on the loop ------------------------------------------------------------------------


async def _deliver(group: str, event: Frame, *, lossy: bool) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = dict(event)
    if lossy:
        try:
            await layer.group_send(group, message)
        except Exception:
            logger.warning("Dropping %s frame for %s", event.get("type"), group, exc_info=True)
        return
    reliable = getattr(layer, "group_send_reliable", None)
    if reliable is not None:
        # Our in-memory layer: waits for room per socket instead of dropping (core.channel_layer).
        missed = await reliable(group, message, patience=RELIABLE_TIMEOUT)
        if missed:
            logger.warning("%s frame for %s missed %d socket(s)", event.get("type"), group, missed)
        return
    # Other layers (Redis pub/sub) never drop a publish they accepted; retry one that failed.
    deadline = asyncio.get_running_loop().time() + RELIABLE_TIMEOUT
    while True:
        try:
            await layer.group_send(group, message)
            return
        except Exception:
            if asyncio.get_running_loop().time() >= deadline:
                logger.warning("Dropping %s frame for %s", event.get("type"), group, exc_info=True)
                return
        await asyncio.sleep(_RETRY_PAUSE)


# The last send handed to each loop, per group: every send waits for the one before it to the
# same group, so a group's frames keep the order they were handed over in whatever the channel
# layer does with concurrent sends.
_tails: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[None]] = {}


def _spawn(group: str, event: Frame, lossy: bool) -> None:
    """On the loop: queue the send behind the group's previous one."""
    loop = asyncio.get_running_loop()
    key = (loop, group)
    task = loop.create_task(_send_after(_tails.get(key), group, event, lossy))
    _tails[key] = task
    task.add_done_callback(partial(_forget_tail, key))


async def _send_after(
    previous: asyncio.Task[None] | None, group: str, event: Frame, lossy: bool
) -> None:
    if previous is not None and not previous.done():
        await asyncio.wait({previous})
    await _deliver(group, event, lossy=lossy)


def _forget_tail(key: tuple[asyncio.AbstractEventLoop, str], task: asyncio.Task[None]) -> None:
    if _tails.get(key) is task:
        del _tails[key]


async def handed_sends_done(group: str | None = None) -> None:
    """Wait until the frames handed over from sync code so far went out: to `group`, or to
    every group when None."""
    loop = asyncio.get_running_loop()
    if group is not None:
        tail = _tails.get((loop, group))
        tails = {tail} if tail is not None and not tail.done() else set()
    else:
        tails = {t for (owner, _), t in _tails.items() if owner is loop and not t.done()}
    if tails:
        await asyncio.wait(tails)


# --- the API ------------------------------------------------------------------------------------


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop this thread works for: its own, or, in a `sync_to_async` worker thread,
    the loop that called it (asgiref records it, as `async_to_sync` uses it); None elsewhere."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    loop: asyncio.AbstractEventLoop | None = getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


def _hand_over(loop: asyncio.AbstractEventLoop, callback: Any, *args: Any) -> bool:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback(*args)
        return True
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop closed meanwhile
        return False
    return True


def send_to_group(group: str, event: Frame, *, lossy: bool = False) -> None:
    """Send `event` to `group` from sync code (see the module docstring for where it goes out)."""
    loop = _server_loop()
    if loop is not None:
        if not _hand_over(loop, _spawn, group, event, lossy):
            logger.warning("Dropping %s frame for %s: the loop closed", event.get("type"), group)
        return
    async_to_sync(_deliver)(group, event, lossy=lossy)


def send_to_user(user_id: int, event: Frame, *, lossy: bool = False) -> None:
    """Send `event` to every socket of the member, from sync code."""
    send_to_group(user_group(user_id), event, lossy=lossy)


async def asend_to_group(group: str, event: Frame, *, lossy: bool = False) -> None:
    """Send `event` to `group` from async code, after the frames handed over to it so far."""
    await handed_sends_done(group)
    await _deliver(group, event, lossy=lossy)


async def asend_to_user(user_id: int, event: Frame, *, lossy: bool = False) -> None:
    await asend_to_group(user_group(user_id), event, lossy=lossy)


# --- coalesced state frames ---------------------------------------------------------------------


@dataclass
class _Coalescer:
    last_sent: dict[tuple[int, str], float] = field(default_factory=dict)
    pending: dict[tuple[int, str], Frame] = field(default_factory=dict)


_coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Coalescer] = (
    weakref.WeakKeyDictionary()
)


def _coalesce(user_id: int, event: Frame, interval: float) -> None:
    """On the loop: send now, or hold the newest frame for the end of the member's interval."""
    loop = asyncio.get_running_loop()
    state = _coalescers.get(loop)
    if state is None:
        state = _coalescers[loop] = _Coalescer()
    key = (user_id, str(event.get("type")))
    if key in state.pending:
        state.pending[key] = event  # the scheduled send carries the newest state
        return
    now = loop.time()
    last = state.last_sent.get(key)
    if last is None or now - last >= interval:
        if len(state.last_sent) >= 10_000:
            state.last_sent.clear()
        state.last_sent[key] = now
        _spawn(user_group(user_id), event, False)
        return
    state.pending[key] = event
    loop.call_at(last + interval, _flush_coalesced, state, key)


def _flush_coalesced(state: _Coalescer, key: tuple[int, str]) -> None:
    event = state.pending.pop(key, None)
    if event is not None:
        state.last_sent[key] = asyncio.get_running_loop().time()
        _spawn(user_group(key[0]), event, False)


def send_to_user_coalesced(user_id: int, event: Frame, *, interval: float = 0.1) -> None:
    """Send a state snapshot to the member, from sync code: on the server's loop at most one frame
    of this `type` per member per `interval` seconds (the first after a quiet interval at once,
    then the newest state at the end of the interval). Elsewhere it is sent before returning."""
    loop = _server_loop()
    if loop is not None and _hand_over(loop, _coalesce, user_id, event, interval):
        return
    async_to_sync(_deliver)(user_group(user_id), event, lossy=False)
