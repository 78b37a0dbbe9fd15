"""Table tests for billing.pricing: pure, no database."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from billing.pricing import (
    MESSAGE_OVERHEAD_TOKENS,
    REQUEST_OVERHEAD_TOKENS,
    UNLIMITED_TOKENS,
    TokenUsage,
    UnitPrices,
    cost_usd,
    estimate_tokens,
    max_tokens_that_fit,
    prompt_tokens_estimate,
    prompt_tokens_upper_bound,
    worst_case_cost,
)

D = Decimal
GPT4O = UnitPrices(input=D("2.5"), output=D("10"), cached_input=D("1.25"))
CLAUDE = UnitPrices(input=D("3"), output=D("15"), cached_input=D("0.30"), cache_write=D("3.75"))
GEMINI = UnitPrices(input=D("0.30"), output=D("2.50"), cached_input=D("0.075"))
NO_CACHE_PRICE = UnitPrices(input=D("1"), output=D("2"))
FREE = UnitPrices(input=D(0), output=D(0))


@pytest.mark.parametrize(
    ("usage", "prices", "expected"),
    [
        pytest.param(TokenUsage(0), GPT4O, "0.000000000", id="zero-tokens"),
        pytest.param(TokenUsage(1_000_000, output_tokens=1_000_000), GPT4O, "12.5", id="one-mtok"),
        pytest.param(TokenUsage(1), NO_CACHE_PRICE, "0.000001", id="one-token"),
        pytest.param(
            TokenUsage(10**15, output_tokens=10**15),
            UnitPrices(input=D("75"), output=D("150")),
            "225000000000",
            id="huge-counts-stay-exact",
        ),
        pytest.param(
            TokenUsage(123_456_789, output_tokens=987_654_321),
            UnitPrices(input=D("0.123456789"), output=D("9.876543219")),
            # exactly 9769852165.538789820 per Mtok; / 1e6 = 9769.852165538|78982, half-up
            "9769.852165539",
            id="many-digits",
        ),
        # OpenAI: prompt_tokens includes the cached part; LiteLLM once billed it at full price too.
        pytest.param(
            TokenUsage(1000, cached_input_tokens=400, output_tokens=100),
            GPT4O,
            "0.0030",  # 600 * 2.5 + 400 * 1.25 + 100 * 10 = 3000 per Mtok
            id="openai-cached-counted-once",
        ),
        # Gemini: promptTokenCount includes cachedContentTokenCount, the same convention.
        pytest.param(
            TokenUsage(10_000, cached_input_tokens=8_000, output_tokens=0),
            GEMINI,
            "0.00120",  # 2000 * 0.30 + 8000 * 0.075
            id="gemini-cached-counted-once",
        ),
        # Gemini thoughts: candidates 100 + thoughts 50 reach us as output 150, reasoning 50.
        pytest.param(
            TokenUsage(0, output_tokens=150, reasoning_tokens=50),
            GEMINI,
            "0.000375",  # 150 * 2.50, not 200 * 2.50
            id="gemini-thoughts-billed-once",
        ),
        # OpenAI o-series: completion_tokens 500 includes 300 reasoning tokens.
        pytest.param(
            TokenUsage(0, output_tokens=500, reasoning_tokens=300),
            GPT4O,
            "0.005",
            id="reasoning-not-added-twice",
        ),
        # Anthropic input 100 + cache_read 1000 + cache_creation 500, normalised to input 1600.
        pytest.param(
            TokenUsage(1600, cached_input_tokens=1000, cache_write_tokens=500, output_tokens=10),
            CLAUDE,
            "0.002625",  # 100 * 3 + 1000 * 0.30 + 500 * 3.75 + 10 * 15 = 2625
            id="anthropic-cache-read-and-write-priced-separately",
        ),
        pytest.param(
            TokenUsage(1000, cached_input_tokens=1000, cache_write_tokens=0),
            NO_CACHE_PRICE,
            "0.001",
            id="no-cached-price-means-input-price",
        ),
        pytest.param(
            TokenUsage(10**9, cached_input_tokens=5, cache_write_tokens=5, output_tokens=10**9),
            FREE,
            "0",
            id="free-model",
        ),
    ],
)
def test_it_prices_usage(usage: TokenUsage, prices: UnitPrices, expected: str) -> None:
    result = cost_usd(usage, prices)
    assert result == D(expected)
    assert result.as_tuple().exponent == -9  # always exactly 9 places


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        # One token at a price per Mtok: the exact cost sits below the 9th decimal place.
        pytest.param("0.0004", "0.000000000", id="below-half-rounds-down"),
        pytest.param("0.0005", "0.000000001", id="half-rounds-up"),
        pytest.param("0.0014999", "0.000000001", id="just-below-half"),
        pytest.param("0.0015", "0.000000002", id="half-again-up"),
    ],
)
def test_it_rounds_charges_half_up_once(price: str, expected: str) -> None:
    prices = UnitPrices(input=D(price), output=D(0))
    assert cost_usd(TokenUsage(1), prices) == D(expected)


def test_it_rounds_once_not_per_component() -> None:
    # Each of the two components alone is 0.4 nano-dollars (rounds to 0); their sum 0.8 rounds up.
    prices = UnitPrices(input=D("0.0004"), output=D("0.0004"))
    assert cost_usd(TokenUsage(1, output_tokens=1), prices) == D("0.000000001")


@pytest.mark.parametrize(
    ("usage", "normalized"),
    [
        pytest.param(
            TokenUsage(100, cached_input_tokens=150, cache_write_tokens=10),
            TokenUsage(160, cached_input_tokens=150, cache_write_tokens=10),
            id="cache-over-input-raises-input",
        ),
        pytest.param(
            TokenUsage(0, output_tokens=10, reasoning_tokens=40),
            TokenUsage(0, output_tokens=40, reasoning_tokens=40),
            id="reasoning-over-output-raises-output",
        ),
        pytest.param(TokenUsage(5, 1, 1, 5, 5), TokenUsage(5, 1, 1, 5, 5), id="consistent-kept"),
    ],
)
def test_it_clamps_impossible_usage_upward(usage: TokenUsage, normalized: TokenUsage) -> None:
    assert usage.normalized() == normalized
    assert cost_usd(usage, CLAUDE) == cost_usd(normalized, CLAUDE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_tokens": -1},
        {"input_tokens": 1, "output_tokens": -5},
        {"input_tokens": 1.5},
        {"input_tokens": True},
    ],
)
def test_it_refuses_negative_or_non_integer_counts(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="non-negative int"):
        TokenUsage(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input": D(-1), "output": D(1)},
        {"input": 0.5, "output": D(1)},
        {"input": D(1), "output": D("NaN")},
        {"input": D(1), "output": D(1), "cached_input": D(-1)},
    ],
)
def test_it_refuses_bad_prices(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="price"):
        UnitPrices(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prompt", "max_tokens", "prices", "expected"),
    [
        pytest.param(0, 0, GPT4O, "0", id="nothing"),
        pytest.param(1000, 500, GPT4O, "0.0075", id="input-plus-output"),
        pytest.param(1, 0, UnitPrices(input=D("0.0001"), output=D(0)), "0.000000001", id="ceil"),
        # A cache write costs more than input: the worst case assumes it for every prompt token.
        pytest.param(1000, 0, CLAUDE, "0.00375", id="cache-write-is-the-worst-case"),
        pytest.param(10**6, 10**6, FREE, "0", id="free"),
    ],
)
def test_it_reserves_the_worst_case_rounded_up(
    prompt: int, max_tokens: int, prices: UnitPrices, expected: str
) -> None:
    assert worst_case_cost(prompt, max_tokens, prices) == D(expected)


def test_it_never_reserves_less_than_any_charge_it_covers() -> None:
    rng = random.Random(7)
    for _ in range(300):
        prompt, max_tokens = rng.randint(0, 10**7), rng.randint(0, 10**6)
        cached = rng.randint(0, prompt)
        write = rng.randint(0, prompt - cached)
        output = rng.randint(0, max_tokens)
        usage = TokenUsage(prompt, cached, write, output, rng.randint(0, output))
        assert cost_usd(usage, CLAUDE) <= worst_case_cost(prompt, max_tokens, CLAUDE)


@pytest.mark.parametrize(
    ("messages", "system", "expected"),
    [
        pytest.param([], None, REQUEST_OVERHEAD_TOKENS, id="empty"),
        pytest.param([""], None, REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS, id="blank"),
        pytest.param(["hello"], None, 8 + 5 + 8, id="ascii-bytes"),
        pytest.param(["héllo"], "sys", 8 + 6 + 8 + 3 + 8, id="utf8-bytes-and-system"),
        pytest.param(["😀"], None, 8 + 4 + 8, id="emoji-is-four-bytes"),
        pytest.param(["日本"], None, 8 + 6 + 8, id="cjk-is-three-bytes-each"),
    ],
)
def test_it_bounds_prompt_tokens_by_utf8_bytes(
    messages: list[str], system: str | None, expected: int
) -> None:
    assert prompt_tokens_upper_bound(messages, system) == expected


def test_it_counts_a_lone_surrogate_instead_of_failing() -> None:
    assert prompt_tokens_upper_bound(["\ud800"], None) == 8 + 3 + 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1),
        ("abcd", 1),
        ("abcde", 2),
        ("x" * 3000, 750),
        ("日本語", 3),  # one per ideograph, not one per byte (9)
        ("acción", 3),  # "acci" + "ó" + "n": 2 + 1
        ("🎉👩‍💻", 4),  # code points: 🎉, 👩, ZWJ, 💻
    ],
)
def test_it_estimates_tokens_from_characters_not_bytes(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(
    "text", ["", "hello", "acción años", "東京は日本の首都", "🎉👩‍💻", "\ud800"]
)
def test_it_never_estimates_a_prompt_above_its_upper_bound(text: str) -> None:
    assert prompt_tokens_estimate([text], "sys") <= prompt_tokens_upper_bound([text], "sys")


@pytest.mark.parametrize(
    ("remaining", "prompt", "prices", "expected"),
    [
        pytest.param("0", 0, GPT4O, 0, id="empty-budget"),
        pytest.param("0.001", 1000, GPT4O, 0, id="prompt-does-not-fit"),  # prompt alone 0.0025
        pytest.param("0.0025", 1000, GPT4O, 0, id="prompt-fits-exactly"),
        pytest.param("0.0026", 1000, GPT4O, 10, id="ten-output-tokens"),
        pytest.param("0.00260000099", 1000, GPT4O, 10, id="sub-nano-budget-dropped"),
        pytest.param("1", 0, FREE, UNLIMITED_TOKENS, id="free-output"),
        pytest.param("1", 1000, CLAUDE, 66416, id="uses-dearest-input-side"),
    ],
)
def test_it_finds_the_max_tokens_that_fit(
    remaining: str, prompt: int, prices: UnitPrices, expected: int
) -> None:
    assert max_tokens_that_fit(D(remaining), prompt, prices) == expected


def test_it_fits_max_tokens_tightly() -> None:
    rng = random.Random(11)
    for _ in range(300):
        prices = UnitPrices(
            input=D(rng.randint(0, 10**6)) / 10**5, output=D(rng.randint(1, 10**7)) / 10**5
        )
        remaining = D(rng.randint(0, 10**9)) / 10**9
        prompt = rng.randint(0, 10**5)
        n = max_tokens_that_fit(remaining, prompt, prices)
        if n == 0 and worst_case_cost(prompt, 0, prices) > remaining:
            continue  # not even the prompt fits
        assert worst_case_cost(prompt, n, prices) <= remaining
        assert worst_case_cost(prompt, n + 1, prices) > remaining
