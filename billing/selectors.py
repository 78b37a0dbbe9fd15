"""Reads of the usage ledger and of open reservations. Every read is scoped to one organisation."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypedDict

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Membership, Organization, User
from billing.models import Budget, BudgetScope, Reservation, ReservationStatus, UsageRecord
from billing.periods import PeriodKind, period_bounds
from billing.pricing import USD_QUANTUM
from core.exceptions import NotFoundError

ZERO = Decimal(0)
GroupBy = Literal["user", "model", "day"]


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime
    end: datetime  # exclusive


class ModelUsage(TypedDict):
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class UserUsage:
    period: Period
    spent_usd: Decimal
    reserved_usd: Decimal
    limit_usd: Decimal | None
    remaining_usd: Decimal | None
    by_model: list[ModelUsage]


def org_time_zone(*, organization: Organization) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(organization.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.DEFAULT_ORG_TIME_ZONE)


def month_period(*, organization: Organization, now: datetime) -> Period:
    """The calendar month containing `now`, in the organisation's time zone."""
    tz = org_time_zone(organization=organization)
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    next_month = date(local.year + local.month // 12, local.month % 12 + 1, 1)
    end = datetime(next_month.year, next_month.month, 1, tzinfo=tz)
    return Period(kind="monthly", start=start, end=end)


def day_start(*, organization: Organization, day: date) -> datetime:
    """Midnight of `day` in the organisation's time zone (an aware datetime)."""
    tz = org_time_zone(organization=organization)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _quantized(value: Decimal | None) -> Decimal:
    return (value or ZERO).quantize(USD_QUANTUM)


def usage_records_in_range(
    *,
    organization: Organization,
    start: datetime | None = None,
    end: datetime | None = None,
    user_id: int | None = None,
) -> QuerySet[UsageRecord]:
    """Ledger rows of one organisation, newest first; `start` inclusive, `end` exclusive."""
    records = UsageRecord.objects.filter(organization=organization)
    if user_id is not None:
        records = records.filter(user_id=user_id)
    if start is not None:
        records = records.filter(created_at__gte=start)
    if end is not None:
        records = records.filter(created_at__lt=end)
    return records.select_related("user").order_by("-created_at", "-id")


def reserved_usd_open(*, organization: Organization, user_id: int | None = None) -> Decimal:
    """What open reservations hold right now (calls in flight), for one user or the whole org."""
    reservations = Reservation.objects.filter(
        organization=organization, status=ReservationStatus.OPEN
    )
    if user_id is not None:
        reservations = reservations.filter(user_id=user_id)
    total = reservations.aggregate(total=Sum("reserved_usd"))["total"]
    return _quantized(total)


def member_user_id(*, organization: Organization, user_id: int) -> int:
    """`user_id` if that user is a member of `organization`; NotFoundError (404) otherwise."""
    if not Membership.objects.filter(organization=organization, user_id=user_id).exists():
        raise NotFoundError("User not found.")
    return user_id


def budget_for_user(*, organization: Organization, user_id: int) -> Budget | None:
    """The budget that applies to a member: their own, else the org default (one query)."""
    rows = {
        row.scope: row
        for row in Budget.objects.filter(organization=organization).filter(
            Q(scope=BudgetScope.USER, user_id=user_id) | Q(scope=BudgetScope.DEFAULT)
        )
    }
    return rows.get(BudgetScope.USER) or rows.get(BudgetScope.DEFAULT)


def budget_period(*, organization: Organization, budget: Budget | None, now: datetime) -> Period:
    """The budget's current period (the calendar month when there is no budget)."""
    if budget is None:
        return month_period(organization=organization, now=now)
    kind: PeriodKind = budget.period  # type: ignore[assignment]
    start, end = period_bounds(kind, now, org_time_zone(organization=organization))
    return Period(kind=kind, start=start, end=end)


def usage_for_user(*, user: User, organization: Organization, now: datetime) -> UserUsage:
    """The user's spend in the period of the budget that applies to them (own or default; the
    calendar month when none), its limit, what open calls reserve and what remains (4 queries
    at most, whatever the ledger size). `remaining_usd` goes negative past a soft budget.
    """
    budget = budget_for_user(organization=organization, user_id=user.pk)
    period = budget_period(organization=organization, budget=budget, now=now)
    rows = (
        usage_records_in_range(
            organization=organization, start=period.start, end=period.end, user_id=user.pk
        )
        .order_by()
        .values("model")
        .annotate(
            requests=Count("id"),
            input_sum=Coalesce(Sum("input_tokens"), 0),
            output_sum=Coalesce(Sum("output_tokens"), 0),
            cost_sum=Sum("cost_usd"),
        )
        .order_by("model")
    )
    by_model: list[ModelUsage] = [
        {
            "model": row["model"],
            "requests": row["requests"],
            "input_tokens": row["input_sum"],
            "output_tokens": row["output_sum"],
            "cost_usd": _quantized(row["cost_sum"]),
        }
        for row in rows
    ]
    by_model.sort(key=lambda row: (-row["cost_usd"], row["model"]))
    spent = sum((row["cost_usd"] for row in by_model), ZERO)
    reserved = reserved_usd_open(organization=organization, user_id=user.pk)
    limit = None if budget is None else budget.limit_usd
    return UserUsage(
        period=period,
        spent_usd=spent,
        reserved_usd=reserved,
        limit_usd=limit,
        remaining_usd=None if limit is None else limit - spent - reserved,
        by_model=by_model,
    )


def spend_by_user(
    *, organization: Organization, start: datetime, end: datetime
) -> dict[int, Decimal]:
    """Settled spend per user id in [start, end): one query, for member lists."""
    rows = (
        UsageRecord.objects.filter(
            organization=organization, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values("user_id")
        .annotate(cost_sum=Sum("cost_usd"))
    )
    return {row["user_id"]: _quantized(row["cost_sum"]) for row in rows}


def usage_summary(
    *,
    organization: Organization,
    group_by: GroupBy,
    start: datetime | None = None,
    end: datetime | None = None,
    user_id: int | None = None,
) -> list[dict[str, object]]:
    """Ledger totals grouped by user, model or day (in the org's time zone); one query."""
    records = usage_records_in_range(
        organization=organization, start=start, end=end, user_id=user_id
    ).order_by()
    totals = {
        "requests": Count("id"),
        "input_sum": Coalesce(Sum("input_tokens"), 0),
        "output_sum": Coalesce(Sum("output_tokens"), 0),
        "cost_sum": Sum("cost_usd"),
    }
    if group_by == "user":
        grouped = records.values("user_id", "user__email", "user__name").annotate(**totals)
        keys: list[tuple[str, str]] = [
            ("user", "user_id"),
            ("user_email", "user__email"),
            ("user_name", "user__name"),
        ]
        ordering = ["user_id"]
    elif group_by == "model":
        grouped = records.values("model").annotate(**totals)
        keys = [("model", "model")]
        ordering = ["model"]
    else:
        tz = org_time_zone(organization=organization)
        day = TruncDate("created_at", tzinfo=tz)
        grouped = records.annotate(day=day).values("day").annotate(**totals)
        keys = [("day", "day")]
        ordering = ["day"]
    result: list[dict[str, object]] = []
    for row in grouped.order_by(*ordering):
        out: dict[str, object] = {name: row[column] for name, column in keys}
        if group_by == "day":
            out["day"] = row["day"].isoformat()
        out.update(
            requests=row["requests"],
            input_tokens=row["input_sum"],
            output_tokens=row["output_sum"],
            cost_usd=_quantized(row["cost_sum"]),
        )
        result.append(out)
    return result


def range_end_after(value: datetime) -> datetime:
    """The exclusive end for an inclusive datetime bound."""
    return value + timedelta(microseconds=1)
