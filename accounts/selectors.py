"""Reads for accounts: members with their spend, invitations, audit events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import AuditEvent, Invitation, Membership, Organization
from core.dates import zone
from core.exceptions import NotFoundError


def month_start(*, org: Organization, now: datetime | None = None) -> datetime:
    """The start of the current calendar month in the org's time zone (default spend period)."""
    local = (now or timezone.now()).astimezone(zone(org.time_zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def member_list(*, org: Organization) -> QuerySet[Membership]:
    """Members with `spent_usd`, their ledger spend this calendar month, in one query."""
    from billing.models import UsageRecord

    spend = (
        UsageRecord.objects.filter(
            organization=org, user=OuterRef("user_id"), created_at__gte=month_start(org=org)
        )
        .values("user")
        .annotate(total=Sum("cost_usd"))
        .values("total")
    )
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=9)
    return (
        Membership.objects.filter(organization=org)
        .select_related("user")
        .annotate(
            spent_usd=Coalesce(
                Subquery(spend, output_field=money), Value(Decimal(0)), output_field=money
            )
        )
        .order_by("user__email")
    )


def member_get(*, org: Organization, user_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("user", "organization")
        .filter(organization=org, user_id=user_id)
        .first()
    )
    if membership is None:
        raise NotFoundError()
    return membership


def invitation_list(*, org: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=org).order_by("-created_at", "-id")


def invitation_get(*, org: Organization, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(organization=org, pk=invitation_id).first()
    if invitation is None:
        raise NotFoundError()
    return invitation


def audit_event_list(*, org: Organization, limit: int = 100) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organization=org).select_related("actor")[:limit]
