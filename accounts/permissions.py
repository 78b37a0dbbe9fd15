"""DRF permission classes built on accounts.access (the chokepoint)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.access import membership_get, membership_require_admin


class IsOrgMember(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        membership_get(user=request.user)
        return True


class IsOrgAdmin(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        membership_require_admin(user=request.user)
        return True
