"""Plain factory functions: real rows through the real models, no fixtures library needed."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Membership, Organization, Role, User

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def make_org(*, name: str | None = None, time_zone: str = "UTC", **extra: Any) -> Organization:
    return Organization.objects.create(
        name=name or f"Org {next(_seq)}", time_zone=time_zone, **extra
    )


def make_user(
    *,
    org: Organization,
    role: str = Role.MEMBER,
    email: str | None = None,
    name: str = "",
    password: str = PASSWORD,
    is_active: bool = True,
) -> User:
    user = User.objects.create_user(
        email or f"user{next(_seq)}@example.com", password, name=name, is_active=is_active
    )
    Membership.objects.create(user=user, organization=org, role=role)
    return user
