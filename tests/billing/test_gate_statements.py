"""Settlement's edge cases and the spacing of a member's `budget.updated` frames."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from billing.budgets import budget_set
from billing.gate import Admission, admission_settle
from billing.ledger import user_scope_key
from billing.models import BudgetCounter, BudgetScope, Reservation, ReservationStatus, UsageRecord
from billing.notices import BUDGET_FRAME_INTERVAL, budget_updated_dispatch
from billing.policy import nusd as usd_to_nusd
from billing.pricing import TokenUsage, UnitPrices, worst_case_cost
from tests.billing.conftest import gate_open

if TYPE_CHECKING:
    from billing.notices import BudgetUpdatedEvent

PRICES = UnitPrices(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075"))
WORST = worst_case_cost(1000, 500, PRICES)


def _open(user: Any, ai_model: Any, *, max_tokens: int = 500) -> Admission:
    return gate_open(
        user=user,
        ai_model=ai_model,
        prompt_tokens_upper=1000,
        max_tokens=max_tokens,
        source="api",
        api_token_id=9,
    )


def _hard(acme: Any, alice: Any, *, user: Any, limit: Decimal, scope: str = "user") -> None:
    budget_set(
        organization=acme,
        actor=alice,
        scope=BudgetScope.USER if scope == "user" else BudgetScope.ORG,
        user_id=user.pk if scope == "user" else None,
        limit_usd=limit,
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the Postgres statements")
@pytest.mark.django_db(transaction=True)  # autocommit, as the engine runs the gate
def test_it_releases_a_call_that_failed_before_output(alice, bob, acme, acme_model) -> None:
    _hard(acme, alice, user=bob, limit=Decimal("1"))
    _open(bob, acme_model)
    admission = _open(bob, acme_model)

    assert admission_settle(admission=admission, usage=None, failed_before_output=True) is None
    assert admission_settle(admission=admission, usage=TokenUsage(5, output_tokens=5)) is None

    reservation = Reservation.objects.get(call_id=admission.call_id)
    assert reservation.status == ReservationStatus.RELEASED
    assert not UsageRecord.objects.filter(call_id=admission.call_id).exists()


def test_it_settles_onto_a_ledger_row_that_is_there_already(alice, bob, acme, acme_model) -> None:
    # Not a state the gate makes; the unique call_id sends the quick path to the careful one.
    _hard(acme, alice, user=bob, limit=Decimal("1"))
    _open(bob, acme_model)
    admission = _open(bob, acme_model)
    existing = UsageRecord.objects.create(
        organization=acme,
        user=bob,
        model="gpt-4o-mini",
        upstream_model="gpt-4o-mini",
        provider="openai",
        source="api",
        call_id=admission.call_id,
        input_usd_per_mtok=PRICES.input,
        output_usd_per_mtok=PRICES.output,
        cost_usd=Decimal("0.000123"),
    )

    record = admission_settle(admission=admission, usage=TokenUsage(10, output_tokens=10))

    assert record is not None
    assert record.pk == existing.pk
    reservation = Reservation.objects.get(call_id=admission.call_id)
    assert (reservation.status, reservation.usage_record_id) == (
        ReservationStatus.SETTLED,
        existing.pk,
    )
    counter = BudgetCounter.objects.get(scope_key=user_scope_key(bob.pk))
    assert counter.spent_nusd == usd_to_nusd(Decimal("0.000123"))


def _frame(spent: str) -> BudgetUpdatedEvent:
    return {
        "type": "budget.updated",
        "spent_usd": spent,
        "limit_usd": None,
        "remaining_usd": None,
        "period_end": "2030-01-01T00:00:00Z",
    }


@pytest.mark.asyncio
async def test_it_spaces_a_members_budget_frames_and_sends_the_newest() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add("user.424242", channel)

    def settle_burst() -> None:  # as settlements do, from the engine's ORM threads
        for spent in ("0.1", "0.2", "0.3"):
            budget_updated_dispatch(user_id=424242, event=_frame(spent))

    await sync_to_async(settle_burst, thread_sensitive=False)()
    first = await asyncio.wait_for(layer.receive(channel), timeout=2)
    trailing = await asyncio.wait_for(layer.receive(channel), timeout=2)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), timeout=BUDGET_FRAME_INTERVAL * 3)

    assert (first["spent_usd"], trailing["spent_usd"]) == ("0.1", "0.3")
