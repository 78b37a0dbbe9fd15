"""Storage for the money path: budget counters, reservations and ledger rows.

The gate (`billing.gate`) decides; this module reads and writes, through the ORM, the same way on
every database. Concurrency rests on two things that hold on Postgres and SQLite alike:

- Row locks, always taken in one order: counters by `scope_key` ("org" < "token:…" < "user:…"),
  after the reservation row when settling. On SQLite the locks are no-ops and the IMMEDIATE
  write transactions (server/settings/base.py) serialise every writer instead.
- Unique keys: one counter per (organisation, scope, period), one ledger row per `call_id`, one
  warning per (scope, period, threshold).

Money in counters is integer nano-USD; everything else is Decimal.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import Membership
from billing import policy
from billing.models import (
    Budget,
    BudgetCounter,
    BudgetEnforcement,
    BudgetScope,
    Reservation,
    ReservationStatus,
    UsageRecord,
)
from billing.periods import PeriodKind, period_bounds, period_key
from billing.policy import nusd

ORG_SCOPE_KEY = "org"
# The period a member's counter uses when no budget names one (what /api/usage/me/ shows then).
DEFAULT_PERIOD: PeriodKind = "monthly"


def user_scope_key(user_id: int) -> str:
    return f"user:{user_id}"


def token_scope_key(token_id: int) -> str:
    return f"token:{token_id}"


# --- Which budgets apply -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberBudgets:
    """A member's organisation time zone and the budgets that apply to their calls."""

    time_zone: str
    user: Budget | None  # their own budget, else the org default, else None
    org: Budget | None  # the org-wide cap


def member_budgets(*, organization_id: int, user_id: int) -> MemberBudgets | None:
    """The budgets that apply to one member, or None when the user is not a member of the
    organisation. Two small queries."""
    time_zone = (
        Membership.objects.filter(user_id=user_id, organization_id=organization_id)
        .values_list("organization__time_zone", flat=True)
        .first()
    )
    if time_zone is None:
        return None
    user, org = applicable_budgets(organization_id=organization_id, user_id=user_id)
    return MemberBudgets(time_zone=time_zone, user=user, org=org)


def applicable_budgets(
    *, organization_id: int, user_id: int
) -> tuple[Budget | None, Budget | None]:
    """(the member's budget: their own, else the org default; the org cap), in one query."""
    rows = Budget.objects.filter(organization_id=organization_id).filter(
        Q(scope=BudgetScope.USER, user_id=user_id)
        | Q(scope__in=[BudgetScope.DEFAULT, BudgetScope.ORG])
    )
    by_scope = {row.scope: row for row in rows}
    return (
        by_scope.get(BudgetScope.USER) or by_scope.get(BudgetScope.DEFAULT),
        by_scope.get(BudgetScope.ORG),
    )


def budget_limit(
    *, scope: policy.Scope, budget: Budget | None, counter: BudgetCounter
) -> policy.Limit:
    """A budget (None: no budget, only tracked spend) and its counter, as the policy sees them."""
    limit_usd = None if budget is None else budget.limit_usd
    return policy.Limit(
        scope=scope,
        limit_nusd=None if limit_usd is None else policy.nusd(limit_usd),
        hard=budget is None or budget.enforcement == BudgetEnforcement.HARD,
        spent_nusd=counter.spent_nusd,
        reserved_nusd=counter.reserved_nusd,
        period=DEFAULT_PERIOD if budget is None else budget.period,
        period_end=counter.period_end,
        warn_at_percent=() if budget is None else tuple(int(t) for t in budget.warn_at_percent),
    )


# --- Counters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterKey:
    """One counter to lock: its scope and period kind, and whose ledger spend seeds it."""

    scope_key: str
    period: PeriodKind
    user_id: int | None = None  # a member's counter
    api_token_id: int | None = None  # an API token's cap


def ledger_spent_nusd(
    *,
    organization_id: int,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
    api_token_id: int | None = None,
) -> int:
    records = UsageRecord.objects.filter(
        organization_id=organization_id, created_at__gte=start, created_at__lt=end
    )
    if user_id is not None:
        records = records.filter(user_id=user_id)
    if api_token_id is not None:
        records = records.filter(api_token_id=api_token_id)
    total = records.aggregate(total=Sum("cost_usd"))["total"]
    # SQLite sums decimals as floats: round to the nano-dollar before counting in integers.
    return 0 if total is None else nusd(Decimal(total).quantize(Decimal("1e-9")))


