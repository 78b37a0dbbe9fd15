"""Budgets: what an admin sets, the per-period counters the gate locks, and the warnings.

Who uses what:
- the budget APIs call `budget_set` / `budget_clear` and read `budget_get_or_default`;
- `billing.gate` calls `admission_context` and `counters_lock` inside admission's transaction, and
  `counters_lock_ids` / `counters_move` inside settlement's;
- the Celery tasks call `budget_warnings_send` and `usage_rollup`.

Money in counters is integer nano-USD (`usd_to_nusd` / `nusd_to_usd`); everything else is Decimal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import weakref
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, FilteredRelation, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ADMIN_ROLES, Membership, Organization
from billing.models import (
    NANO_PER_USD,
    Budget,
    BudgetCounter,
    BudgetEnforcement,
    BudgetPeriod,
    BudgetScope,
    BudgetWarning,
    UsageDaily,
    UsageRecord,
)
from billing.periods import PeriodKind, period_bounds, period_key
from billing.pricing import USD_PLACES
from core.exceptions import ApplicationError

if TYPE_CHECKING:
    from chat.events import BudgetUpdatedEvent

logger = logging.getLogger(__name__)

ORG_SCOPE_KEY = "org"
# The period a user's counter uses when no budget names one (what /api/usage/me/ shows then).
DEFAULT_PERIOD: PeriodKind = "monthly"


def usd_to_nusd(value: Decimal) -> int:
    """USD as integer nano-USD, rounded up: a reservation or a charge is never understated."""
    return int((value * NANO_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def nusd_to_usd(value: int) -> Decimal:
    return Decimal(value).scaleb(-USD_PLACES)


def user_scope_key(user_id: int) -> str:
    return f"user:{user_id}"


def org_tz(time_zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.DEFAULT_ORG_TIME_ZONE)


# --- Reading budgets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicableBudgets:
    user: Budget | None  # the member's own budget, else the org default, else None
    org: Budget | None  # the org-wide cap


def budgets_applicable(*, organization_id: int, user_id: int) -> ApplicableBudgets:
    """The budgets that apply to one member's calls (one query)."""
    rows = list(
        Budget.objects.filter(organization_id=organization_id).filter(
            Q(scope=BudgetScope.USER, user_id=user_id)
            | Q(scope__in=[BudgetScope.DEFAULT, BudgetScope.ORG])
        )
    )
    by_scope = {row.scope: row for row in rows}
    return ApplicableBudgets(
        user=by_scope.get(BudgetScope.USER) or by_scope.get(BudgetScope.DEFAULT),
        org=by_scope.get(BudgetScope.ORG),
    )


@dataclass(frozen=True)
class AdmissionContext:
    """What admission needs to know about a member before locking counters."""

    time_zone: str
    budgets: ApplicableBudgets


_BUDGET_FIELDS = ("id", "scope", "user_id", "limit_usd", "period", "enforcement", "warn_at_percent")


def on_postgres() -> bool:
    """Whether the hot paths may use their Postgres SQL (the ORM's twin serves SQLite)."""
    return bool(connection.vendor == "postgresql")


# The admission and settlement hot paths on Postgres run hand-written SQL: on the /v1 gateway
# building ORM queries cost more CPU than the database work itself (bench/gateway_overhead.py).
# Each statement has an ORM twin, used on SQLite, that the same tests pin.
_CONTEXT_SQL = f"""
SELECT o.time_zone, b.id, b.scope, b.user_id, b.limit_usd, b.period, b.enforcement,
       b.warn_at_percent
FROM {Membership._meta.db_table} m
JOIN {Organization._meta.db_table} o ON o.id = m.organization_id
LEFT JOIN {Budget._meta.db_table} b ON b.organization_id = o.id
    AND ((b.scope = 'user' AND b.user_id = %(user)s) OR b.scope IN ('default', 'org'))
WHERE m.user_id = %(user)s AND m.organization_id = %(org)s
"""  # noqa: S608 - table names from model metadata; every value is a bound parameter


def admission_context(*, organization_id: int, user_id: int) -> AdmissionContext | None:
    """The org's time zone and the budgets that apply to a member, or None when the user is not
    a member of the organisation: one query (the membership joined to its organisation and,
    through a filtered outer join, to the applicable budget rows)."""
    rows: list[tuple[Any, ...]]
    if on_postgres():
        with connection.cursor() as cursor:
            cursor.execute(_CONTEXT_SQL, {"user": user_id, "org": organization_id})
            rows = cursor.fetchall()
    else:
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
    return _context_from_rows(organization_id=organization_id, rows=rows)


