"""The bundled price catalog: lookups per provider, gateways, and unknown models. No database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.catalog import catalog_price_lookup


@pytest.mark.parametrize(
    ("provider", "name", "base_url", "expected"),
    [
        ("openai", "gpt-4o-mini", None, ("0.15", "0.6", "0.075", None)),
        ("openai", "gpt-4.1-nano", None, ("0.1", "0.4", "0.025", None)),
        ("anthropic", "claude-haiku-4-5", None, ("1", "5", "0.1", "1.25")),
        ("mistral", "mistral-small-latest", None, ("0.15", "0.6", "0.015", None)),
        ("gemini", "gemini-2.5-flash", None, ("0.3", "2.5", "0.03", None)),
        # Long-context tiers: the base tier is the model's price.
        ("gemini", "gemini-2.5-pro", None, ("1.25", "10", "0.125", None)),
        # Gateways: by base URL, by vendor prefix, by a name only one provider lists.
        (
            "openai_compatible",
            "openai/gpt-4o",
            "https://openrouter.ai/api/v1",
            ("2.5", "10", "1.25", None),
        ),
        ("openai_compatible", "openai/gpt-4o", None, ("2.5", "10", "1.25", None)),
        (
            "openai_compatible",
            "llama-3.1-8b-instant",
            "https://api.groq.com/openai/v1",
            ("0.05", "0.08", None, None),
        ),
        ("openai_compatible", "gpt-4o-mini", "http://vllm:8000/v1", ("0.15", "0.6", "0.075", None)),
    ],
)
def test_it_finds_list_prices(provider, name, base_url, expected) -> None:
    price = catalog_price_lookup(
        provider=provider, model_name=name, base_url=base_url, at=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert price is not None
    got = (
        price.input_usd_per_mtok,
        price.output_usd_per_mtok,
        price.cached_input_usd_per_mtok,
        price.cache_write_usd_per_mtok,
    )
    assert got == tuple(None if v is None else Decimal(v) for v in expected)
    assert all(isinstance(v, Decimal) for v in got if v is not None)


@pytest.mark.parametrize(
    ("provider", "name", "base_url"),
    [
        ("openai", "my-private-finetune", None),
        ("openai", "", None),
        ("openai", "   ", None),
        ("anthropic", "gpt-4o-mini", None),  # another provider's model is not this one's price
        ("openai_compatible", "llama3.2:latest", "http://localhost:11434/v1"),
        ("openai_compatible", "qwen3", None),
        ("bedrock", "gpt-4o-mini", None),
    ],
)
def test_it_returns_none_for_unknown_models(provider, name, base_url) -> None:
    assert catalog_price_lookup(provider=provider, model_name=name, base_url=base_url) is None


def test_it_matches_case_insensitively_and_dated_names() -> None:
    upper = catalog_price_lookup(provider="openai", model_name="GPT-4o-mini")
    dated = catalog_price_lookup(provider="openai", model_name="gpt-4o-mini-2024-07-18")
    assert upper is not None
    assert dated is not None
    assert upper.input_usd_per_mtok == dated.input_usd_per_mtok == Decimal("0.15")
