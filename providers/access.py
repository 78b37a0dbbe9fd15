"""The access chokepoint for provider keys and models.

Keys are admin-only, whole stop. Models are readable by every member (enabled ones) and writable
by admins. Anything outside the caller's organisation answers 404, checked after the role so a
member learns nothing about ids either (they get 403 for every key id).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from accounts.access import membership_require_admin
from accounts.models import Organization
from core.exceptions import NotFoundError
from providers.models import AIModel, ProviderKey
from providers.services import MODEL_ID_MAX_LENGTH, MODEL_ID_RE


def provider_key_get_for_admin(*, user: Any, provider_key_id: int) -> ProviderKey:
    membership = membership_require_admin(user=user)
    return provider_key_get_in_org(org=membership.organization, provider_key_id=provider_key_id)


def provider_key_get_in_org(*, org: Organization, provider_key_id: int) -> ProviderKey:
    try:
        return ProviderKey.objects.get(organization=org, pk=provider_key_id)
    except ProviderKey.DoesNotExist as exc:
        raise NotFoundError("No such provider key.") from exc


def aimodel_get_for_admin(*, user: Any, model_id: str) -> AIModel:
    """`model_id` as it came in the URL: percent-decoding again is harmless (ids never hold `%`)
    and covers proxies that pass `%2F` through undecoded."""
    membership = membership_require_admin(user=user)
    wanted = unquote(model_id)
    # A string that cannot be a model id names none, and must not reach the query: Postgres
    # refuses text with a NUL byte (`/api/models/%00/` was a 500 there).
    if len(wanted) > MODEL_ID_MAX_LENGTH or not MODEL_ID_RE.fullmatch(wanted):
        raise NotFoundError("No such model.")
    try:
        return AIModel.objects.select_related("provider_key").get(
            organization=membership.organization, model_id=wanted
        )
    except AIModel.DoesNotExist as exc:
        raise NotFoundError("No such model.") from exc
