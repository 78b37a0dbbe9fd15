"""Budgets: what an admin sets, the per-period counters the gate locks, and the warnings.

Who uses what:
- the budget APIs call `budget_set` / `budget_clear` and read `budget_get_or_default`;
- `billing.gate` calls `budgets_applicable` and `counter_lock` inside admission's transaction;
- the Celery tasks call `budget_warnings_send` and `usage_rollup`.

Money in counters is integer nano-USD (`usd_to_nusd` / `nusd_to_usd`); everything else is Decimal.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
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


def counters_move(
    *, counter_ids: list[int], reserved_delta_nusd: int, spent_delta_nusd: int
) -> None:
    """Add the deltas to counters, org counter first (ids in lock order), atomically per row."""
    for counter_id in counter_ids:
        BudgetCounter.objects.filter(pk=counter_id).update(
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