def _context_from_rows(
    *, organization_id: int, rows: list[tuple[Any, ...]]
) -> AdmissionContext | None:
    """Rows of (time_zone, *_BUDGET_FIELDS): None without rows (not a member)."""
    if not rows:
        return None
    by_scope: dict[str, Budget] = {}
    for row in rows:
        if row[1] is None:
            continue  # the outer join's empty row: no budget at all
        fields = dict(zip(_BUDGET_FIELDS, row[1:], strict=True))
        if isinstance(fields["warn_at_percent"], str):  # raw SQL: Django loads JSON as text
            fields["warn_at_percent"] = json.loads(fields["warn_at_percent"])
        by_scope[fields["scope"]] = Budget(organization_id=organization_id, **fields)
    return AdmissionContext(
        time_zone=rows[0][0],
        budgets=ApplicableBudgets(
            user=by_scope.get(BudgetScope.USER) or by_scope.get(BudgetScope.DEFAULT),
            org=by_scope.get(BudgetScope.ORG),
        ),
    )


def _budget_lookup(*, scope: str, user_id: int | None) -> Q:
    return Q(scope=scope) & (Q(user__isnull=True) if user_id is None else Q(user_id=user_id))


def budget_get(
    *, organization: Organization, scope: str, user_id: int | None = None
) -> Budget | None:
    return (
        Budget.objects.filter(organization=organization)
        .filter(_budget_lookup(scope=scope, user_id=user_id))
        .first()
    )


def budget_get_or_default(
    *, organization: Organization, scope: str, user_id: int | None = None
) -> tuple[Budget, bool]:
    """The stored budget, or an unsaved stand-in; the flag says whether it was stored.

    For a member without their own budget the stand-in copies the org default (what applies).
    """
    budget = budget_get(organization=organization, scope=scope, user_id=user_id)
    if budget is not None:
        return budget, True
    template = None
    if scope == BudgetScope.USER:
        template = budget_get(organization=organization, scope=BudgetScope.DEFAULT)
    return Budget(
        organization=organization,
        scope=scope,
        user_id=user_id,
        limit_usd=None if template is None else template.limit_usd,
        period=BudgetPeriod.MONTHLY if template is None else template.period,
        enforcement=BudgetEnforcement.HARD if template is None else template.enforcement,
        warn_at_percent=[] if template is None else list(template.warn_at_percent),
    ), False


# --- Changing budgets --------------------------------------------------------------------------


def _budget_data(budget: Budget) -> dict[str, Any]:
    return {
        "limit_usd": None if budget.limit_usd is None else format(budget.limit_usd, "f"),
        "period": budget.period,
        "enforcement": budget.enforcement,
        "warn_at_percent": list(budget.warn_at_percent),
    }


def budget_set(
    *,
    organization: Organization,
    actor: Any,
    scope: str,
    user_id: int | None = None,
    limit_usd: Decimal | None,
    period: str,
    enforcement: str,
    warn_at_percent: list[int],
) -> Budget:
    """Create or replace one budget; audit-logged as `budget.updated` in the same transaction.

    The new limit applies from the next admission: counters keep what was spent in the period.
    """
    if limit_usd is not None and limit_usd < 0:
        raise ApplicationError("limit_usd must not be negative.", code="validation_error")
    with transaction.atomic():
        budget = (
            Budget.objects.select_for_update()
            .filter(organization=organization)
            .filter(_budget_lookup(scope=scope, user_id=user_id))
            .first()
        )
        before = None if budget is None else _budget_data(budget)
        if budget is None:
            budget = Budget(organization=organization, scope=scope, user_id=user_id)
        budget.limit_usd = limit_usd
        budget.period = period
        budget.enforcement = enforcement
        budget.warn_at_percent = sorted(set(warn_at_percent))
        budget.updated_at = timezone.now()
        budget.full_clean()
        budget.save()
        audit_record(
            org=organization,
            actor=actor,
            action="budget.updated",
            target=budget,
            data={
                "scope": scope,
                "user_id": user_id,
                "before": before,
                "after": _budget_data(budget),
            },
        )
        if user_id is not None:
            transaction.on_commit(
                lambda: budget_updated_notify(organization_id=organization.pk, user_id=user_id)
            )
    return budget


