"""Reads of provider keys and models, including the one place the engine gets a usable key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.access import membership_get
from accounts.models import Organization
from core.exceptions import ApplicationError
from providers.models import AIModel, ProviderKey

if TYPE_CHECKING:
    from providers.wire.base import ProviderConfig


def provider_key_list(*, org: Organization) -> list[ProviderKey]:
    return list(ProviderKey.objects.filter(organization=org).order_by("created_at", "id"))


def aimodel_list_for_user(*, user: Any, include_disabled: bool = False) -> list[AIModel]:
    """The models `user` may chat with. `include_disabled` is honoured for admins only."""
    membership = membership_get(user=user)
    models = AIModel.objects.filter(organization_id=membership.organization_id).select_related(
        "provider_key"
    )
    if not (include_disabled and membership.is_admin):
        models = models.filter(enabled=True)
    return list(models.order_by("model_id"))


def aimodel_get_for_use(*, org: Organization, model_id: str) -> AIModel:
    """An enabled model of `org`, ready for a provider call (its key is loaded with it)."""
    try:
        return AIModel.objects.select_related("provider_key").get(
            organization=org, model_id=model_id, enabled=True
        )
    except AIModel.DoesNotExist as exc:
        raise ApplicationError(
            f"Unknown or disabled model: {model_id[:200]!r}.",
            code="validation_error",
            status=400,
            detail={"model": model_id[:200]},
        ) from exc


def provider_config_for(*, ai_model: AIModel) -> ProviderConfig:
    """The adapter configuration for a model, with the decrypted key. Keep the result out of
    logs, events and responses: ProviderConfig's repr hides the key, nothing else does."""
    return provider_key_config(provider_key=ai_model.provider_key)


def provider_key_config(*, provider_key: ProviderKey) -> ProviderConfig:
    from providers.wire.base import ProviderConfig

    return ProviderConfig(
        provider=provider_key.provider,
        api_key=provider_key.api_key,
        base_url=provider_key.base_url or None,
    )
