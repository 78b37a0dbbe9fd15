"""The built-in price catalog: list prices per million tokens from the bundled genai-prices data.

The data ships inside the installed `genai_prices` package and is never fetched at run time (no
`UpdatePrices`): a self-hosted portal must price the same way offline, and a price only changes
when an operator upgrades the package. Prices are only used to prefill `AIModel` rows; the ledger
snapshots the model's own prices, so nothing here rewrites history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import data_snapshot, types

# Our provider ids → genai-prices provider ids. openai_compatible has no single provider: see
# `_find_openai_compatible`.
_PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "mistral": "mistral",
    "gemini": "google",
}

# Tried first when an openai_compatible model name matches nothing by itself: the big providers
# whose models are most often re-served by gateways (OpenRouter, Together, vLLM, ...).
_PREFERRED_FALLBACKS = ("openai", "anthropic", "google", "mistral", "meta", "deepseek")


@dataclass(frozen=True)
class CatalogPrice:
    """USD per million tokens; `cached_input`/`cache_write` are None when the catalog has none."""

    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal | None
    cache_write_usd_per_mtok: Decimal | None
    catalog_provider: str
    catalog_model: str


def catalog_price_lookup(
    *,
    provider: str,
    model_name: str,
    base_url: str | None = None,
    at: datetime | None = None,
) -> CatalogPrice | None:
    """The catalog price of `model_name` served by our `provider`, or None when it is unknown.

    `base_url` only helps openai_compatible keys (e.g. https://api.groq.com/openai/v1 selects
    Groq's prices). `at` picks time-dependent prices; default now.
    """
    name = model_name.strip()
    if not name:
        return None
    snapshot = data_snapshot.get_snapshot()
    found: tuple[types.Provider, types.ModelInfo] | None
    if provider in _PROVIDER_IDS:
        found = _find_in(snapshot, _PROVIDER_IDS[provider], name)
    elif provider == "openai_compatible":
        found = _find_openai_compatible(snapshot, name, base_url or None)
    else:
        found = None
    if found is None:
        return None
    catalog_provider, model = found
    return _price_of(catalog_provider, model, at or datetime.now(tz=UTC))


def _find_in(
    snapshot: data_snapshot.DataSnapshot, provider_id: str, name: str
) -> tuple[types.Provider, types.ModelInfo] | None:
    try:
        return snapshot.find_provider_model(name, None, provider_id, None)
    except LookupError:
        return None


def _find_openai_compatible(
    snapshot: data_snapshot.DataSnapshot, name: str, base_url: str | None
) -> tuple[types.Provider, types.ModelInfo] | None:
    # 1. The gateway itself is in the catalog (Groq, OpenRouter, Together, DeepSeek, ...).
    if base_url:
        try:
            return snapshot.find_provider_model(name, None, None, base_url)
        except LookupError:
            pass
    # 2. The name alone identifies a provider (gpt-*, claude-*, deepseek-*, ...).
    try:
        return snapshot.find_provider_model(name, None, None, None)
    except LookupError:
        pass
    # 3. Gateway style "vendor/model" (OpenRouter's "openai/gpt-4o").
    if "/" in name:
        vendor, _, rest = name.partition("/")
        if found := _find_in(snapshot, vendor, rest):
            return found
    # 4. Any provider that lists the name explicitly, big providers first.
    lowered = name.lower()
    ordered = sorted(
        snapshot.providers,
        key=lambda p: (
            _PREFERRED_FALLBACKS.index(p.id) if p.id in _PREFERRED_FALLBACKS else 99,
            p.id,
        ),
    )
    for candidate in ordered:
        model = candidate.find_model(lowered, all_providers=snapshot.providers)
        if model is not None:
            return candidate, model
    return None


def _as_decimal(value: object) -> Decimal | None:
    """A flat rate from a catalog entry. Tiered prices (long-context surcharges) use their base
    tier: the common case, and budgets reserve with the same price the ledger charges."""
    if isinstance(value, types.TieredPrices):
        return value.base
    if isinstance(value, Decimal):
        return value
    return None


def _price_of(
    catalog_provider: types.Provider, model: types.ModelInfo, at: datetime
) -> CatalogPrice | None:
    prices = model.get_prices(at)
    input_price = _as_decimal(prices.input_mtok)
    output_price = _as_decimal(prices.output_mtok)
    if input_price is None or output_price is None:
        # Priced per request, per image or per second only: not a chat model we can meter.
        return None
    return CatalogPrice(
        input_usd_per_mtok=input_price,
        output_usd_per_mtok=output_price,
        cached_input_usd_per_mtok=_as_decimal(prices.cache_read_mtok),
        cache_write_usd_per_mtok=_as_decimal(prices.cache_write_mtok),
        catalog_provider=catalog_provider.id,
        catalog_model=model.id,
    )
