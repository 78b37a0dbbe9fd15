"""Realtime notices of the money path: `budget.updated` and `budget.warning` frames, warning
e-mails, and what runs after a settlement commits.

The process that settles a call sends the member's `budget.updated` and, when the settlement
crossed a warning threshold, records the warning and sends its `budget.warning` frames itself:
in embedded mode the web process is the only one whose channel layer reaches the sockets. E-mail
goes through Celery (`billing.tasks.budget_warning_emails`), and the beat scan catches up on
anything a settlement could not send.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Literal, TypedDict

from billing import policy
from core import realtime
from core.dates import iso_utc

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


# At most one `budget.updated` per member per this many seconds from one event loop: a member
# settling hundreds of calls a second (an API client) gets the newest state at the end of each
# interval instead of a frame per call. The first frame after a quiet interval goes at once.
BUDGET_FRAME_INTERVAL = 0.1


def budget_updated_dispatch(*, user_id: int, event: BudgetUpdatedEvent) -> None:
    """Send a ready `budget.updated` frame (call after commit; never raises), coalesced per
    member through `core.realtime`: from the server's ORM thread it is handed to the loop and
    this returns at once; elsewhere (Celery, commands) it is sent before returning."""
    realtime.send_to_user_coalesced(user_id, dict(event), interval=BUDGET_FRAME_INTERVAL)


def warning_frames_send(*, recipients: list[int], event: BudgetWarningEvent) -> None:
    """Send one `budget.warning` to every recipient's sockets (reliably; never raises)."""
    for user_id in recipients:
        realtime.send_to_user(user_id, dict(event))


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
