"""Usage read endpoints (CONTRACT "Usage and budgets"). Thin: parse, resolve access, select, render.

Money leaves as decimal strings with 9 places; times as ISO 8601 UTC.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import membership_get, membership_require_admin
from accounts.models import Organization
from billing import budgets, selectors
from billing.models import Budget, BudgetEnforcement, BudgetPeriod, BudgetScope, UsageRecord
from billing.pricing import USD_QUANTUM
from core.dates import iso_utc, zone
from core.ids import id_in_range
from core.serializers import MoneyField, StrictSerializer

GROUP_BY_CHOICES = ("user", "model", "day")


def usd(value: Decimal | None) -> str | None:
    """Money as the contract's decimal string ("0.000123400"), None stays None."""
    if value is None:
        return None
    return format(value.quantize(USD_QUANTUM), "f")


def record_payload(record: UsageRecord) -> dict[str, Any]:
    """The contract's ledger row, plus `user_email`, `cache_write_tokens` and its price."""
    return {
        "id": record.pk,
        "user": record.user_id,
        "user_email": record.user.email,
        "model": record.model,
        "upstream_model": record.upstream_model,
        "provider": record.provider,
        "provider_key": record.provider_key_id,
        "conversation_id": record.conversation_id,
        "message_id": record.message_id,
        "api_token": record.api_token_id,
        "source": record.source,
        "input_tokens": record.input_tokens,
        "cached_input_tokens": record.cached_input_tokens,
        "cache_write_tokens": record.cache_write_tokens,
        "output_tokens": record.output_tokens,
        "reasoning_tokens": record.reasoning_tokens,
        "input_usd_per_mtok": usd(record.input_usd_per_mtok),
        "cached_input_usd_per_mtok": usd(record.cached_input_usd_per_mtok),
        "cache_write_usd_per_mtok": usd(record.cache_write_usd_per_mtok),
        "output_usd_per_mtok": usd(record.output_usd_per_mtok),
        "cost_usd": usd(record.cost_usd),
        "estimated": record.estimated,
        "created_at": iso_utc(record.created_at),
    }


def _parse_bound(
    raw: str | None, *, organization: Organization, name: str, is_end: bool
) -> datetime | None:
    """A `from`/`to` query value as an aware datetime: start inclusive, end exclusive.

    A date (YYYY-MM-DD) is a whole day in the org's time zone, so `to=<date>` includes that day.
    A datetime is taken as is (naive ones in the org's time zone), and `to` includes it.
    """
    if raw is None or raw == "":
        return None
    try:
        day = parse_date(raw)
        moment = None if day is not None else parse_datetime(raw)
    except ValueError:
        day = moment = None
    if day is None and moment is None:
        raise ValidationError({name: ["Use a date (YYYY-MM-DD) or an ISO 8601 datetime."]})
    try:
        if day is not None:
            if is_end:
                day = day + timedelta(days=1)
            bound = selectors.day_start(organization=organization, day=day)
        else:
            assert moment is not None
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=zone(organization.time_zone))
            bound = selectors.range_end_after(moment) if is_end else moment
        # The database compares in UTC: a bound must exist there too (not 0001-01-01 at +14:00).
        bound.astimezone(UTC)
    except OverflowError:
        # The day after 9999-12-31, or a moment outside the years 1 to 9999 in UTC.
        raise ValidationError({name: ["This date is out of range."]}) from None
    return bound


def _range(request: Request, organization: Organization) -> tuple[datetime | None, datetime | None]:
    params = request.query_params
    start = _parse_bound(params.get("from"), organization=organization, name="from", is_end=False)
    end = _parse_bound(params.get("to"), organization=organization, name="to", is_end=True)
    if start is not None and end is not None and start >= end:
        raise ValidationError({"to": ["`to` must not be before `from`."]})
    return start, end