def budget_clear(*, organization: Organization, actor: Any, user_id: int) -> None:
    """Remove a member's own budget: the org default applies again. Audit-logged."""
    with transaction.atomic():
        budget = budget_get(organization=organization, scope=BudgetScope.USER, user_id=user_id)
        if budget is None:
            return
        audit_record(
            org=organization,
            actor=actor,
            action="budget.updated",
            target=budget,
            data={
                "scope": "user",
                "user_id": user_id,
                "before": _budget_data(budget),
                "after": None,
            },
        )
        budget.delete()
        transaction.on_commit(
            lambda: budget_updated_notify(organization_id=organization.pk, user_id=user_id)
        )


# --- Counters ----------------------------------------------------------------------------------


def _ledger_spent_nusd(
    *, organization_id: int, user_id: int | None, start: datetime, end: datetime
) -> int:
    records = UsageRecord.objects.filter(
        organization_id=organization_id, created_at__gte=start, created_at__lt=end
    )
    if user_id is not None:
        records = records.filter(user_id=user_id)
    total = records.aggregate(total=Sum("cost_usd"))["total"]
    # SQLite sums decimals as floats: round to the nano-dollar before counting in integers.
    return 0 if total is None else usd_to_nusd(Decimal(total).quantize(Decimal("1e-9")))


def counter_lock(
    *,
    organization_id: int,
    user_id: int | None,
    kind: PeriodKind,
    tz: zoneinfo.ZoneInfo,
    now: datetime,
) -> BudgetCounter:
    """The counter of one scope (a user's, or the org's when `user_id` is None) for the period
    containing `now`, locked FOR UPDATE until the surrounding transaction ends.

    Must run inside `transaction.atomic()`. Take the org counter before any user counter: that
    fixed order is what keeps concurrent admissions from deadlocking. A counter created here
    starts from the ledger's spend in its period, so a budget set (or re-periodised) mid-period
    still counts what was already spent.
    """
    scope_key = ORG_SCOPE_KEY if user_id is None else user_scope_key(user_id)
    key = period_key(kind, now, tz)
    lookup = {"organization_id": organization_id, "scope_key": scope_key, "period_key": key}
    counter = BudgetCounter.objects.select_for_update().filter(**lookup).first()
    if counter is not None:
        return counter
    start, end = period_bounds(kind, now, tz)
    spent = _ledger_spent_nusd(
        organization_id=organization_id, user_id=user_id, start=start, end=end
    )
    try:
        # A concurrent creator makes this insert wait for its commit, then fail: read its row.
        with transaction.atomic():
            return BudgetCounter.objects.create(
                **lookup, period_start=start, period_end=end, spent_nusd=spent
            )
    except IntegrityError:
        return BudgetCounter.objects.select_for_update().get(**lookup)


def counters_lock(
    *,
    organization_id: int,
    user_id: int,
    org_kind: PeriodKind | None,
    user_kind: PeriodKind,
    tz: zoneinfo.ZoneInfo,
    now: datetime,
) -> tuple[BudgetCounter | None, BudgetCounter]:
    """The org cap's counter (when `org_kind` is given) and the member's, for the periods
    containing `now`, both locked FOR UPDATE until the surrounding transaction ends.

    The same locks, in the same order, as `counter_lock` for the org and then for the member,
    in one query when both rows exist: `ORDER BY scope_key` ("org" < "user:…") makes Postgres
    lock them org first. The member's row is only matched when the org's row exists, so when
    it does not, nothing is locked yet and the rows are created (or locked) one by one in that
    same order: no transaction ever holds a member's counter while waiting for the org's.
    """
    user_lookup = Q(scope_key=user_scope_key(user_id), period_key=period_key(user_kind, now, tz))
    if org_kind is None:
        wanted = user_lookup
    else:
        org_lookup = Q(scope_key=ORG_SCOPE_KEY, period_key=period_key(org_kind, now, tz))
        org_exists = Exists(
            BudgetCounter.objects.filter(org_lookup, organization_id=organization_id)
        )
        wanted = org_lookup | (user_lookup & Q(org_exists))
    if on_postgres():
        rows = _counters_lock_sql(
            organization_id=organization_id,
            user_key=(user_scope_key(user_id), period_key(user_kind, now, tz)),
            org_period_key=None if org_kind is None else period_key(org_kind, now, tz),
        )
    else:
        rows = {
            counter.scope_key: counter
            for counter in BudgetCounter.objects.select_for_update()
            .filter(wanted, organization_id=organization_id)
            .order_by("scope_key")
        }
    org_counter = None
    if org_kind is not None:
        org_counter = rows.get(ORG_SCOPE_KEY) or counter_lock(
            organization_id=organization_id, user_id=None, kind=org_kind, tz=tz, now=now
        )
    user_counter = rows.get(user_scope_key(user_id)) or counter_lock(
        organization_id=organization_id, user_id=user_id, kind=user_kind, tz=tz, now=now
    )
    return org_counter, user_counter


