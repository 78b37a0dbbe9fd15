"""Pure billing math: token usage times prices gives USD. No Django, no clock, no floats.

Prices are USD per million tokens (`Decimal`), token counts are `int`, and every money result is a
`Decimal` rounded exactly once, at the end, to `USD_PLACES` (9) decimal places:

- charges (`cost_usd`) round ROUND_HALF_UP: the nearest nano-dollar, halves away from zero;
- reservations (`worst_case_cost`) round ROUND_CEILING, so a worst case is never under-reserved;
- `max_tokens_that_fit` rounds down, so what it allows always fits.

Intermediate sums run in a local decimal context with enough precision that nothing is rounded
before that single quantize, even for absurd token counts.

Token counts follow OpenAI's convention whatever the provider (CONTRACT "Token counts"):
`input_tokens` includes the cached and cache-write tokens, `output_tokens` includes the reasoning
tokens. Adapters normalise Anthropic (whose input excludes cache reads and writes) and Gemini
(whose thoughts are reported beside the candidates) into this convention before billing.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

MTOK = Decimal(1_000_000)
USD_PLACES = 9
USD_QUANTUM = Decimal(1).scaleb(-USD_PLACES)  # 0.000000001
# Wide enough for 20-digit token counts times 20-digit prices without any inexact step.
_EXACT = decimal.Context(
    prec=80,
    rounding=ROUND_HALF_UP,
    traps=[decimal.Inexact, decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero],
)

# Tokens a chat format adds around every message (role markers, separators) and once per request
# (the assistant reply primer). OpenAI documents 3-4 per message and 3 per reply; Anthropic,
# Gemini and Llama-style templates are of the same order. SentencePiece tokenizers may also add one
# dummy-prefix token per text. 8 and 8 cover all of these with room to spare.
MESSAGE_OVERHEAD_TOKENS = 8
REQUEST_OVERHEAD_TOKENS = 8

# Returned by max_tokens_that_fit when output is free and the prompt fits: any max_tokens fits.
UNLIMITED_TOKENS = 2**63 - 1


@dataclass(frozen=True)
class UnitPrices:
    """USD per million tokens. `cached_input`/`cache_write` of None mean "the input price"."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input", "cache_write"):
            value = getattr(self, name)
            if value is None and name in ("cached_input", "cache_write"):
                continue
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{name} price must be a finite, non-negative Decimal")

    @property
    def effective_cached_input(self) -> Decimal:
        return self.input if self.cached_input is None else self.cached_input

    @property
    def effective_cache_write(self) -> Decimal:
        return self.input if self.cache_write is None else self.cache_write

    @property
    def max_input_side(self) -> Decimal:
        """The dearest price any prompt token can be billed at (cache writes can exceed input)."""
        return max(self.input, self.effective_cached_input, self.effective_cache_write)


