"""Property-based tests of the gate on the real database (Postgres in CI): random budgets and
random sequences of admissions and settlements, run concurrently from several threads (each with
its own database connection), for providers that honour max_tokens.

Whatever Hypothesis draws: the settled sum never passes a hard limit (member, organisation or API
token); every refusal was right about what it saw (the smallest answer's worst case did not fit);
and afterwards the counters agree with the ledger to the nano-dollar, with nothing left reserved.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from billing.budgets import budget_set
from billing.gate import TokenCap, admission_open, admission_settle
from billing.models import BudgetCounter, BudgetScope, Reservation, ReservationStatus, UsageRecord
from billing.policy import nusd
from billing.pricing import TokenUsage
from chat.generation import model_price
from core.exceptions import ApplicationError
from tests.billing.conftest import make_model
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db(transaction=True)

_orgs = itertools.count()
money = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.02"), places=6)


@dataclass(frozen=True)
class Call:
    user: int  # 0 or 1: which member
    prompt: int
    max_tokens: int
    output_share: float  # of admission.max_tokens actually produced (honest provider)
    failed_before_output: bool
    use_token: bool


calls = st.builds(
    Call,
    user=st.integers(0, 1),
    prompt=st.integers(0, 4000),
    max_tokens=st.integers(1, 3000),
    output_share=st.floats(0, 1),
    failed_before_output=st.booleans(),
    use_token=st.booleans(),
)


def _check_refusal(refused: ApplicationError) -> str:
    """A refusal must be a budget's, and right about what it saw under the locks: the smallest
    answer's worst case did not fit what was left."""
    if refused.code != "budget_exceeded":
        raise AssertionError(refused.code)
    detail = refused.detail
    if Decimal(detail["needed_usd"]) <= Decimal(detail["remaining_usd"]):
        raise AssertionError(detail)
    return "refused"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    user_limit=money,
    org_limit=st.none() | money,
    token_limit=st.none() | money,
    sequence=st.lists(calls, min_size=1, max_size=24),
)
def test_it_never_settles_past_a_hard_limit_under_concurrency(
    user_limit: Decimal,
    org_limit: Decimal | None,
    token_limit: Decimal | None,
    sequence: list[Call],
) -> None:
    org = make_org(name=f"Prop {next(_orgs)}")
    owner = make_user(org=org, role=Role.OWNER, email=f"o{org.pk}@prop.test")
    members = [
        make_user(org=org, role=Role.MEMBER, email=f"m{n}.{org.pk}@prop.test") for n in range(2)
    ]
    ai_model = make_model(org=org, input_price="2.5", output_price="10")
    price = model_price(ai_model)
    for member in members:
        budget_set(
            organization=org,
            actor=owner,
            scope=BudgetScope.USER,
            user_id=member.pk,
            limit_usd=user_limit,
            period="monthly",
            enforcement="hard",
            warn_at_percent=[],
        )
    if org_limit is not None:
        budget_set(
            organization=org,
            actor=owner,
            scope=BudgetScope.ORG,
            limit_usd=org_limit,
            period="monthly",
            enforcement="hard",
            warn_at_percent=[],
        )
    token_id = 10_000 + org.pk

    def run(call: Call) -> str:
        try:
            cap = None
            if call.use_token and token_limit is not None:
                cap = TokenCap(token_id=token_id, limit_usd=token_limit)
            try:
                admission = admission_open(
                    organization_id=org.pk,
                    user_id=members[call.user].pk,
                    model=price,
                    prompt_tokens_upper=call.prompt,
                    max_tokens=call.max_tokens,
                    source="api",
                    api_token_id=token_id if call.use_token else None,
                    token_cap=cap,
                )
            except ApplicationError as refused:
                return _check_refusal(refused)
            output = int(admission.max_tokens * call.output_share)
            if call.failed_before_output:
                admission_settle(admission=admission, usage=None, failed_before_output=True)
            else:
                usage = TokenUsage(input_tokens=call.prompt, output_tokens=output)
                admission_settle(admission=admission, usage=usage, output_text="x")
            return "admitted"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(run, sequence))

    assert set(outcomes) <= {"admitted", "refused"}
    records = UsageRecord.objects.filter(organization=org)

    def spent(**filters: object) -> Decimal:
        total = records.filter(**filters).aggregate(s=Sum("cost_usd"))["s"]
        return Decimal(total or 0)

    for member in members:
        assert spent(user=member) <= user_limit
    if org_limit is not None:
        assert spent() <= org_limit
    if token_limit is not None:
        assert spent(api_token_id=token_id) <= token_limit
    assert not Reservation.objects.filter(organization=org, status=ReservationStatus.OPEN).exists()
    for counter in BudgetCounter.objects.filter(organization=org):
        assert counter.reserved_nusd == 0
        if counter.scope_key == "org":
            expected = spent()
        elif counter.scope_key.startswith("token:"):
            expected = spent(api_token_id=token_id)
        else:
            expected = spent(user_id=int(counter.scope_key.split(":")[1]))
        assert counter.spent_nusd == nusd(expected)