_COUNTER_COLUMNS = (
    "id",
    "scope_key",
    "period_key",
    "period_start",
    "period_end",
    "spent_nusd",
    "reserved_nusd",
    "updated_at",
)
_COUNTERS_LOCK_SQL = f"""
SELECT {", ".join(_COUNTER_COLUMNS)} FROM {BudgetCounter._meta.db_table}
WHERE organization_id = %(org)s AND (
    (scope_key = 'org' AND period_key = %(org_period)s)
    OR (scope_key = %(user_scope)s AND period_key = %(user_period)s AND (
        %(org_period)s::text IS NULL OR EXISTS (
            SELECT 1 FROM {BudgetCounter._meta.db_table} o
            WHERE o.organization_id = %(org)s AND o.scope_key = 'org'
                AND o.period_key = %(org_period)s
        )
    ))
)
ORDER BY scope_key
FOR UPDATE
"""  # noqa: S608 - table names from model metadata; every value is a bound parameter


def _counters_lock_sql(
    *, organization_id: int, user_key: tuple[str, str], org_period_key: str | None
) -> dict[str, BudgetCounter]:
    """`counters_lock`'s query on Postgres (the same rows, locks and order), by scope key."""
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNTERS_LOCK_SQL,
            {
                "org": organization_id,
                "org_period": org_period_key,
                "user_scope": user_key[0],
                "user_period": user_key[1],
            },
        )
        rows = cursor.fetchall()
    counters = (
        BudgetCounter(
            organization_id=organization_id, **dict(zip(_COUNTER_COLUMNS, row, strict=True))
        )
        for row in rows
    )
    return {counter.scope_key: counter for counter in counters}


_ADMISSION_READ_SQL = f"""
SELECT o.time_zone, b.id, b.scope, b.user_id, b.limit_usd, b.period, b.enforcement,
       b.warn_at_percent, {", ".join(f"c.{column}" for column in _COUNTER_COLUMNS)}
FROM {Membership._meta.db_table} m
JOIN {Organization._meta.db_table} o ON o.id = m.organization_id
LEFT JOIN {Budget._meta.db_table} b ON b.organization_id = o.id
    AND ((b.scope = 'user' AND b.user_id = %(user)s) OR b.scope IN ('default', 'org'))
LEFT JOIN {BudgetCounter._meta.db_table} c ON c.organization_id = o.id
    AND c.scope_key IN ('org', %(user_scope)s)
    AND c.period_start <= %(now)s AND c.period_end > %(now)s
WHERE m.user_id = %(user)s AND m.organization_id = %(org)s
"""  # noqa: S608 - table names from model metadata; every value is a bound parameter


def admission_read_sql(
    *, organization_id: int, user_id: int, now: datetime
) -> tuple[AdmissionContext, dict[tuple[str, str], BudgetCounter]] | None:
    """Postgres, no locks: `admission_context` plus the org's and the member's counters whose
    period contains `now`, keyed by (scope_key, period_key), in one query. For the optimistic
    admission (`billing.gate`), which re-checks what it read under the counters' locks."""
    with connection.cursor() as cursor:
        cursor.execute(
            _ADMISSION_READ_SQL,
            {
                "user": user_id,
                "org": organization_id,
                "user_scope": user_scope_key(user_id),
                "now": now,
            },
        )
        rows = cursor.fetchall()
    width = 1 + len(_BUDGET_FIELDS)
    context = _context_from_rows(
        organization_id=organization_id, rows=[row[:width] for row in rows]
    )
    if context is None:
        return None
    counters: dict[tuple[str, str], BudgetCounter] = {}
    for row in rows:
        if row[width] is not None:
            counter = BudgetCounter(
                organization_id=organization_id,
                **dict(zip(_COUNTER_COLUMNS, row[width:], strict=True)),
            )
            counters[(counter.scope_key, counter.period_key)] = counter
    return context, counters


