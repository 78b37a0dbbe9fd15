"""Writing the audit log. Call `audit_record` inside the transaction that makes the change, so the
event exists exactly when the change does. Never put secrets in `data`."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import AuditEvent, Organization


def audit_record(
    *,
    org: Organization,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    target_repr: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. `action` is dotted: `member.role_changed`, `provider_key.created`."""
    if target is not None:
        target_type = target_type or target._meta.model_name or ""
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)[:255]
    event = AuditEvent(
        organization=org,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        target_repr=target_repr[:255],
        data=data or {},
    )
    event.full_clean()
    event.save()
    return event
