"""Property-based tests of the pure budget policy (Hypothesis): the one fit rule and billing."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing import policy
from billing.pricing import TokenUsage, UnitPrices, worst_case_cost

prices = st.builds(
    UnitPrices,
    input=st.decimals(min_value=0, max_value=100, places=3),
    output=st.decimals(min_value=0, max_value=200, places=3),
    cached_input=st.none() | st.decimals(min_value=0, max_value=100, places=3),
    cache_write=st.none() | st.decimals(min_value=0, max_value=150, places=3),
)
scopes = st.sampled_from(["org", "token", "user"])
limits = st.builds(
    policy.Limit,
    scope=scopes,
    limit_nusd=st.none() | st.integers(min_value=0, max_value=10**10),
    hard=st.booleans(),
    spent_nusd=st.integers(min_value=0, max_value=10**10),
    reserved_nusd=st.integers(min_value=0, max_value=10**9),
)
prompt_sizes = st.integers(min_value=0, max_value=200_000)
max_tokens_values = st.integers(min_value=1, max_value=100_000)


def _fits(limit: policy.Limit, prompt: int, tokens: int, unit: UnitPrices) -> bool:
    remaining = limit.remaining_nusd
    assert remaining is not None
    return policy.nusd(worst_case_cost(prompt, tokens, unit)) <= remaining


@settings(max_examples=400, deadline=None)
@given(st.lists(limits, max_size=3), prompt_sizes, max_tokens_values, prices)
def test_it_admits_only_what_fits_and_refuses_only_what_does_not(
    applicable: list[policy.Limit], prompt: int, max_tokens: int, unit: UnitPrices
) -> None:
    result = policy.fit(
        limits=applicable, prompt_tokens_upper=prompt, max_tokens=max_tokens, prices=unit
    )
    binding = [limit for limit in applicable if limit.binding]
    floor = policy.min_answer_tokens(max_tokens)
    if isinstance(result, policy.Refusal):
        # Nothing that fits is refused: the refusing budget cannot hold the smallest answer.
        assert result.limit in binding
        assert not _fits(result.limit, prompt, floor, unit)
        assert result.needed_nusd == policy.nusd(worst_case_cost(prompt, floor, unit))
        return
    # Nothing is admitted that could not fit: every binding budget holds the lowered worst case.
    assert floor <= result <= max_tokens
    assert all(_fits(limit, prompt, result, unit) for limit in binding)
    # And it is lowered no further than it must be.
    if result < max_tokens:
        assert not all(_fits(limit, prompt, result + 1, unit) for limit in binding)


@settings(max_examples=300, deadline=None)
@given(st.lists(limits, max_size=3), prompt_sizes, max_tokens_values, prices)
def test_it_never_refuses_when_every_budget_holds_the_smallest_answer(
    applicable: list[policy.Limit], prompt: int, max_tokens: int, unit: UnitPrices
) -> None:
    floor = policy.min_answer_tokens(max_tokens)
    holds = all(_fits(limit, prompt, floor, unit) for limit in applicable if limit.binding)
    result = policy.fit(
        limits=applicable, prompt_tokens_upper=prompt, max_tokens=max_tokens, prices=unit
    )
    assert isinstance(result, int) == holds


@settings(max_examples=300, deadline=None)
@given(
    prompt=prompt_sizes,
    max_tokens=max_tokens_values,
    text=st.text(max_size=400),
    deltas=st.integers(min_value=0, max_value=300_000),
    cut_off=st.booleans(),
)
def test_it_never_estimates_past_what_the_reservation_covered(
    prompt: int, max_tokens: int, text: str, deltas: int, cut_off: bool
) -> None:
    billed, estimated = policy.billed_usage(
        reported=None,
        prompt_tokens_estimate=prompt // 2,
        prompt_tokens_upper=prompt,
        max_tokens=max_tokens,
        output_text=text,
        output_deltas=deltas,
        cut_off=cut_off,
    )
    assert estimated
    assert billed.input_tokens <= prompt
    cap = policy.output_cap(max_tokens) if cut_off else max_tokens
    assert billed.output_tokens <= cap
    # An honest, uncut answer's estimate fits its reservation: the hard budget holds.
    if not cut_off:
        unit = UnitPrices(input=Decimal(3), output=Decimal(15))
        from billing.pricing import cost_usd

        assert cost_usd(billed, unit) <= worst_case_cost(prompt, max_tokens, unit)


@settings(max_examples=200, deadline=None)
@given(
    usage=st.builds(
        TokenUsage,
        input_tokens=st.integers(0, 10**6),
        cached_input_tokens=st.integers(0, 10**6),
        output_tokens=st.integers(0, 10**6),
        reasoning_tokens=st.integers(0, 10**6),
    ),
    text=st.text(min_size=1, max_size=50),
)
def test_it_bills_a_reported_usage_as_it_is(usage: TokenUsage, text: str) -> None:
    billed, estimated = policy.billed_usage(
        reported=usage,
        prompt_tokens_estimate=1,
        prompt_tokens_upper=1,
        max_tokens=1,
        output_text=text,
        output_deltas=1,
        cut_off=False,
    )
    normalized = usage.normalized()
    if normalized.output_tokens:
        assert (billed, estimated) == (normalized, False)
    else:  # input reported, output missing while text came: only the output is estimated
        assert billed.input_tokens == normalized.input_tokens
        assert estimated


@given(
    limit=st.integers(1, 10**9),
    before=st.integers(0, 2 * 10**9),
    delta=st.integers(0, 10**9),
    warn=st.lists(st.integers(1, 100), max_size=3, unique=True),
    hard=st.booleans(),
)
def test_it_reports_each_threshold_once_across_settlements(
    limit: int, before: int, delta: int, warn: list[int], hard: bool
) -> None:
    def at(spent: int) -> policy.Limit:
        return policy.Limit(
            scope="user",
            limit_nusd=limit,
            hard=hard,
            spent_nusd=spent,
            reserved_nusd=0,
            warn_at_percent=tuple(warn),
        )

    first = policy.crossed_thresholds(at(before), spent_before_nusd=0)
    second = policy.crossed_thresholds(at(before + delta), spent_before_nusd=before)
    assert not set(first) & set(second)
    assert sorted(first + second) == policy.due_thresholds(at(before + delta))