def counters_lock_ids(*, counter_ids: list[int]) -> list[BudgetCounter]:
    """Lock counters by id, org counter first (the order every locker uses), in one query."""
    return list(
        BudgetCounter.objects.select_for_update().filter(pk__in=counter_ids).order_by("scope_key")
    )


def counters_move(
    *, counter_ids: list[int], reserved_delta_nusd: int, spent_delta_nusd: int
) -> None:
    """Add the deltas to counters in one UPDATE. The caller must hold the row locks of all of
    them already (`counters_lock` / `counters_lock_ids`), so the order this statement visits
    the rows in cannot deadlock."""
    BudgetCounter.objects.filter(pk__in=counter_ids).update(
        reserved_nusd=F("reserved_nusd") + reserved_delta_nusd,
        spent_nusd=F("spent_nusd") + spent_delta_nusd,
        updated_at=timezone.now(),
    )


# --- Status and notifications ------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetStatus:
    kind: str
    start: datetime
    end: datetime
    spent_usd: Decimal
    reserved_usd: Decimal
    limit_usd: Decimal | None
    enforcement: str

    @property
    def remaining_usd(self) -> Decimal | None:
        """Negative past a soft budget (or after a recorded overshoot)."""
        if self.limit_usd is None:
            return None
        return self.limit_usd - self.spent_usd - self.reserved_usd


def budget_status(*, organization: Organization, user_id: int, now: datetime) -> BudgetStatus:
    """A member's position against the budget that applies to them (own or default), from the
    counter the gate maintains; from the ledger when no call was admitted in the period yet."""
    budgets = budgets_applicable(organization_id=organization.pk, user_id=user_id)
    budget = budgets.user
    kind: PeriodKind = DEFAULT_PERIOD if budget is None else budget.period  # type: ignore[assignment]
    tz = org_tz(organization.time_zone)
    start, end = period_bounds(kind, now, tz)
    counter = BudgetCounter.objects.filter(
        organization=organization,
        scope_key=user_scope_key(user_id),
        period_key=period_key(kind, now, tz),
    ).first()
    if counter is not None:
        spent, reserved = counter.spent_nusd, counter.reserved_nusd
    else:
        spent = _ledger_spent_nusd(
            organization_id=organization.pk, user_id=user_id, start=start, end=end
        )
        reserved = 0
    return BudgetStatus(
        kind=kind,
        start=start,
        end=end,
        spent_usd=nusd_to_usd(spent),
        reserved_usd=nusd_to_usd(max(reserved, 0)),
        limit_usd=None if budget is None else budget.limit_usd,
        enforcement=BudgetEnforcement.HARD if budget is None else budget.enforcement,
    )