def counters_lock(
    *, organization_id: int, keys: list[CounterKey], tz: zoneinfo.ZoneInfo, now: datetime
) -> dict[str, BudgetCounter]:
    """The counters of `keys` for the periods containing `now`, by scope key, each locked FOR
    UPDATE until the surrounding transaction ends (call inside `transaction.atomic()`).

    One at a time in scope-key order, creating a missing one in its turn: no transaction ever
    holds a later counter while it waits for an earlier one, so lockers never deadlock. A
    counter created here starts from the ledger's spend in its period, so a budget set (or
    re-periodised) mid-period still counts what was already spent.
    """
    locked: dict[str, BudgetCounter] = {}
    for key in sorted(keys, key=lambda k: k.scope_key):
        lookup = {
            "organization_id": organization_id,
            "scope_key": key.scope_key,
            "period_key": period_key(key.period, now, tz),
        }
        counter = BudgetCounter.objects.select_for_update().filter(**lookup).first()
        if counter is None:
            start, end = period_bounds(key.period, now, tz)
            spent = ledger_spent_nusd(
                organization_id=organization_id,
                start=start,
                end=end,
                user_id=key.user_id,
                api_token_id=key.api_token_id,
            )
            try:
                # A concurrent creator makes this insert wait for its commit, then fail.
                with transaction.atomic():
                    counter = BudgetCounter.objects.create(
                        **lookup, period_start=start, period_end=end, spent_nusd=spent
                    )
            except IntegrityError:
                counter = BudgetCounter.objects.select_for_update().get(**lookup)
        locked[key.scope_key] = counter
    return locked


def counters_lock_ids(*, counter_ids: list[int]) -> list[BudgetCounter]:
    """Lock existing counters by id, in scope-key order, in one query."""
    return list(
        BudgetCounter.objects.select_for_update().filter(pk__in=counter_ids).order_by("scope_key")
    )


def counters_move(*, counters: list[BudgetCounter], reserved_nusd: int, spent_nusd: int) -> None:
    """Add the deltas to counters the caller holds locked, in one UPDATE, and to the objects."""
    if not counters:
        return
    now = timezone.now()
    BudgetCounter.objects.filter(pk__in=[c.pk for c in counters]).update(
        reserved_nusd=F("reserved_nusd") + reserved_nusd,
        spent_nusd=F("spent_nusd") + spent_nusd,
        updated_at=now,
    )
    for counter in counters:
        counter.reserved_nusd += reserved_nusd
        counter.spent_nusd += spent_nusd
        counter.updated_at = now


def counter_read(
    *, organization_id: int, key: CounterKey, tz: zoneinfo.ZoneInfo, now: datetime
) -> tuple[int, int, datetime, datetime]:
    """(spent, reserved, period start, period end) of one counter without locking it; from the
    ledger when no call was admitted in the period yet."""
    start, end = period_bounds(key.period, now, tz)
    counter = BudgetCounter.objects.filter(
        organization_id=organization_id,
        scope_key=key.scope_key,
        period_key=period_key(key.period, now, tz),
    ).first()
    if counter is not None:
        return counter.spent_nusd, counter.reserved_nusd, start, end
    spent = ledger_spent_nusd(
        organization_id=organization_id,
        start=start,
        end=end,
        user_id=key.user_id,
        api_token_id=key.api_token_id,
    )
    return spent, 0, start, end


# --- Reservations and ledger rows ----------------------------------------------------------------


def reservation_for_update(*, call_id: str) -> Reservation | None:
    return Reservation.objects.select_for_update().filter(call_id=call_id).first()


def reservation_close(
    reservation: Reservation, *, status: str, record: UsageRecord | None
) -> list[BudgetCounter]:
    """Close an open reservation (locked by the caller) and move its counters: the hold leaves
    `reserved`, the charge (the real one, even past a limit: an overshoot is recorded, never
    written off) enters `spent`. Returns the counters, locked and as this transaction leaves
    them."""
    reservation.status = status
    reservation.settled_at = timezone.now()
    reservation.usage_record = record
    reservation.save(update_fields=["status", "settled_at", "usage_record"])
    counter_ids = [
        c
        for c in (
            reservation.org_counter_id,
            reservation.token_counter_id,
            reservation.user_counter_id,
        )
        if c is not None
    ]
    counters = counters_lock_ids(counter_ids=counter_ids)
    counters_move(
        counters=counters,
        reserved_nusd=-nusd(reservation.reserved_usd),
        spent_nusd=0 if record is None else nusd(record.cost_usd),
    )
    return counters


def record_insert(record: UsageRecord) -> UsageRecord:
    """Insert a ledger row; when its call_id has one already (a concurrent settlement that got
    there first), return that row instead. The savepoint keeps the caller's transaction usable."""
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return UsageRecord.objects.get(call_id=record.call_id)
    return record


def reservations_stale(*, cutoff: datetime) -> list[Reservation]:
    """Open reservations whose heartbeat is older than `cutoff` (unlocked: settle re-checks)."""
    return list(Reservation.objects.filter(status=ReservationStatus.OPEN, heartbeat_at__lt=cutoff))


def reservation_heartbeat(*, call_id: str) -> None:
    Reservation.objects.filter(call_id=call_id, status=ReservationStatus.OPEN).update(
        heartbeat_at=timezone.now()
    )
