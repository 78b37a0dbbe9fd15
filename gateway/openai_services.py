"""The /v1 API's side of the engine: cached model lookup, the token's own cap, and admission.

Model lookups are served from `gateway.token_services.api_cache` (invalidated on every model,
provider key, user, membership or token change, locally and through Redis). Admission goes
through the engine's one admission step (`chat.generation.admission_open_for`), with source "api";
a token's `max_budget_usd` is one more budget the gate holds the call against (scope "token").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rest_framework import status

from billing.gate import Admission, TokenCap
from chat.generation import GenerationRequest, admission_open_for
from core.exceptions import ApplicationError
from gateway.token_services import TokenPrincipal, api_cache
from providers.models import AIModel
from providers.selectors import provider_config_for
from providers.services import provider_key_mark_used
from providers.wire.base import ProviderConfig

KEY_MARK_EVERY = 60.0  # seconds between two last_used_at writes of one provider key
_key_marked: dict[int, float] = {}


@dataclass(frozen=True)
class ResolvedModel:
    ai_model: AIModel
    config: ProviderConfig


def _org_models_load(*, organization_id: int) -> dict[str, ResolvedModel]:
    models = AIModel.objects.filter(organization_id=organization_id, enabled=True).select_related(
        "provider_key"
    )
    return {m.model_id: ResolvedModel(m, provider_config_for(ai_model=m)) for m in models}


def org_models_cached(*, organization_id: int) -> dict[str, ResolvedModel] | None:
    """The org's enabled models if cached (no query), else None: load them with
    `org_models_load_cached` in the ORM thread."""
    cached: dict[str, ResolvedModel] | None = api_cache.get(("models", organization_id))
    return cached


def org_models_load_cached(*, organization_id: int) -> dict[str, ResolvedModel]:
    models = _org_models_load(organization_id=organization_id)
    api_cache.put(("models", organization_id), models)
    return models


def model_for_token(
    *, principal: TokenPrincipal, models: dict[str, ResolvedModel], model_id: str
) -> ResolvedModel:
    """The model a request names, if enabled in the org and allowed to the token; 404 otherwise
    (a model the token may not use looks the same as one that does not exist)."""
    resolved = models.get(model_id)
    if resolved is None or not principal.allows(model_id):
        raise ApplicationError(
            f"The model {model_id[:200]!r} does not exist or you do not have access to it.",
            code="not_found",
            status=status.HTTP_404_NOT_FOUND,
            detail={"param": "model"},
        )
    return resolved


def api_admit(
    request: GenerationRequest, *, principal: TokenPrincipal, resolved: ResolvedModel
) -> tuple[Admission, ProviderConfig]:
    """The engine's admission for /v1 (GenerationRequest.admit): no user or model lookup; the
    token's own cap is one more budget the gate applies. Runs in the ORM thread."""
    cap = principal.max_budget_usd
    admission = admission_open_for(
        request,
        user_id=principal.user_id,
        ai_model=resolved.ai_model,
        token_cap=None if cap is None else TokenCap(token_id=principal.token_id, limit_usd=cap),
    )
    now = time.monotonic()
    key_id = resolved.ai_model.provider_key_id
    if now - _key_marked.get(key_id, 0.0) >= KEY_MARK_EVERY:
        _key_marked[key_id] = now
        provider_key_mark_used(provider_key_id=key_id)
    return admission, resolved.config
