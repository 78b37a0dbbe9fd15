"""Reads of the usage ledger and of open reservations. Every read is scoped to one organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypedDict

from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Membership, Organization, User
from billing.models import UsageRecord
from billing.pricing import USD_QUANTUM
from core.dates import zone
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


def day_start(*, organization: Organization, day: date) -> datetime:
    """Midnight of `day` in the organisation's time zone (an aware datetime)."""
    tz = zone(organization.time_zone)
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


def member_user_id(*, organization: Organization, user_id: int) -> int:
    """`user_id` if that user is a member of `organization`; NotFoundError (404) otherwise."""
    if not Membership.objects.filter(organization=organization, user_id=user_id).exists():
        raise NotFoundError("User not found.")
    return user_id


def usage_for_user(*, user: User, organization: Organization, now: datetime) -> UserUsage:
    """The user's standing in the period of the budget that applies to them (own or default;
    the calendar month when none), from `budget_status` (the one computation the
    `budget.updated` frame uses too), with the period's spend by model from the ledger.
    `remaining_usd` goes negative past a soft budget.
    """
    from billing.budgets import budget_status

    status = budget_status(organization=organization, user_id=user.pk, now=now)
    rows = (
        usage_records_in_range(
            organization=organization, start=status.start, end=status.end, user_id=user.pk
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
    return UserUsage(
        period=Period(kind=status.kind, start=status.start, end=status.end),
        spent_usd=_quantized(status.spent_usd),
        reserved_usd=_quantized(status.reserved_usd),
        limit_usd=status.limit_usd,
        remaining_usd=None if status.remaining_usd is None else _quantized(status.remaining_usd),
        by_model=by_model,
    )


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
        tz = zone(organization.time_zone)
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


def members_with_spend(org: Organization, members: QuerySet[Membership]) -> QuerySet[Membership]:
    """`spent_usd` on each member: their ledger spend this calendar month (one subquery).
    Registered as an `accounts.extensions.member_annotators` entry."""
    from accounts.selectors import month_start

    spend = (
        UsageRecord.objects.filter(
            organization=org, user=OuterRef("user_id"), created_at__gte=month_start(org=org)
        )
        .values("user")
        .annotate(total=Sum("cost_usd"))
        .values("total")
    )
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=9)
    return members.annotate(
        spent_usd=Coalesce(
            Subquery(spend, output_field=money), Value(Decimal(0)), output_field=money
        )
    )
