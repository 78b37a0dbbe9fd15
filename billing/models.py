"""The usage ledger: one append-only row per provider call, with the prices it was charged at."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization

MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 9}


class UsageSource(models.TextChoices):
    CHAT = "chat", "Chat"
    API = "api", "API"
    SYSTEM = "system", "System"


class UsageRecord(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="usage_records"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="usage_records"
    )
    # Plain values, not foreign keys that could vanish: the ledger outlives models, keys and
    # conversations (deleting a conversation keeps its usage).
    model = models.CharField(max_length=200)
    upstream_model = models.CharField(max_length=200)
    provider = models.CharField(max_length=32)
    provider_key_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    api_token_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=UsageSource.choices)
    # Idempotency: one row per provider call, whatever path settles it (engine, reaper).
    call_id = models.CharField(max_length=64, unique=True)
    input_tokens = models.PositiveIntegerField(default=0)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    input_usd_per_mtok = models.DecimalField(**MONEY)
    cached_input_usd_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    cache_write_usd_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    output_usd_per_mtok = models.DecimalField(**MONEY)
    cost_usd = models.DecimalField(**MONEY)
    estimated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"usage {self.pk}: {self.model} {self.cost_usd}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Usage records are append-only.")
        super().save(*args, **kwargs)


class ReservationStatus(models.TextChoices):
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"
    # Failed before any output: nothing was charged and the reserved amount is free again.
    RELEASED = "released", "Released"


class Reservation(models.Model):
    """The worst-case cost of one provider call, held from admission until settlement.

    Written by `billing.gate.admission_open` before the provider is called; closed exactly once by
    `admission_settle` (or by the reaper, at the reserved amount, when the process died). The price
    snapshot lives here so that settlement charges the prices the call was admitted at.
    """

    call_id = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="reservations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations"
    )
    model = models.CharField(max_length=200)
    upstream_model = models.CharField(max_length=200)
    provider = models.CharField(max_length=32)
    provider_key_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    api_token_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=UsageSource.choices)
    input_usd_per_mtok = models.DecimalField(**MONEY)
    cached_input_usd_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    cache_write_usd_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    output_usd_per_mtok = models.DecimalField(**MONEY)
    prompt_tokens_upper = models.PositiveBigIntegerField()
    max_tokens = models.PositiveBigIntegerField()
    reserved_usd = models.DecimalField(**MONEY)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped by long-running calls; the reaper only takes open reservations whose heartbeat is old.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    usage_record = models.OneToOneField(
        UsageRecord,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reservation",
    )
    # The budget counters this reservation is held against (None: no budget of that scope).
    # Settlement moves `reserved_usd` out of their `reserved_nusd` and the cost into `spent_nusd`.
    user_counter = models.ForeignKey(
        "BudgetCounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    org_counter = models.ForeignKey(
        "BudgetCounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # An API token's spending cap (scope_key `token:<id>`, period `total`).
    token_counter = models.ForeignKey(
        "BudgetCounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["user", "status"]),
        ]

    def __str__(self) -> str:
        return f"reservation {self.call_id}: {self.reserved_usd} {self.status}"


# --- Budgets ------------------------------------------------------------------------------------

NANO_PER_USD = 1_000_000_000


class BudgetScope(models.TextChoices):
    USER = "user", "User"
    # Applies to every member without a budget of their own.
    DEFAULT = "default", "Default"
    # A cap on the whole organisation's spend.
    ORG = "org", "Organisation"


class BudgetPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    TOTAL = "total", "Total"


class BudgetEnforcement(models.TextChoices):
    HARD = "hard", "Hard"
    SOFT = "soft", "Soft"


class Budget(models.Model):
    """What an admin set: a limit (None = unlimited) per period, hard or soft, with warnings.

    One row per member with their own budget (scope `user`), at most one `default` and one `org`
    row per organisation. What has been spent lives in `BudgetCounter`, not here.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="budgets")
    scope = models.CharField(max_length=16, choices=BudgetScope.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budgets",
    )
    limit_usd = models.DecimalField(**MONEY, null=True, blank=True)
    period = models.CharField(
        max_length=16, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY
    )
    enforcement = models.CharField(
        max_length=8, choices=BudgetEnforcement.choices, default=BudgetEnforcement.HARD
    )
    warn_at_percent = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=models.Q(scope="user"),
                name="budget_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["organization", "scope"],
                condition=models.Q(scope__in=["default", "org"]),
                name="budget_one_default_and_org_cap",
            ),
            models.CheckConstraint(
                condition=models.Q(scope="user", user__isnull=False)
                | models.Q(scope__in=["default", "org"], user__isnull=True),
                name="budget_user_iff_user_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"budget {self.scope} {self.user_id or ''}: {self.limit_usd} {self.period}"


class BudgetCounter(models.Model):
    """Spend and in-flight reservations of one budget scope in one period, in nano-USD.

    `scope_key` is `org` or `user:<id>`; `period_key` comes from `billing.periods.period_key`, so a
    new period is a new row and nothing is ever reset. Integers, not decimals: SQLite stores
    decimals as floats, and these sums must be exact. Admission locks these rows (org row first,
    then the user row) so that concurrent requests in every process see each other's reservations.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="budget_counters"
    )
    scope_key = models.CharField(max_length=32)
    period_key = models.CharField(max_length=32)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    spent_nusd = models.BigIntegerField(default=0)
    reserved_nusd = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "scope_key", "period_key"],
                name="budget_counter_one_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"counter {self.scope_key} {self.period_key}: {self.spent_nusd}+{self.reserved_nusd}"


class BudgetWarning(models.Model):
    """A threshold warning that was sent. The unique constraint makes it once per period, even
    when two workers check at the same moment: the second insert fails and sends nothing."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="budget_warnings"
    )
    scope_key = models.CharField(max_length=32)
    period_key = models.CharField(max_length=32)
    threshold = models.PositiveSmallIntegerField()
    spent_usd = models.DecimalField(**MONEY)
    limit_usd = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(default=timezone.now)
    # In-app frames go out from the process that recorded the warning; e-mail from Celery, which
    # marks the row here, so a warning whose task was never queued is mailed by the next scan.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "scope_key", "period_key", "threshold"],
                name="budget_warning_once_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"warning {self.scope_key} {self.period_key} {self.threshold}%"


class UsageDaily(models.Model):
    """Ledger totals per organisation, local day (org time zone), user and model.

    Rebuilt from the ledger by the `usage_rollup` task with an idempotent upsert; dashboards read
    it for past days instead of scanning the ledger.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="usage_daily"
    )
    day = models.DateField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_daily"
    )
    model = models.CharField(max_length=200)
    requests = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    cached_input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    reasoning_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY, default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "day", "user", "model"], name="usage_daily_unique_row"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["organization", "day"])]

    def __str__(self) -> str:
        return f"usage {self.day} {self.user_id} {self.model}: {self.cost_usd}"
