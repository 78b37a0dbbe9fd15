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
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, FilteredRelation, Q, Sum
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
    organisation: one query (the membership, its organisation's time zone and, through a
    filtered outer join, the applicable budget rows)."""
    prefix = "organization__budgets__"
    rows = list(
        Membership.objects.filter(user_id=user_id, organization_id=organization_id)
        .annotate(
            applicable=FilteredRelation(
                "organization__budgets",
                condition=Q(**{f"{prefix}scope": BudgetScope.USER, f"{prefix}user_id": user_id})
                | Q(**{f"{prefix}scope__in": [BudgetScope.DEFAULT, BudgetScope.ORG]}),
            )
        )
        .values_list("organization__time_zone", *(f"applicable__{f}" for f in _BUDGET_FIELDS))
    )
    if not rows:
        return None
    by_scope = {
        row[1 + _BUDGET_FIELDS.index("scope")]: Budget(
            organization_id=organization_id, **dict(zip(_BUDGET_FIELDS, row[1:], strict=True))
        )
        for row in rows
        if row[1] is not None  # the outer join's empty row: no budget at all
    }
    return MemberBudgets(
        time_zone=rows[0][0],
        user=by_scope.get(BudgetScope.USER) or by_scope.get(BudgetScope.DEFAULT),
        org=by_scope.get(BudgetScope.ORG),
    )


_BUDGET_FIELDS = ("id", "scope", "user_id", "limit_usd", "period", "enforcement", "warn_at_percent")


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

    One query locks the existing ones in scope-key order; a missing one is then created (and
    locked) in its turn. No deadlock can form: a transaction waits on a counter row only in
    that one ordered query, before it holds or inserts anything else of the money path, and a
    concurrent creator of the same counter never waits on us. A counter created here starts
    from the ledger's spend in its period, so a budget set (or re-periodised) mid-period still
    counts what was already spent.
    """
    wanted = {key.scope_key: (key, period_key(key.period, now, tz)) for key in keys}
    lookup = Q()
    for scope_key, (_key, period) in wanted.items():
        lookup |= Q(scope_key=scope_key, period_key=period)
    locked = {
        counter.scope_key: counter
        for counter in BudgetCounter.objects.select_for_update()
        .filter(lookup, organization_id=organization_id)
        .order_by("scope_key")
    }
    for scope_key in sorted(wanted.keys() - locked.keys()):
        key, period = wanted[scope_key]
        locked[scope_key] = _counter_create(
            organization_id=organization_id, key=key, period=period, tz=tz, now=now
        )
    return locked


def _counter_create(
    *, organization_id: int, key: CounterKey, period: str, tz: zoneinfo.ZoneInfo, now: datetime
) -> BudgetCounter:
    lookup = {"organization_id": organization_id, "scope_key": key.scope_key, "period_key": period}
    start, end = period_bounds(key.period, now, tz)
    spent = ledger_spent_nusd(
        organization_id=organization_id,
        start=start,
        end=end,
        user_id=key.user_id,
        api_token_id=key.api_token_id,
    )
    try:
        # A concurrent creator makes this insert wait for its commit, then fail: lock its row.
        with transaction.atomic():
            return BudgetCounter.objects.create(
                **lookup, period_start=start, period_end=end, spent_nusd=spent
            )
    except IntegrityError:
        return BudgetCounter.objects.select_for_update().get(**lookup)


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


_RECORD_COLUMNS = [f.column for f in UsageRecord._meta.concrete_fields if not f.primary_key]
_COUNTERS = BudgetCounter._meta.db_table
_RESERVATIONS = Reservation._meta.db_table
# The usual settlement on Postgres, as one statement (one round trip instead of nine; the
# gateway benchmark measured 2.5x the added latency without it): lock the reservation while
# still open, insert the ledger row, close the reservation onto it, then lock its counters in
# the order every locker uses (a MATERIALIZED CTE locks in its ORDER BY, and a counter row is
# only reached through it) and move them. No row when the reservation was not open.
_SETTLE_SQL = f"""
WITH res AS MATERIALIZED (
    SELECT id, reserved_usd, org_counter_id, token_counter_id, user_counter_id
    FROM {_RESERVATIONS}
    WHERE call_id = %(call_id)s AND status = %(open)s
    FOR UPDATE
), rec AS (
    INSERT INTO {UsageRecord._meta.db_table} ({", ".join(_RECORD_COLUMNS)})
    SELECT {", ".join(f"%({c})s" for c in _RECORD_COLUMNS)} FROM res
    RETURNING id
), closed AS (
    UPDATE {_RESERVATIONS} r
    SET status = %(settled)s, settled_at = %(now)s, usage_record_id = (SELECT id FROM rec)
    FROM res WHERE r.id = res.id
), locked AS MATERIALIZED (
    SELECT c.id, (res.reserved_usd * 1000000000)::bigint AS held
    FROM {_COUNTERS} c
    JOIN res ON c.id IN (res.org_counter_id, res.token_counter_id, res.user_counter_id)
    ORDER BY c.scope_key
    FOR UPDATE OF c
), moved AS (
    UPDATE {_COUNTERS} c
    SET reserved_nusd = c.reserved_nusd - locked.held,
        spent_nusd = c.spent_nusd + %(spent_delta)s,
        updated_at = %(now)s
    FROM locked WHERE c.id = locked.id
    RETURNING c.id, c.scope_key, c.period_end, c.spent_nusd, c.reserved_nusd
)
SELECT rec.id, res.org_counter_id, res.user_counter_id,
       moved.id, moved.scope_key, moved.period_end, moved.spent_nusd, moved.reserved_nusd
FROM rec CROSS JOIN res LEFT JOIN moved ON true
"""  # noqa: S608 - table and column names from model metadata; every value is a bound parameter


def reservation_settle_fast(
    record: UsageRecord,
) -> tuple[Reservation, list[BudgetCounter]] | None:
    """Settle an open reservation into `record` in one statement, where the database has one
    (Postgres): the reservation (ids and settled_at only) and its counters as left. None when
    it cannot (another database, the reservation is not open, or a ledger row for the call
    exists already): then the careful ORM path (`reservation_for_update` …) decides."""
    if connection.vendor != "postgresql":
        return None
    now = timezone.now()
    params = {column: getattr(record, column) for column in _RECORD_COLUMNS}
    params |= {
        "call_id": record.call_id,
        "open": ReservationStatus.OPEN,
        "settled": ReservationStatus.SETTLED,
        "now": now,
        "spent_delta": nusd(record.cost_usd),
    }
    try:
        # Inside a caller's transaction a savepoint keeps a failed statement from breaking it;
        # on its own the statement is its own transaction.
        savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
        with savepoint, connection.cursor() as cursor:
            cursor.execute(_SETTLE_SQL, params)
            rows = cursor.fetchall()
    except IntegrityError:
        return None  # a ledger row for this call exists already: the careful path
    if not rows:
        return None
    record.pk = rows[0][0]
    record._state.adding = False
    record._state.db = connection.alias
    reservation = Reservation(
        call_id=record.call_id,
        org_counter_id=rows[0][1],
        user_counter_id=rows[0][2],
        settled_at=now,
    )
    counters = [
        BudgetCounter(
            pk=row[3], scope_key=row[4], period_end=row[5], spent_nusd=row[6], reserved_nusd=row[7]
        )
        for row in rows
        if row[3] is not None
    ]
    return reservation, counters


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