def _usd_str(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-9")), "f")


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def budget_updated_notify(*, organization_id: int, user_id: int) -> None:
    """Send the member a `budget.updated` frame. Call through `transaction.on_commit`.

    Best effort, like every group send: a failure is logged, never raised into the caller's path.
    """
    from chat.events import budget_updated_send

    try:
        organization = Organization.objects.get(pk=organization_id)
        status = budget_status(organization=organization, user_id=user_id, now=timezone.now())
        remaining = status.remaining_usd
        budget_updated_send(
            user_id=user_id,
            spent_usd=_usd_str(status.spent_usd),
            limit_usd=None if status.limit_usd is None else _usd_str(status.limit_usd),
            remaining_usd=None if remaining is None else _usd_str(remaining),
            period_end=iso_utc(status.end),
        )
    except Exception:
        logger.warning("budget.updated for user %s not sent", user_id, exc_info=True)


@dataclass(frozen=True)
class BudgetSnapshot:
    """The member's budget as admission saw it, for settlement's frame and warnings decision."""

    user_limit_usd: Decimal | None
    warn: bool


def budget_snapshot(budgets: ApplicableBudgets) -> BudgetSnapshot:
    return BudgetSnapshot(
        user_limit_usd=None if budgets.user is None else budgets.user.limit_usd,
        warn=budgets_warn(budgets),
    )


def budget_updated_event(
    *, counter: BudgetCounter, limit_usd: Decimal | None
) -> BudgetUpdatedEvent:
    """The `budget.updated` frame for a member's counter (as it stands after the caller's
    changes) against their limit: what `budget_updated_notify` would read, without the reads."""
    spent = nusd_to_usd(counter.spent_nusd)
    reserved = nusd_to_usd(max(counter.reserved_nusd, 0))
    return {
        "type": "budget.updated",
        "spent_usd": _usd_str(spent),
        "limit_usd": None if limit_usd is None else _usd_str(limit_usd),
        "remaining_usd": None if limit_usd is None else _usd_str(limit_usd - spent - reserved),
        "period_end": iso_utc(counter.period_end),
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


async def _budget_updated_send_async(user_id: int, event: BudgetUpdatedEvent) -> None:
    from channels.layers import get_channel_layer

    from chat.events import group_name

    try:
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(group_name("user", user_id), dict(event))
    except Exception:
        logger.warning("budget.updated for user %s not sent", user_id, exc_info=True)


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


def _start_send(user_id: int, event: BudgetUpdatedEvent) -> None:
    task = asyncio.ensure_future(_budget_updated_send_async(user_id, event))
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

    async_to_sync(_budget_updated_send_async)(user_id, event)


def budgets_warn(budgets: ApplicableBudgets) -> bool:
    """Whether any applicable budget can warn (so settlement queues the warnings task)."""
    return any(
        budget is not None
        and budget.limit_usd is not None
        and (bool(budget.warn_at_percent) or budget.enforcement == BudgetEnforcement.SOFT)
        for budget in (budgets.user, budgets.org)
    )


def _thresholds(budget: Budget) -> list[int]:
    thresholds = {int(t) for t in budget.warn_at_percent}
    if budget.enforcement == BudgetEnforcement.SOFT:
        thresholds.add(100)  # a soft budget reports its crossing
    return sorted(thresholds)


def _warning_deliver(
    *, recipients: list[tuple[int, str]], threshold: int, status: dict[str, str], whose: str
) -> None:
    """Send one warning in-app to every recipient's `user.<id>` group and by email."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from chat.events import group_name

    event = {"type": "budget.warning", "percent": threshold, **status}
    layer = get_channel_layer()
    for user_id, _email in recipients:
        try:
            if layer is not None:
                async_to_sync(layer.group_send)(group_name("user", user_id), dict(event))
        except Exception:
            logger.warning("budget.warning for user %s not sent", user_id, exc_info=True)
    emails = [email for _user_id, email in recipients if email]
    if not emails:
        return
    try:
        send_mail(
            subject=f"Potluck: {threshold}% of {whose} budget used",
            message=(
                f"{threshold}% of {whose} Potluck budget is used: {status['spent_usd']} of "
                f"{status['limit_usd']} USD spent in the period ending {status['period_end']}."
            ),
            from_email=None,
            recipient_list=emails,
        )
    except Exception:
        logger.warning("budget warning email not sent", exc_info=True)


def budget_warnings_send(*, organization_id: int, user_id: int | None) -> int:
    """Record and send the threshold warnings now due: the member's budget (when `user_id` is
    given) and the org cap. Returns how many warnings were newly recorded.

    Once per threshold and period, also with several workers: each is a `BudgetWarning` insert
    that a unique constraint lets only one transaction make; only the winner sends, after commit.
    When one settlement crosses several thresholds, all are recorded and the highest is sent.
    """
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    tz = org_tz(organization.time_zone)
    now = timezone.now()
    if user_id is not None:
        budgets = budgets_applicable(organization_id=organization_id, user_id=user_id)
        scopes = [(user_id, budgets.user), (None, budgets.org)]
    else:
        org_budget = budget_get(organization=organization, scope=BudgetScope.ORG)
        scopes = [(None, org_budget)]
    created = 0
    for scope_user_id, budget in scopes:
        if budget is None or budget.limit_usd is None or budget.limit_usd <= 0:
            continue
        kind: PeriodKind = budget.period  # type: ignore[assignment]
        key = period_key(kind, now, tz)
        scope_key = ORG_SCOPE_KEY if scope_user_id is None else user_scope_key(scope_user_id)
        counter = BudgetCounter.objects.filter(
            organization_id=organization_id, scope_key=scope_key, period_key=key
        ).first()
        if counter is None:
            continue
        spent = nusd_to_usd(counter.spent_nusd)
        due = [t for t in _thresholds(budget) if spent * 100 >= budget.limit_usd * t]
        new: list[int] = []
        with transaction.atomic():
            for threshold in due:
                try:
                    with transaction.atomic():
                        BudgetWarning.objects.create(
                            organization_id=organization_id,
                            scope_key=scope_key,
                            period_key=key,
                            threshold=threshold,
                            spent_usd=spent,
                            limit_usd=budget.limit_usd,
                        )
                except IntegrityError:
                    continue  # already sent this period, by this or another worker
                new.append(threshold)
            if not new:
                continue
            created += len(new)
            if scope_user_id is None:
                members = Membership.objects.filter(
                    organization_id=organization_id, role__in=ADMIN_ROLES, user__is_active=True
                )
                whose = "the organisation's"
            else:
                members = Membership.objects.filter(user_id=scope_user_id)
                whose = "your"
            recipients = list(members.values_list("user_id", "user__email"))
            status = {
                "spent_usd": _usd_str(spent),
                "limit_usd": _usd_str(budget.limit_usd),
                "period_end": iso_utc(counter.period_end),
            }
            highest = max(new)
            transaction.on_commit(
                lambda r=recipients, t=highest, s=status, w=whose: _warning_deliver(  # type: ignore[misc]
                    recipients=r, threshold=t, status=s, whose=w
                )
            )
    return created


def budget_warnings_scan(*, since: timedelta) -> int:
    """Check warnings for every counter that moved within `since` (the beat safety net for a
    warnings task that was never queued, say because the broker was down at settlement)."""
    cutoff = timezone.now() - since
    moved = (
        BudgetCounter.objects.filter(updated_at__gte=cutoff)
        .values_list("organization_id", "scope_key")
        .distinct()
    )
    created = 0
    for organization_id, scope_key in moved:
        user_id = None if scope_key == ORG_SCOPE_KEY else int(scope_key.split(":", 1)[1])
        created += budget_warnings_send(organization_id=organization_id, user_id=user_id)
    return created


# --- Daily rollups -----------------------------------------------------------------------------


def usage_rollup(*, days_back: int = 1) -> int:
    """Rebuild `UsageDaily` for today and the `days_back` days before it, per organisation (days
    in the org's time zone). An idempotent upsert from the append-only ledger: running it twice,
    or in two workers at once, gives the same rows. Returns the number of rows written."""
    written = 0
    now = timezone.now()
    for organization in Organization.objects.all():
        tz = org_tz(organization.time_zone)
        today = now.astimezone(tz).date()
        for offset in range(days_back, -1, -1):
            written += _rollup_day(organization=organization, day=today - timedelta(days=offset))
    return written


def _rollup_day(*, organization: Organization, day: date) -> int:
    tz = org_tz(organization.time_zone)
    start, end = period_bounds("daily", datetime(day.year, day.month, day.day, 12, tzinfo=tz), tz)
    rows = (
        UsageRecord.objects.filter(
            organization=organization, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values("user_id", "model")
        .annotate(
            n=Count("id"),
            inp=Coalesce(Sum("input_tokens"), 0),
            cached=Coalesce(Sum("cached_input_tokens"), 0),
            out=Coalesce(Sum("output_tokens"), 0),
            reasoning=Coalesce(Sum("reasoning_tokens"), 0),
            cost=Sum("cost_usd"),
        )
    )
    now = timezone.now()
    objs = [
        UsageDaily(
            organization=organization,
            day=day,
            user_id=row["user_id"],
            model=row["model"],
            requests=row["n"],
            input_tokens=row["inp"],
            cached_input_tokens=row["cached"],
            output_tokens=row["out"],
            reasoning_tokens=row["reasoning"],
            cost_usd=Decimal(row["cost"] or 0).quantize(Decimal("1e-9")),
            updated_at=now,
        )
        for row in rows
    ]
    if not objs:
        return 0
    UsageDaily.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["organization", "day", "user", "model"],
        update_fields=[
            "requests",
            "input_tokens",
            "cached_input_tokens",
            "output_tokens",
            "reasoning_tokens",
            "cost_usd",
            "updated_at",
        ],
    )
    return len(objs)
