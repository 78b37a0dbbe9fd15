"""Writes for organisations, members and invitations. Each change that matters for security is
audit-logged inside the same transaction."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import (
    ADMIN_ROLES,
    Invitation,
    Membership,
    Organization,
    Role,
    SetupMarker,
    User,
)
from core.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _validate_time_zone(time_zone: str) -> None:
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationError({"time_zone": [f"Unknown time zone {time_zone!r}."]})


def _validate_new_user(*, email: str, password: str, name: str) -> None:
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    try:
        validate_password(password, user=User(email=email, name=name))
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


def org_create(
    *,
    name: str,
    owner_email: str,
    owner_password: str,
    owner_name: str = "",
    time_zone: str = "UTC",
) -> tuple[Organization, User]:
    """Create an organisation with its first owner (used by `create_org` and by setup)."""
    _validate_time_zone(time_zone)
    email = owner_email.strip().lower()
    _validate_new_user(email=email, password=owner_password, name=owner_name)
    with transaction.atomic():
        org = Organization(name=name, time_zone=time_zone)
        org.full_clean()
        org.save()
        user = User.objects.create_user(email, owner_password, name=owner_name)
        Membership.objects.create(user=user, organization=org, role=Role.OWNER)
        audit_record(org=org, actor=user, action="org.created", target=org)
    return org, user


def setup_complete(
    *, org_name: str, name: str, email: str, password: str, time_zone: str = "UTC"
) -> User:
    """First-run setup: only while no user exists, and only once even under concurrent requests.

    The SetupMarker singleton row is the lock: two concurrent setups both try to insert pk=1 and
    the database lets exactly one commit; the other gets an IntegrityError and answers 409.
    """
    if User.objects.exists() or SetupMarker.objects.exists():
        raise ConflictError("Potluck is already set up. Log in instead.", code="setup_done")
    try:
        with transaction.atomic():
            SetupMarker.objects.create(pk=1)
            if User.objects.exists():
                raise ConflictError("Potluck is already set up. Log in instead.", code="setup_done")
            _org, user = org_create(
                name=org_name,
                owner_email=email,
                owner_password=password,
                owner_name=name,
                time_zone=time_zone,
            )
    except IntegrityError as exc:
        raise ConflictError(
            "Potluck is already set up. Log in instead.", code="setup_done"
        ) from exc
    return user


def org_update(*, org: Organization, actor: User, data: dict[str, Any]) -> Organization:
    if "time_zone" in data:
        _validate_time_zone(data["time_zone"])
    if data.get("title_model"):
        from providers.models import AIModel

        if not AIModel.objects.filter(
            organization=org, model_id=data["title_model"], enabled=True
        ).exists():
            raise ValidationError({"title_model": ["Not an enabled model of this organisation."]})
    changed = {}
    for field, raw in data.items():
        value = "" if raw is None and field == "title_model" else raw
        if getattr(org, field) != value:
            changed[field] = {"from": getattr(org, field), "to": value}
            setattr(org, field, value)
    if not changed:
        return org
    with transaction.atomic():
        org.full_clean()
        org.save(update_fields=list(changed))
        audit_record(org=org, actor=actor, action="org.updated", target=org, data=changed)
    return org


def _owner_count(org: Organization) -> int:
    return Membership.objects.filter(
        organization=org, role=Role.OWNER, user__is_active=True
    ).count()


def member_update(
    *,
    actor_membership: Membership,
    membership: Membership,
    role: str | None = None,
    is_active: bool | None = None,
) -> Membership:
    """Change a member's role or active state.

    Rules: only admins act; an admin cannot change an owner or make anyone owner (only owners
    can); nobody deactivates themselves; the last active owner can be neither demoted nor
    deactivated. Runs under a row lock on the org's owner memberships so two concurrent demotions
    cannot both pass the last-owner check.
    """
    org = actor_membership.organization
    actor = actor_membership.user
    if actor_membership.role not in ADMIN_ROLES:
        raise PermissionDeniedError("Only an organisation admin can change members.")
    target_is_owner = membership.role == Role.OWNER
    if actor_membership.role != Role.OWNER and (target_is_owner or role == Role.OWNER):
        raise PermissionDeniedError("Only an owner can change owners or grant ownership.")
    if is_active is False and membership.user_id == actor.pk:
        raise ApplicationError("You cannot deactivate yourself.", code="validation_error")
    with transaction.atomic():
        list(
            Membership.objects.select_for_update()
            .filter(organization=org, role=Role.OWNER)
            .order_by("pk")
        )
        membership.refresh_from_db()
        user = membership.user
        demoting_owner = membership.role == Role.OWNER and role is not None and role != Role.OWNER
        deactivating_owner = membership.role == Role.OWNER and is_active is False
        if (demoting_owner or deactivating_owner) and user.is_active and _owner_count(org) <= 1:
            raise ApplicationError(
                "An organisation needs at least one owner: make someone else owner first.",
                code="last_owner",
            )
        if role is not None and role != membership.role:
            old = membership.role
            membership.role = role
            membership.full_clean()
            membership.save(update_fields=["role"])
            audit_record(
                org=org,
                actor=actor,
                action="member.role_changed",
                target=user,
                data={"from": old, "to": role},
            )
            _sockets_close_on_commit(user_id=user.pk)
        if is_active is not None and is_active != user.is_active:
            user.is_active = is_active
            user.save(update_fields=["is_active"])
            audit_record(
                org=org,
                actor=actor,
                action="member.reactivated" if is_active else "member.deactivated",
                target=user,
            )
            if not is_active:
                _sockets_close_on_commit(user_id=user.pk)
    return membership


def _sockets_close_on_commit(*, user_id: int) -> None:
    # Open chat sockets trust the user they saw at connect: close them once the change is stored.
    from accounts.socket_access import user_sockets_close

    transaction.on_commit(lambda: user_sockets_close(user_id=user_id))


def invitation_create(
    *,
    actor_membership: Membership,
    email: str,
    role: str,
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its token (shown once; only a hash is stored)."""
    org = actor_membership.organization
    if actor_membership.role not in ADMIN_ROLES:
        raise PermissionDeniedError("Only an organisation admin can invite.")
    if role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDeniedError("Only an owner can invite another owner.")
    email = email.strip().lower()
    # Only this organisation's own members are refused: whether the address has an account in
    # another organisation is none of this admin's business, so that case answers exactly like
    # a new address (accepting then fails for the address's owner alone).
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise ValidationError({"email": ["This person is already a member."]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation(
            organization=org,
            email=email,
            role=role,
            token_hash=_token_hash(token),
            created_by=actor_membership.user,
            expires_at=timezone.now() + timedelta(hours=settings.INVITATION_TTL_HOURS),
        )
        invitation.full_clean()
        invitation.save()
        audit_record(
            org=org,
            actor=actor_membership.user,
            action="invitation.created",
            target=invitation,
            data={"email": email, "role": role},
        )
    return invitation, token


def invitation_revoke(*, actor_membership: Membership, invitation: Invitation) -> Invitation:
    if invitation.status != "pending":
        raise ApplicationError(
            f"This invitation is already {invitation.status}.", code="validation_error"
        )
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            org=invitation.organization,
            actor=actor_membership.user,
            action="invitation.revoked",
            target=invitation,
        )
    return invitation


def invitation_get_by_token(*, token: str) -> Invitation:
    """The pending invitation with this token; any other state answers 404 with its reason."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if invitation is None:
        raise NotFoundError("This invitation link is not valid.")
    status = invitation.status
    if status != "pending":
        raise NotFoundError(f"This invitation has been {status}.", detail={"status": status})
    return invitation


def invitation_accept(*, token: str, name: str, password: str) -> User:
    """Accept an invitation: single use even under concurrent accepts (row lock on the invite)."""
    with transaction.atomic():
        invitation = invitation_get_by_token(token=token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != "pending":
            raise NotFoundError(
                f"This invitation has been {invitation.status}.",
                detail={"status": invitation.status},
            )
        _validate_new_user(email=invitation.email, password=password, name=name)
        user = User.objects.create_user(invitation.email, password, name=name)
        Membership.objects.create(
            user=user, organization=invitation.organization, role=invitation.role
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            org=invitation.organization,
            actor=user,
            action="invitation.accepted",
            target=invitation,
            data={"user_id": user.pk, "role": invitation.role},
        )
    return user
