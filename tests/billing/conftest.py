"""Billing fixtures: a provider key and a priced model per organisation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Organization, User
from billing.gate import Admission, admission_open
from providers.models import AIModel, ProviderKey


def make_model(
    *,
    org: Organization,
    model_id: str = "gpt-4o-mini",
    provider: str = "openai",
    input_price: str = "0.15",
    output_price: str = "0.60",
    cached_price: str | None = "0.075",
    cache_write_price: str | None = None,
    max_output_tokens: int | None = 16384,
) -> AIModel:
    key = ProviderKey.objects.create(
        organization=org, provider=provider, label=f"{provider} key", api_key="sk-test-1234"
    )
    return AIModel.objects.create(
        organization=org,
        provider_key=key,
        model_id=model_id,
        name=model_id,
        input_usd_per_mtok=Decimal(input_price),
        output_usd_per_mtok=Decimal(output_price),
        cached_input_usd_per_mtok=None if cached_price is None else Decimal(cached_price),
        cache_write_usd_per_mtok=None if cache_write_price is None else Decimal(cache_write_price),
        max_output_tokens=max_output_tokens,
    )


@pytest.fixture
def acme_model(acme: Organization) -> AIModel:
    return make_model(org=acme)


@pytest.fixture
def globex_model(globex: Organization) -> AIModel:
    return make_model(org=globex)


def gate_open(*, user: User, ai_model: AIModel, **kwargs: Any) -> Admission:
    """`billing.gate.admission_open` for a user and one of their org's models, as the engine
    calls it (the model's price snapshot)."""
    from chat.generation import model_price

    return admission_open(
        organization_id=ai_model.organization_id,
        user_id=user.pk,
        model=model_price(ai_model),
        **kwargs,
    )
