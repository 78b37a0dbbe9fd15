"""Read-only Django admin for the ledger and reservations: money is written by the gate only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.models import Reservation, UsageRecord


class _ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "organization", "user", "model", "cost_usd", "estimated")
    list_filter = ("source", "estimated", "provider")
    search_fields = ("call_id", "model", "user__email")
    list_select_related = ("organization", "user")
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "organization", "user", "model", "reserved_usd", "status")
    list_filter = ("status", "source")
    search_fields = ("call_id", "model", "user__email")
    list_select_related = ("organization", "user")