@dataclass(frozen=True)
class TokenUsage:
    """One call's usage, OpenAI convention: input includes cache reads and writes."""

    input_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        for name in (
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "output_tokens",
            "reasoning_tokens",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")

    def normalized(self) -> TokenUsage:
        """The same usage made consistent, never by charging less.

        Impossible reports are CLAMPED UPWARD rather than refused, because settlement must always
        write its one ledger row: when cached + cache-write exceed input, input is raised to their
        sum (those tokens were processed, and the likely cause is a provider reporting input
        without its cached part); when reasoning exceeds output, output is raised to reasoning
        (reasoning is billed as output). Negative counts are refused in the constructor.
        """
        input_tokens = max(self.input_tokens, self.cached_input_tokens + self.cache_write_tokens)
        output_tokens = max(self.output_tokens, self.reasoning_tokens)
        if input_tokens == self.input_tokens and output_tokens == self.output_tokens:
            return self
        return replace(self, input_tokens=input_tokens, output_tokens=output_tokens)


def _quantize(value: Decimal, rounding: str) -> Decimal:
    return value.quantize(USD_QUANTUM, rounding=rounding)


def _exact_cost(usage: TokenUsage, prices: UnitPrices) -> Decimal:
    """Unrounded USD cost of a normalized usage. Exact: no rounding happens here."""
    with decimal.localcontext(_EXACT):
        uncached = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
        # Reasoning tokens are already inside output_tokens: they are never added a second time.
        per_mtok = (
            uncached * prices.input
            + usage.cached_input_tokens * prices.effective_cached_input
            + usage.cache_write_tokens * prices.effective_cache_write
            + usage.output_tokens * prices.output
        )
        return per_mtok / MTOK


def cost_usd(usage: TokenUsage, prices: UnitPrices) -> Decimal:
    """The charge for one call, rounded once, ROUND_HALF_UP, to 9 decimal places.

    Impossible usage is clamped upward first (see `TokenUsage.normalized`).
    """
    return _quantize(_exact_cost(usage.normalized(), prices), ROUND_HALF_UP)


def worst_case_cost(prompt_tokens_upper: int, max_tokens: int, prices: UnitPrices) -> Decimal:
    """What a call can cost at most: every prompt token at the dearest input-side price (a cache
    write can cost more than input) plus `max_tokens` of output, rounded up (ROUND_CEILING)."""
    if prompt_tokens_upper < 0 or max_tokens < 0:
        raise ValueError("token counts must be non-negative")
    with decimal.localcontext(_EXACT):
        exact = (prompt_tokens_upper * prices.max_input_side + max_tokens * prices.output) / MTOK
    return _quantize(exact, ROUND_CEILING)


def _utf8_len(text: str) -> int:
    # surrogatepass: a lone surrogate (from a broken client) still counts, never raises.
    return len(text.encode("utf-8", errors="surrogatepass"))


def prompt_tokens_upper_bound(messages: list[str], system: str | None) -> int:
    """An upper bound on a prompt's input tokens that can never be low.

    Byte-level BPE (OpenAI, Anthropic, Llama 3) and SentencePiece with byte fallback (Gemini,
    Mistral) emit at most one token per UTF-8 byte, so the byte length bounds each text. On top:
    MESSAGE_OVERHEAD_TOKENS per message (and for the system prompt), REQUEST_OVERHEAD_TOKENS once.
    """
    total = REQUEST_OVERHEAD_TOKENS
    texts = [*messages, system] if system is not None else messages
    for text in texts:
        total += _utf8_len(text) + MESSAGE_OVERHEAD_TOKENS
    return total


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` is, for a call whose provider reported no usage.

    Not bytes: a byte count overstates accented, CJK and emoji text two to four times (and billed
    honest answers past a hard budget). Instead ASCII runs count one token per 4 characters
    (English and code average 3.5-4.5), and every other character one token (an accented Latin
    letter is usually part of a longer token, so this leans high there; a CJK ideograph or an
    emoji is one to two tokens). Rows built from it are marked `estimated`; settlement also caps
    it (see `billing.policy.billed_usage`), so an estimate never exceeds what was asked for.
    """
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return -(-ascii_chars // 4) + (len(text) - ascii_chars)


def prompt_tokens_estimate(messages: list[str], system: str | None) -> int:
    """`estimate_tokens` of a prompt with the same per-message overheads as the upper bound;
    never above `prompt_tokens_upper_bound` (each text estimates at most its byte length)."""
    total = REQUEST_OVERHEAD_TOKENS
    texts = [*messages, system] if system is not None else messages
    for text in texts:
        total += estimate_tokens(text) + MESSAGE_OVERHEAD_TOKENS
    return total


def max_tokens_that_fit(
    budget_remaining: Decimal, prompt_tokens_upper: int, prices: UnitPrices
) -> int:
    """The largest max_tokens whose `worst_case_cost` stays within `budget_remaining`.

    0 when not even the prompt fits; UNLIMITED_TOKENS when output is free and the prompt fits.
    Invariant: worst_case_cost(prompt, result, prices) <= budget_remaining (for finite results).
    """
    # Budgets are stored at 9 places; anything finer is dropped downward, never granted.
    remaining = budget_remaining.quantize(USD_QUANTUM, rounding=ROUND_FLOOR)
    with decimal.localcontext(_EXACT):
        prompt_cost = prompt_tokens_upper * prices.max_input_side / MTOK
        left = remaining - prompt_cost
    if left < 0:
        return 0
    if prices.output == 0:
        return UNLIMITED_TOKENS
    # ceil9(prompt + n·out) <= remaining  ⇔  prompt + n·out <= remaining, since remaining is
    # a multiple of the quantum. So n = floor(left / out), computed without inexact division.
    with decimal.localcontext(decimal.Context(prec=80, rounding=ROUND_FLOOR)):
        fit = (left * MTOK / prices.output).to_integral_value(rounding=ROUND_FLOOR)
    return min(int(fit), UNLIMITED_TOKENS)
