"""Budgets: what an admin sets, a member's standing against them, warnings and daily rollups.

Who uses what:
- the budget APIs call `budget_set` / `budget_clear` and read `budget_get_or_default`;
- `/api/usage/me/` and the `budget.updated` frame read `budget_status` (one computation);
- settlement (`billing.notices.after_settlement`) and the Celery tasks call
  `budget_warnings_send`; beat runs `budget_warnings_scan`, `warning_emails_send` and
  `usage_rollup`.

Admission and settlement are `billing.gate`'s; the counters they lock are `billing.ledger`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ADMIN_ROLES, Membership, Organization
from billing import ledger, notices, policy
from billing.ledger import DEFAULT_PERIOD, ORG_SCOPE_KEY, CounterKey, user_scope_key
from billing.models import (
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
from core.dates import iso_utc, zone
from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)


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


# --- A member's standing -----------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetStatus:
    """A member's standing: their budget (`policy.Limit`, whose `remaining_nusd` is the one
    computation of what is left) and the period it runs in."""

    kind: str
    start: datetime
    end: datetime
    limit: policy.Limit

    @property
    def spent_usd(self) -> Decimal:
        return policy.usd(self.limit.spent_nusd)

    @property
    def reserved_usd(self) -> Decimal:
        return policy.usd(max(self.limit.reserved_nusd, 0))

    @property
    def limit_usd(self) -> Decimal | None:
        return None if self.limit.limit_nusd is None else policy.usd(self.limit.limit_nusd)

    @property
    def remaining_usd(self) -> Decimal | None:
        """Negative past a soft budget (or after a recorded overshoot)."""
        remaining = self.limit.remaining_nusd
        return None if remaining is None else policy.usd(remaining)


def budget_status(*, organization: Organization, user_id: int, now: datetime) -> BudgetStatus:
    """A member's position against the budget that applies to them (own or default), from the
    counter the gate maintains; from the ledger when no call was admitted in the period yet."""
    budget, _org = ledger.applicable_budgets(organization_id=organization.pk, user_id=user_id)
    kind: PeriodKind = DEFAULT_PERIOD if budget is None else budget.period  # type: ignore[assignment]
    spent, reserved, start, end = ledger.counter_read(
        organization_id=organization.pk,
        key=CounterKey(user_scope_key(user_id), kind, user_id=user_id),
        tz=zone(organization.time_zone),
        now=now,
    )
    counter = BudgetCounter(spent_nusd=spent, reserved_nusd=max(reserved, 0), period_end=end)
    limit = ledger.budget_limit(scope="user", budget=budget, counter=counter)
    return BudgetStatus(kind=kind, start=start, end=end, limit=limit)


def budget_updated_notify(*, organization_id: int, user_id: int) -> None:
    """Send the member a `budget.updated` frame read afresh. Call through `transaction.on_commit`.

    Best effort, like every group send: a failure is logged, never raised into the caller's path.
    """
    try:
        organization = Organization.objects.get(pk=organization_id)
        status = budget_status(organization=organization, user_id=user_id, now=timezone.now())
        event = notices.budget_updated_event(status.limit, period_end=status.end)
        notices.budget_updated_dispatch(user_id=user_id, event=event)
    except Exception:
        logger.warning("budget.updated for user %s not sent", user_id, exc_info=True)


# --- Warnings ------------------------------------------------------------------------------------


def budget_warnings_send(*, organization_id: int, user_id: int | None) -> int:
    """Record and send, in-app, the threshold warnings now due: the member's budget (when
    `user_id` is given) and the org cap; queue their e-mails. Returns how many were recorded.

    Once per threshold and period, also from several processes: each is a `BudgetWarning` insert
    that a unique constraint lets only one transaction make; only the winner sends, after commit.
    When one settlement crosses several thresholds, all are recorded and the highest is sent.
    """
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    tz = zone(organization.time_zone)
    now = timezone.now()
    scopes: list[tuple[int | None, Budget | None]]
    if user_id is not None:
        budgets = ledger.member_budgets(organization_id=organization_id, user_id=user_id)
        if budgets is None:
            return 0
        scopes = [(user_id, budgets.user), (None, budgets.org)]
    else:
        scopes = [(None, budget_get(organization=organization, scope=BudgetScope.ORG))]
    created = 0
    for scope_user_id, budget in scopes:
        if budget is None or budget.limit_usd is None:
            continue
        kind: PeriodKind = budget.period  # type: ignore[assignment]
        key = period_key(kind, now, tz)
        scope_key = ORG_SCOPE_KEY if scope_user_id is None else user_scope_key(scope_user_id)
        counter = BudgetCounter.objects.filter(
            organization_id=organization_id, scope_key=scope_key, period_key=key
        ).first()
        if counter is None:
            continue
        limit = ledger.budget_limit(
            scope="org" if scope_user_id is None else "user", budget=budget, counter=counter
        )
        new = _warnings_record(
            organization_id=organization_id,
            scope_key=scope_key,
            period_key=key,
            thresholds=policy.due_thresholds(limit),
            spent=policy.usd(counter.spent_nusd),
            limit_usd=budget.limit_usd,
        )
        if not new:
            continue
        created += len(new)
        if scope_user_id is None:
            recipients = list(
                Membership.objects.filter(
                    organization_id=organization_id, role__in=ADMIN_ROLES, user__is_active=True
                ).values_list("user_id", flat=True)
            )
        else:
            recipients = [scope_user_id]
        event: notices.BudgetWarningEvent = {
            "type": "budget.warning",
            "percent": max(new),
            "spent_usd": notices.usd_str(policy.usd(counter.spent_nusd)),
            "limit_usd": notices.usd_str(budget.limit_usd),
            "period_end": iso_utc(counter.period_end),
        }
        notices.warning_frames_send(recipients=recipients, event=event)
    if created:
        _warning_emails_queue()
    return created


def _warnings_record(
    *,
    organization_id: int,
    scope_key: str,
    period_key: str,
    thresholds: list[int],
    spent: Decimal,
    limit_usd: Decimal,
) -> list[int]:
    """Insert the warnings not recorded yet; return their thresholds (this caller won them)."""
    new: list[int] = []
    for threshold in thresholds:
        try:
            with transaction.atomic():
                BudgetWarning.objects.create(
                    organization_id=organization_id,
                    scope_key=scope_key,
                    period_key=period_key,
                    threshold=threshold,
                    spent_usd=spent,
                    limit_usd=limit_usd,
                )
        except IntegrityError:
            continue  # already recorded this period, by this or another process
        new.append(threshold)
    return new


def _warning_emails_queue() -> None:
    try:
        from billing.tasks import warning_emails_send as warning_emails_send_task

        warning_emails_send_task.delay()
    except Exception:
        # The beat scan mails every warning not mailed yet when the broker is back.
        logger.warning("warning e-mails not queued", exc_info=True)


def warning_emails_send() -> int:
    """E-mail every recorded warning not mailed yet (the highest threshold of a scope and
    period, once), and mark them. Safe in several workers: rows are claimed under a lock."""
    sent = 0
    with transaction.atomic():
        pending = list(
            BudgetWarning.objects.select_for_update(skip_locked=True)
            .filter(emailed_at__isnull=True)
            .order_by("organization_id", "scope_key", "period_key", "-threshold")
        )
        if not pending:
            return 0
        BudgetWarning.objects.filter(pk__in=[w.pk for w in pending]).update(
            emailed_at=timezone.now()
        )
    seen: set[tuple[int, str, str]] = set()
    for warning in pending:
        scope = (warning.organization_id, warning.scope_key, warning.period_key)
        if scope in seen:
            continue  # a lower threshold crossed together with this one
        seen.add(scope)
        sent += _warning_email(warning)
    return sent


def _warning_email(warning: BudgetWarning) -> int:
    if warning.scope_key == ORG_SCOPE_KEY:
        members = Membership.objects.filter(
            organization_id=warning.organization_id, role__in=ADMIN_ROLES, user__is_active=True
        )
        whose = "the organisation's"
    else:
        members = Membership.objects.filter(
            organization_id=warning.organization_id,
            user_id=int(warning.scope_key.split(":", 1)[1]),
        )
        whose = "your"
    emails = [email for email in members.values_list("user__email", flat=True) if email]
    if not emails:
        return 0
    try:
        send_mail(
            subject=f"Potluck: {warning.threshold}% of {whose} budget used",
            message=(
                f"{warning.threshold}% of {whose} Potluck budget is used: "
                f"{notices.usd_str(warning.spent_usd)} of {notices.usd_str(warning.limit_usd)} "
                f"USD spent in the period {warning.period_key}."
            ),
            from_email=None,
            recipient_list=emails,
        )
    except Exception:
        logger.warning("budget warning e-mail not sent", exc_info=True)
        return 0
    return 1


def budget_warnings_scan(*, since: timedelta) -> int:
    """Check warnings for every counter that moved within `since`, then mail what is unmailed
    (the beat safety net for a settlement that could not send, say the broker was down)."""
    cutoff = timezone.now() - since
    moved = (
        # Counters that can warn: the org's and members' (not API tokens' caps).
        BudgetCounter.objects.filter(updated_at__gte=cutoff)
        .filter(Q(scope_key=ORG_SCOPE_KEY) | Q(scope_key__startswith="user:"))
        .values_list("organization_id", "scope_key")
        .distinct()
    )
    created = 0
    for organization_id, scope_key in moved:
        user_id = None if scope_key == ORG_SCOPE_KEY else int(scope_key.split(":", 1)[1])
        created += budget_warnings_send(organization_id=organization_id, user_id=user_id)
    warning_emails_send()
    return created


# --- Daily rollups -------------------------------------------------------------------------------


def usage_rollup(*, days_back: int = 1) -> int:
    """Rebuild `UsageDaily` for today and the `days_back` days before it, per organisation (days
    in the org's time zone). An idempotent upsert from the append-only ledger: running it twice,
    or in two workers at once, gives the same rows. Returns the number of rows written."""
    written = 0
    now = timezone.now()
    for organization in Organization.objects.all():
        tz = zone(organization.time_zone)
        today = now.astimezone(tz).date()
        for offset in range(days_back, -1, -1):
            written += _rollup_day(organization=organization, day=today - timedelta(days=offset))
    return written


def _rollup_day(*, organization: Organization, day: date) -> int:
    tz = zone(organization.time_zone)
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
