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

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["user", "status"]),
        ]

    def __str__(self) -> str:
        return f"reservation {self.call_id}: {self.reserved_usd} {self.status}"
