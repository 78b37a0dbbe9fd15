"""Reads for accounts: members with their spend, invitations, audit events."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts import extensions
from accounts.models import AuditEvent, Invitation, Membership, Organization
from core.dates import zone
from core.exceptions import NotFoundError


def month_start(*, org: Organization, now: datetime | None = None) -> datetime:
    """The start of the current calendar month in the org's time zone (default spend period)."""
    local = (now or timezone.now()).astimezone(zone(org.time_zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def member_list(*, org: Organization) -> QuerySet[Membership]:
    """The organisation's members with their user, and what the apps above add (billing:
    `spent_usd`, their ledger spend this calendar month), in one query."""
    members = Membership.objects.filter(organization=org).select_related("user")
    for annotate in extensions.member_annotators:
        members = annotate(org, members)
    return members.order_by("user__email")


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
