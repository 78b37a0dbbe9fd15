"""The budget rule, pure: which budgets a call meets, whether it fits, and what it is billed.

Every path that admits or settles a provider call (chat, titles, the /v1 API, the reaper) asks
this module and nothing else. Like `pricing`, it imports nothing from Django: no clock, no ORM,
no settings; the gate reads the counters under their locks and passes them in.

The rule, in CONTRACT's words: a call's worst case (its prompt's upper bound at the dearest
input-side price plus `max_tokens` of output) is reserved against every hard budget that applies
(the member's, the organisation's, an API token's cap); `max_tokens` is lowered to what all of
them hold; fewer than `min(64, max_tokens)` output tokens fitting is a refusal. Soft budgets
never refuse. Settlement bills the provider's reported usage as it is; when none came, an
estimate that never exceeds what the reservation covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Literal

from billing.pricing import (
    TokenUsage,
    UnitPrices,
    estimate_tokens,
    max_tokens_that_fit,
    worst_case_cost,
)

Scope = Literal["org", "user", "token"]
RefusalReason = Literal["exhausted", "too_large"]

# The smallest answer worth starting (CONTRACT: "fewer than min(64, max_tokens) output tokens").
MIN_ANSWER_TOKENS = 64
# The prompt of a one-line question in a fresh conversation, at its upper bound (the request and
# message overheads plus 16 bytes): a budget that cannot hold that plus the smallest answer is
# used up ("exhausted"); one that can was refused because this request is too large.
SHORT_PROMPT_TOKENS = 32
# Nano-dollars per dollar: counters hold integers.
NANO = 10**9


@dataclass(frozen=True)
class Limit:
    """One budget that applies to a call, with its counter's values (read under its lock).

    `limit_nusd` None is unlimited (the member's counter is still kept, to track spend).
    """

    scope: Scope
    limit_nusd: int | None
    hard: bool
    spent_nusd: int
    reserved_nusd: int
    period: str | None = None
    period_end: datetime | None = None
    warn_at_percent: tuple[int, ...] = ()

    @property
    def remaining_nusd(self) -> int | None:
        """Negative past a soft budget (or after a recorded overshoot)."""
        if self.limit_nusd is None:
            return None
        return self.limit_nusd - self.spent_nusd - self.reserved_nusd

    @property
    def binding(self) -> bool:
        """Whether this budget can refuse or lower a call."""
        return self.hard and self.limit_nusd is not None


@dataclass(frozen=True)
class Refusal:
    """Why a call does not fit, with the amounts a member needs to understand it."""

    limit: Limit
    reason: RefusalReason
    needed_nusd: int  # the smallest answer's worst case for this prompt


def nusd(value: Decimal) -> int:
    """USD as integer nano-USD, rounded up: a reservation or a charge is never understated."""
    return int((value * NANO).to_integral_value(rounding=ROUND_CEILING))


def usd(value: int) -> Decimal:
    return Decimal(value).scaleb(-9)


def min_answer_tokens(max_tokens: int) -> int:
    return min(MIN_ANSWER_TOKENS, max_tokens)


def fit(
    *, limits: list[Limit], prompt_tokens_upper: int, max_tokens: int, prices: UnitPrices
) -> int | Refusal:
    """The one fit rule: `max_tokens` lowered to what every binding budget still holds, or the
    first budget (in the order given) that cannot hold the smallest answer.

    Invariant (property-tested): for the result n, `worst_case_cost(prompt, n)` fits the
    remaining amount of every binding limit, and n >= min_answer_tokens(max_tokens).
    """
    floor = min_answer_tokens(max_tokens)
    for limit in limits:
        remaining = limit.remaining_nusd
        if not limit.binding or remaining is None:
            continue
        room = (
            0 if remaining < 0 else max_tokens_that_fit(usd(remaining), prompt_tokens_upper, prices)
        )
        if room < floor:
            return _refusal(
                limit, prompt_tokens_upper=prompt_tokens_upper, floor=floor, prices=prices
            )
        max_tokens = min(max_tokens, room)
    return max_tokens


def _refusal(limit: Limit, *, prompt_tokens_upper: int, floor: int, prices: UnitPrices) -> Refusal:
    remaining = limit.remaining_nusd or 0
    short = nusd(worst_case_cost(SHORT_PROMPT_TOKENS, floor, prices))
    reason: RefusalReason = "exhausted" if remaining < short else "too_large"
    return Refusal(
        limit=limit,
        reason=reason,
        needed_nusd=nusd(worst_case_cost(prompt_tokens_upper, floor, prices)),
    )


def overrun_margin(max_tokens: int) -> int:
    """How far past `max_tokens` a stream may go before the engine cuts it off.

    Providers that honour max_tokens never get there; the margin absorbs counting differences
    (a delta is at least one token, a provider's own count may include a final token).
    """
    return max(16, max_tokens // 10)


def output_cap(max_tokens: int) -> int:
    """The engine cuts a stream off once its count of output tokens passes this."""
    return max_tokens + overrun_margin(max_tokens)


def billed_usage(
    *,
    reported: TokenUsage | None,
    prompt_tokens_estimate: int,
    prompt_tokens_upper: int,
    max_tokens: int,
    output_text: str,
    output_deltas: int,
    cut_off: bool,
) -> tuple[TokenUsage, bool]:
    """What one call is billed, and whether it is an estimate.

    - The provider reported usage: exactly that (made consistent upward, never lowered).
    - It reported input but no output while text arrived (a stream cut after Anthropic's
      message_start), or the engine cut it off before its running count caught up with the
      deltas streamed: the reported input and an estimated output.
    - Nothing reported: the prompt's estimate (never above its upper bound) and the output text's
      estimate, at least one token per streamed delta, at most `max_tokens` (what a provider
      that honours it can have produced) or, when the engine cut an overrunning stream off,
      `output_cap(max_tokens)`.
    """
    cap = output_cap(max_tokens) if cut_off else max_tokens
    output_estimate = min(max(estimate_tokens(output_text), output_deltas), cap)
    if reported is None:
        input_tokens = min(prompt_tokens_estimate, prompt_tokens_upper)
        return TokenUsage(input_tokens=input_tokens, output_tokens=output_estimate), True
    reported = reported.normalized()
    if (reported.output_tokens == 0 and output_text) or (
        cut_off and reported.output_tokens < min(output_deltas, cap)
    ):
        # No output count while text arrived (a stream cut after Anthropic's message_start), or
        # a running count the cut-off interrupted below what was streamed: the output part is
        # estimated.
        return TokenUsage(
            input_tokens=reported.input_tokens,
            cached_input_tokens=reported.cached_input_tokens,
            cache_write_tokens=reported.cache_write_tokens,
            output_tokens=output_estimate,
        ), True
    return reported, False


def crossed_thresholds(limit: Limit, *, spent_before_nusd: int) -> list[int]:
    """The warning thresholds (percent of the limit; 100 for a soft budget's crossing) that
    the spend moved over, from `spent_before_nusd` to `limit.spent_nusd`."""
    if limit.limit_nusd is None or limit.limit_nusd <= 0:
        return []
    thresholds = set(limit.warn_at_percent)
    if not limit.hard:
        thresholds.add(100)
    return sorted(
        t
        for t in thresholds
        if spent_before_nusd * 100 < limit.limit_nusd * t <= limit.spent_nusd * 100
    )


def due_thresholds(limit: Limit) -> list[int]:
    """Every threshold the spend has reached (the beat scan's catch-up)."""
    return crossed_thresholds(limit, spent_before_nusd=-1)
