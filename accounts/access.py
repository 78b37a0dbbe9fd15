"""The access chokepoint for organisation membership and roles.

Every API, consumer and task resolves "who is this and what may they do" through these functions.
An object outside the caller's organisation answers 404 (existence does not leak); a role that is
too low answers 403.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated

from accounts.models import ADMIN_ROLES, Membership
from core.exceptions import NotFoundError, PermissionDeniedError


def membership_get(*, user: Any) -> Membership:
    """The caller's active membership. Anonymous → 401; a user with no organisation → 404."""
    if user is None or not user.is_authenticated:
        raise NotAuthenticated()
    if not user.is_active:
        raise NotAuthenticated()
    try:
        membership: Membership = user.membership
    except Membership.DoesNotExist as exc:
        raise NotFoundError("You do not belong to an organisation.") from exc
    return membership


def membership_require_admin(*, user: Any) -> Membership:
    """The caller's membership if they are an owner or admin; 403 otherwise."""
    membership = membership_get(user=user)
    if membership.role not in ADMIN_ROLES:
        raise PermissionDeniedError("Only an organisation admin can do this.")
    return membership
