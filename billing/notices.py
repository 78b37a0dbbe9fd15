"""Realtime notices of the money path: `budget.updated` and `budget.warning` frames, warning
e-mails, and what runs after a settlement commits.

The process that settles a call sends the member's `budget.updated` and, when the settlement
crossed a warning threshold, records the warning and sends its `budget.warning` frames itself:
in embedded mode the web process is the only one whose channel layer reaches the sockets. E-mail
goes through Celery (`billing.tasks.budget_warning_emails`), and the beat scan catches up on
anything a settlement could not send.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, TypedDict

from billing import policy

logger = logging.getLogger(__name__)


class BudgetUpdatedEvent(TypedDict):
    type: Literal["budget.updated"]
    spent_usd: str
    limit_usd: str | None
    remaining_usd: str | None
    period_end: str


class BudgetWarningEvent(TypedDict):
    type: Literal["budget.warning"]
    percent: int
    spent_usd: str
    limit_usd: str
    period_end: str


Frame = BudgetUpdatedEvent | BudgetWarningEvent


def usd_str(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-9")), "f")


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_group(user_id: int) -> str:
    """The channel-layer group of every socket of one user (chat.events builds the same)."""
    return f"user.{user_id}"


def budget_updated_event(limit: policy.Limit, *, period_end: datetime) -> BudgetUpdatedEvent:
    """The `budget.updated` frame of a member's budget (`limit`, with its counter's values)."""
    remaining = limit.remaining_nusd
    return {
        "type": "budget.updated",
        "spent_usd": usd_str(policy.usd(limit.spent_nusd)),
        "limit_usd": None if limit.limit_nusd is None else usd_str(policy.usd(limit.limit_nusd)),
        "remaining_usd": None if remaining is None else usd_str(policy.usd(remaining)),
        "period_end": iso_utc(period_end),
    }


_background: set[asyncio.Task[None]] = set()


def _main_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this thread works for, when it runs inside `sync_to_async` (the engine's
    ORM calls) and that loop is still running; None otherwise."""
    from asgiref.sync import SyncToAsync

    local = SyncToAsync.threadlocal
    loop: asyncio.AbstractEventLoop | None = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


async def _send_async(user_id: int, event: Frame) -> None:
    from channels.layers import get_channel_layer

    try:
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(user_group(user_id), dict(event))
    except Exception:
        logger.warning("%s for user %s not sent", event["type"], user_id, exc_info=True)


# At most one `budget.updated` per member per this many seconds from one event loop: a member
# settling hundreds of calls a second (an API client) gets the newest state at the end of each
# interval instead of a frame per call. The first frame after a quiet interval goes at once.
BUDGET_FRAME_INTERVAL = 0.1


@dataclass
class _FrameState:
    last_sent: dict[int, float]
    pending: dict[int, BudgetUpdatedEvent]


_frame_states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _FrameState] = (
    weakref.WeakKeyDictionary()
)


def _start_send(user_id: int, event: Frame) -> None:
    task = asyncio.ensure_future(_send_async(user_id, event))
    _background.add(task)
    task.add_done_callback(_background.discard)


def _spawn_send(user_id: int, event: BudgetUpdatedEvent) -> None:
    """On the loop: send now, or hold the newest frame for the end of the member's interval."""
    loop = asyncio.get_running_loop()
    state = _frame_states.get(loop)
    if state is None:
        state = _frame_states[loop] = _FrameState(last_sent={}, pending={})
    if user_id in state.pending:
        state.pending[user_id] = event  # the scheduled send carries the newest state
        return
    now = loop.time()
    last = state.last_sent.get(user_id)
    if last is None or now - last >= BUDGET_FRAME_INTERVAL:
        if len(state.last_sent) >= 10_000:
            state.last_sent.clear()
        state.last_sent[user_id] = now
        _start_send(user_id, event)
        return
    state.pending[user_id] = event
    loop.call_at(last + BUDGET_FRAME_INTERVAL, _flush_send, state, user_id)


def _flush_send(state: _FrameState, user_id: int) -> None:
    event = state.pending.pop(user_id, None)
    if event is not None:
        state.last_sent[user_id] = asyncio.get_running_loop().time()
        _start_send(user_id, event)


def budget_updated_dispatch(*, user_id: int, event: BudgetUpdatedEvent) -> None:
    """Send a ready `budget.updated` frame. Call after commit; never raises.

    From a `sync_to_async` thread of a running loop (the engine's settlement) the send is handed
    to that loop and this returns at once: the settling thread does not wait for the channel
    layer (the frame is best-effort by contract, and it still goes out after the commit); there
    a member's frames are spaced BUDGET_FRAME_INTERVAL apart, the newest state winning.
    Elsewhere (Celery, management commands, plain sync code) it is sent before returning.
    """
    loop = _main_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_spawn_send, user_id, event)
            return
        except RuntimeError:
            pass  # the loop closed meanwhile: send it here
    from asgiref.sync import async_to_sync

    async_to_sync(_send_async)(user_id, event)


def warning_frames_send(*, recipients: list[int], event: BudgetWarningEvent) -> None:
    """Send one `budget.warning` to every recipient's sockets, now. Never raises."""
    from asgiref.sync import async_to_sync

    for user_id in recipients:
        try:
            loop = _main_loop()
            if loop is not None:
                # On a running loop's ORM thread: hand the send over, do not block the thread.
                loop.call_soon_threadsafe(_start_send, user_id, event)
            else:
                async_to_sync(_send_async)(user_id, event)
        except Exception:
            logger.warning("budget.warning for user %s not sent", user_id, exc_info=True)


def after_settlement(
    *,
    organization_id: int,
    user_id: int,
    limits: list[policy.Limit],
    spent_nusd: int,
    now: datetime | None,
) -> None:
    """Runs once a settlement committed: the member's `budget.updated`, then any warning the
    settlement's charge crossed. Never raises into the engine's ending."""
    from billing.budgets import budget_updated_notify, budget_warnings_send

    user = next((limit for limit in limits if limit.scope == "user"), None)
    try:
        if (
            user is not None
            and user.period_end is not None
            and (now is None or user.period_end > now)
        ):
            budget_updated_dispatch(
                user_id=user_id, event=budget_updated_event(user, period_end=user.period_end)
            )
        else:
            # The call's period has ended meanwhile: the frame shows the current one.
            budget_updated_notify(organization_id=organization_id, user_id=user_id)
    except Exception:
        logger.warning("budget.updated for user %s not sent", user_id, exc_info=True)
    crossed = any(
        policy.crossed_thresholds(limit, spent_before_nusd=limit.spent_nusd - spent_nusd)
        for limit in limits
    )
    if not crossed:
        return
    try:
        budget_warnings_send(organization_id=organization_id, user_id=user_id)
    except Exception:
        # The beat scan (budget_warnings_scan) records and sends them on its next run.
        logger.warning("budget warnings for user %s not sent", user_id, exc_info=True)