def _positive_int(raw: str | None, *, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not id_in_range(int(raw)):
        raise ValidationError({name: ["Must be a positive integer (at most 2**63 - 1)."]})
    return int(raw)


class UsageMeApi(APIView):
    def get(self, request: Request) -> Response:
        membership = membership_get(user=request.user)
        usage = selectors.usage_for_user(
            user=membership.user, organization=membership.organization, now=timezone.now()
        )
        # The member's own daily series for the period's chart (the admin summary is org-wide).
        by_day = selectors.usage_summary(
            organization=membership.organization,
            group_by="day",
            start=usage.period.start,
            end=usage.period.end,
            user_id=membership.user.pk,
        )
        return Response(
            {
                "period": {
                    "kind": usage.period.kind,
                    "start": iso_utc(usage.period.start),
                    "end": iso_utc(usage.period.end),
                },
                "spent_usd": usd(usage.spent_usd),
                "reserved_usd": usd(usage.reserved_usd),
                "limit_usd": usd(usage.limit_usd),
                "remaining_usd": usd(usage.remaining_usd),
                "by_model": [{**row, "cost_usd": usd(row["cost_usd"])} for row in usage.by_model],
                "by_day": [{**row, "cost_usd": usd(row["cost_usd"])} for row in by_day],  # type: ignore[arg-type]
            }
        )


class UsageRecordPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class UsageRecordListApi(APIView):
    def get(self, request: Request) -> Response:
        membership = membership_require_admin(user=request.user)
        organization = membership.organization
        start, end = _range(request, organization)
        user_id = _positive_int(request.query_params.get("user"), name="user")
        _positive_int(request.query_params.get("page_size"), name="page_size")
        records = selectors.usage_records_in_range(
            organization=organization, start=start, end=end, user_id=user_id
        )
        paginator = UsageRecordPagination()
        page = paginator.paginate_queryset(records, request, view=self) or []
        return paginator.get_paginated_response([record_payload(r) for r in page])


class UsageSummaryApi(APIView):
    def get(self, request: Request) -> Response:
        membership = membership_require_admin(user=request.user)
        organization = membership.organization
        group_by = request.query_params.get("group_by", "user")
        if group_by not in GROUP_BY_CHOICES:
            raise ValidationError({"group_by": [f"Use one of {', '.join(GROUP_BY_CHOICES)}."]})
        start, end = _range(request, organization)
        rows = selectors.usage_summary(
            organization=organization,
            group_by=group_by,  # type: ignore[arg-type]  # checked against GROUP_BY_CHOICES
            start=start,
            end=end,
        )
        return Response([{**row, "cost_usd": usd(row["cost_usd"])} for row in rows])  # type: ignore[arg-type]


CSV_COLUMNS = (
    "id",
    "created_at",
    "user",
    "user_email",
    "model",
    "upstream_model",
    "provider",
    "provider_key",
    "conversation_id",
    "message_id",
    "api_token",
    "source",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "input_usd_per_mtok",
    "cached_input_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "output_usd_per_mtok",
    "cost_usd",
    "estimated",
)


class _Echo:
    """A write-only file for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(records: Iterator[UsageRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for record in records:
        row = record_payload(record)
        yield writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])


class UsageExportCsvApi(APIView):
    def get(self, request: Request) -> StreamingHttpResponse:
        membership = membership_require_admin(user=request.user)
        organization = membership.organization
        start, end = _range(request, organization)
        records = selectors.usage_records_in_range(
            organization=organization, start=start, end=end
        ).iterator(chunk_size=2000)
        today = timezone.now().date().isoformat()
        response = StreamingHttpResponse(_csv_lines(records), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="potluck-usage-{today}.csv"'
        return response


# --- Budgets (admin) ---------------------------------------------------------------------------


class BudgetInput(StrictSerializer):
    limit_usd = MoneyField(allow_null=True, min_value=Decimal(0))
    period = serializers.ChoiceField(choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    enforcement = serializers.ChoiceField(
        choices=BudgetEnforcement.choices, default=BudgetEnforcement.HARD
    )
    warn_at_percent = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=100),
        max_length=10,
        default=list,
    )


def budget_payload(budget: Budget, *, stored: bool) -> dict[str, Any]:
    """The contract's budget shape plus `scope`, `user_id` and `inherited` (True when a member
    has no budget of their own and the org default, shown here, applies)."""
    return {
        "scope": budget.scope,
        "user_id": budget.user_id,
        "limit_usd": usd(budget.limit_usd),
        "period": budget.period,
        "enforcement": budget.enforcement,
        "warn_at_percent": list(budget.warn_at_percent),
        "inherited": not stored and budget.scope == BudgetScope.USER,
        "updated_at": iso_utc(budget.updated_at) if stored else None,
    }


class _BudgetApi(APIView):
    scope: str = BudgetScope.DEFAULT

    def _target(self, organization: Organization, user_id: int | None) -> int | None:
        return None

    def get(self, request: Request, user_id: int | None = None) -> Response:
        organization = membership_require_admin(user=request.user).organization
        target = self._target(organization, user_id)
        budget, stored = budgets.budget_get_or_default(
            organization=organization, scope=self.scope, user_id=target
        )
        return Response(budget_payload(budget, stored=stored))

    def put(self, request: Request, user_id: int | None = None) -> Response:
        organization = membership_require_admin(user=request.user).organization
        target = self._target(organization, user_id)
        data = BudgetInput(data=request.data)
        data.is_valid(raise_exception=True)
        budget = budgets.budget_set(
            organization=organization,
            actor=request.user,
            scope=self.scope,
            user_id=target,
            **data.validated_data,
        )
        return Response(budget_payload(budget, stored=True))


class BudgetUserApi(_BudgetApi):
    scope = BudgetScope.USER

    def _target(self, organization: Organization, user_id: int | None) -> int | None:
        # Another organisation's user (or nobody) answers 404: existence does not leak.
        return selectors.member_user_id(organization=organization, user_id=user_id or 0)

    def delete(self, request: Request, user_id: int) -> Response:
        """An extension: drop the member's own budget, so the org default applies again."""
        organization = membership_require_admin(user=request.user).organization
        target = self._target(organization, user_id)
        assert target is not None  # _target raises instead of returning None
        budgets.budget_clear(organization=organization, actor=request.user, user_id=target)
        return Response(status=204)


class BudgetDefaultApi(_BudgetApi):
    scope = BudgetScope.DEFAULT


class BudgetOrgApi(_BudgetApi):
    scope = BudgetScope.ORG
