"""The /v1 API's side of the engine: cached model lookup, the token's own cap, and admission.

Model lookups are served from `accounts.token_services.api_cache` (invalidated on every model,
provider key, user, membership or token change, locally and through Redis). Admission goes
through the one gate, `billing.gate.admission_open`, with source "api" and the token's id; a
token with `max_budget_usd` first locks its row and checks that its ledger spend plus open
reservations leave room for the request (max_tokens is lowered to fit, as the gate does for
budgets; below min(64, max_tokens) the request is refused with budget_exceeded).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.db.models import Sum
from rest_framework import status

from accounts.models import ApiToken, User
from accounts.token_services import TokenPrincipal, api_cache
from billing.gate import Admission, admission_open, prices_from_model
from billing.models import Reservation, ReservationStatus, UsageRecord
from billing.pricing import max_tokens_that_fit, prompt_tokens_upper_bound
from chat.generation import GenerationRequest
from chat.models import AIModel
from chat.provider_selectors import provider_config_for
from chat.provider_services import provider_key_mark_used
from chat.providers import ProviderConfig
from core.exceptions import ApplicationError, outage_error

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


def _token_cap_fit(
    *, principal: TokenPrincipal, ai_model: AIModel, prompt_tokens_upper: int, max_tokens: int
) -> int:
    """max_tokens lowered to what the token's own cap still holds. Call with the token row
    locked, inside the admission's transaction, so concurrent requests see each other."""
    cap = principal.max_budget_usd
    if cap is None:
        return max_tokens
    spent = UsageRecord.objects.filter(api_token_id=principal.token_id).aggregate(
        total=Sum("cost_usd")
    )["total"] or Decimal(0)
    held = Reservation.objects.filter(
        api_token_id=principal.token_id, status=ReservationStatus.OPEN
    ).aggregate(total=Sum("reserved_usd"))["total"] or Decimal(0)
    remaining = cap - spent - held
    prices = prices_from_model(ai_model=ai_model)
    fit = 0 if remaining <= 0 else max_tokens_that_fit(remaining, prompt_tokens_upper, prices)
    if fit < min(64, max_tokens):
        raise ApplicationError(
            "This API token's spending cap is used up.",
            code="budget_exceeded",
            status=status.HTTP_402_PAYMENT_REQUIRED,
            detail={
                "scope": "token",
                "limit_usd": format(cap, "f"),
                "spent_usd": format(spent, "f"),
                "reserved_usd": format(held, "f"),
            },
        )
    return min(max_tokens, fit)


def api_admit(
    request: GenerationRequest, *, principal: TokenPrincipal, resolved: ResolvedModel
) -> tuple[Admission, ProviderConfig]:
    """The engine's admission for /v1 (GenerationRequest.admit): no user or model lookup, the
    token's cap, then the gate. Runs in the ORM thread."""
    ai_model = resolved.ai_model
    upper = prompt_tokens_upper_bound([t.content for t in request.turns], request.system)
    # The gate only reads the user's primary key: no need to load the row.
    user = User(pk=principal.user_id)
    max_tokens = request.max_tokens
    if ai_model.max_output_tokens:
        max_tokens = min(max_tokens, ai_model.max_output_tokens)
    capped = principal.max_budget_usd is not None
    try:
        # A capped token's check and the gate's reservation share one transaction.
        with transaction.atomic() if capped else contextlib.nullcontext():
            if capped:
                # Serialises this token's admissions across processes (a no-op lock on SQLite,
                # whose write transactions are serialised anyway), until the reservation commits.
                list(
                    ApiToken.objects.select_for_update().filter(pk=principal.token_id).values("id")
                )
                max_tokens = _token_cap_fit(
                    principal=principal,
                    ai_model=ai_model,
                    prompt_tokens_upper=upper,
                    max_tokens=max_tokens,
                )
            admission = admission_open(
                user=user,
                ai_model=ai_model,
                prompt_tokens_upper=upper,
                max_tokens=max_tokens,
                source="api",
                api_token_id=principal.token_id,
            )
        now = time.monotonic()
        key_id = ai_model.provider_key_id
        if now - _key_marked.get(key_id, 0.0) >= KEY_MARK_EVERY:
            _key_marked[key_id] = now
            provider_key_mark_used(provider_key_id=key_id)
    except DatabaseError as exc:
        # The token's lock and cap are read outside the gate: the same fail-closed answer as
        # the gate's, so the engine refuses with service_unavailable instead of internal_error.
        outage = outage_error(exc)
        if outage is None:
            raise
        raise outage from exc
    return admission, resolved.config
