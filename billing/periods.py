"""Pure budget-period math: calendar-aligned periods in an organisation's time zone. No Django.

A period is the half-open interval [start, end) of aware datetimes. Days start at local midnight,
weeks on Monday, months on the 1st; `total` is one period covering all time. Consecutive periods
touch exactly (the end of one is the start of the next), whatever the DST changes in between: a
23- or 25-hour day is still one day.

Local midnights are built with `fold=0`: when midnight falls in a DST gap (America/Santiago
springs from 00:00 to 01:00) that maps to the instant of the change, which is the first instant
of the new day; when midnight is repeated (a 01:00 → 00:00 fall-back) it maps to its first
occurrence, which is again where the day begins.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, get_args

PeriodKind = Literal["daily", "weekly", "monthly", "total"]
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)

# The `total` period: wide enough for any ledger row, representable in every database.
TOTAL_START = datetime(1970, 1, 1, tzinfo=UTC)
TOTAL_END = datetime(9999, 1, 1, tzinfo=UTC)


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz, fold=0)


def _first_day(kind: PeriodKind, day: date) -> date:
    if kind == "daily":
        return day
    if kind == "weekly":
        return day - timedelta(days=day.weekday())  # Monday is 0
    return day.replace(day=1)


def _next_first_day(kind: PeriodKind, first: date) -> date:
    if kind == "daily":
        return first + timedelta(days=1)
    if kind == "weekly":
        return first + timedelta(days=7)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def period_bounds(kind: PeriodKind, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The period of `kind` containing the aware instant `now`, as (start, end) in UTC."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if kind not in PERIOD_KINDS:
        raise ValueError(f"unknown period kind {kind!r}")
    if kind == "total":
        return TOTAL_START, TOTAL_END
    first = _first_day(kind, now.astimezone(tz).date())
    start = _midnight(first, tz).astimezone(UTC)
    end = _midnight(_next_first_day(kind, first), tz).astimezone(UTC)
    return start, end


def period_key(kind: PeriodKind, now: datetime, tz: tzinfo) -> str:
    """A stable name for the period containing `now`: `daily:2025-03-15`, `weekly:2025-03-10`
    (its Monday), `monthly:2025-03`, `total`. Budget counters are keyed by it, so a new period
    starts from zero with nothing reset by hand."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if kind not in PERIOD_KINDS:
        raise ValueError(f"unknown period kind {kind!r}")
    if kind == "total":
        return "total"
    first = _first_day(kind, now.astimezone(tz).date())
    if kind == "monthly":
        return f"monthly:{first:%Y-%m}"
    return f"{kind}:{first.isoformat()}"
