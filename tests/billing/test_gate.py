"""The admission gate on a real database: reservations, exactly-once settlement, the reaper."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone

from billing.gate import (
    Admission,
    admission_heartbeat,
    admission_settle,
    reservation_reap,
)
from billing.models import Reservation, ReservationStatus, UsageRecord
from billing.pricing import TokenUsage, UnitPrices, worst_case_cost
from core.exceptions import ApplicationError, NotFoundError
from tests.billing.conftest import gate_open, make_model

PRICES = UnitPrices(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075"))


def _open(
    user, ai_model, *, prompt_tokens_upper: int = 1000, max_tokens: int = 500, **kwargs: Any
) -> Admission:
    kwargs.setdefault("source", "chat")
    return gate_open(
        user=user,
        ai_model=ai_model,
        prompt_tokens_upper=prompt_tokens_upper,
        max_tokens=max_tokens,
        **kwargs,
    )


def test_it_reserves_the_worst_case_at_admission(bob, acme_model) -> None:
    admission = _open(bob, acme_model, conversation_id=7, message_id=8)

    reservation = Reservation.objects.get(call_id=admission.call_id)
    assert reservation.status == ReservationStatus.OPEN
    assert reservation.reserved_usd == worst_case_cost(1000, 500, PRICES) == Decimal("0.00045")
    assert admission.reserved_usd == reservation.reserved_usd
    assert admission.prices == PRICES
    assert (admission.model_id, admission.provider) == ("gpt-4o-mini", "openai")
    assert (reservation.conversation_id, reservation.message_id) == (7, 8)
    assert UsageRecord.objects.count() == 0


def test_it_caps_max_tokens_at_the_model_limit(bob, acme) -> None:
    small = make_model(org=acme, model_id="small", max_output_tokens=256)
    unlimited = make_model(org=acme, model_id="unlimited", max_output_tokens=None)

    assert _open(bob, small, max_tokens=4096).max_tokens == 256
    assert _open(bob, unlimited, max_tokens=4096).max_tokens == 4096
    assert Reservation.objects.get(model="small").max_tokens == 256


def test_it_refuses_bad_arguments_and_outsiders(bob, charlie, acme_model) -> None:
    with pytest.raises(ApplicationError) as bad_tokens:
        _open(bob, acme_model, max_tokens=0)
    assert bad_tokens.value.code == "validation_error"
    with pytest.raises(ApplicationError) as bad_source:
        _open(bob, acme_model, source="cron")
    assert bad_source.value.code == "validation_error"
    # Charlie is in another organisation: Acme's model does not exist for him.
    with pytest.raises(NotFoundError):
        _open(charlie, acme_model)
    assert Reservation.objects.count() == 0


def test_it_fails_closed_when_the_ledger_is_unreachable(bob, acme_model) -> None:
    def unreachable(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(unreachable), pytest.raises(ApplicationError) as refused:
        _open(bob, acme_model)

    assert refused.value.code == "service_unavailable"
    assert refused.value.status == 503
    assert Reservation.objects.count() == 0


def test_it_settles_reported_usage_into_one_row(bob, acme_model) -> None:
    admission = _open(bob, acme_model, conversation_id=3, message_id=4)
    usage = TokenUsage(800, cached_input_tokens=200, output_tokens=300, reasoning_tokens=100)

    record = admission_settle(admission=admission, usage=usage, output_text="ignored")

    assert record is not None
    # 600 * 0.15 + 200 * 0.075 + 300 * 0.60 = 285 per Mtok
    assert record.cost_usd == Decimal("0.000285")
    assert record.estimated is False
    assert (record.input_tokens, record.cached_input_tokens) == (800, 200)
    assert (record.output_tokens, record.reasoning_tokens) == (300, 100)
    assert (record.user_id, record.model, record.source) == (bob.pk, "gpt-4o-mini", "chat")
    assert (record.conversation_id, record.message_id) == (3, 4)
    reservation = Reservation.objects.get(call_id=admission.call_id)
    assert reservation.status == ReservationStatus.SETTLED
    assert reservation.usage_record_id == record.pk
    assert reservation.settled_at is not None


def test_it_returns_the_same_row_when_settled_twice(bob, acme_model) -> None:
    admission = _open(bob, acme_model)
    first = admission_settle(admission=admission, usage=TokenUsage(10, output_tokens=5))
    again = admission_settle(admission=admission, usage=TokenUsage(9999, output_tokens=9999))
    failed = admission_settle(admission=admission, usage=None, failed_before_output=True)

    assert first is not None
    assert again is not None
    assert failed is not None
    assert first.pk == again.pk == failed.pk
    assert again.input_tokens == 10
    assert UsageRecord.objects.count() == 1


def test_it_writes_no_row_when_the_call_failed_before_output(bob, acme_model) -> None:
    admission = _open(bob, acme_model)

    assert admission_settle(admission=admission, usage=None, failed_before_output=True) is None
    # A retry of the settlement (say, from a finally block) must not charge either.
    assert admission_settle(admission=admission, usage=None, output_text="late") is None

    assert UsageRecord.objects.count() == 0
    reservation = Reservation.objects.get(call_id=admission.call_id)
    assert reservation.status == ReservationStatus.RELEASED
    assert reservation.usage_record_id is None


def test_it_estimates_when_no_usage_was_reported(bob, acme_model) -> None:
    admission = _open(bob, acme_model, prompt_tokens_upper=120)

    record = admission_settle(admission=admission, usage=None, output_text="x" * 31)

    assert record is not None
    assert record.estimated is True
    assert (record.input_tokens, record.output_tokens) == (120, 8)  # ceil(31 / 4)
    assert record.cost_usd == Decimal("0.000022800")  # 120 * 0.15 + 8 * 0.60 = 22.8 per Mtok


def test_it_estimates_output_when_the_report_stopped_before_it(bob, acme_model) -> None:
    admission = _open(bob, acme_model)

    record = admission_settle(
        admission=admission, usage=TokenUsage(50, output_tokens=0), output_text="abcdef"
    )

    assert record is not None
    assert record.estimated is True
    assert (record.input_tokens, record.output_tokens) == (50, 2)


def test_it_charges_the_prices_snapshotted_at_admission(bob, acme_model) -> None:
    admission = _open(bob, acme_model)
    acme_model.input_usd_per_mtok = Decimal(100)
    acme_model.output_usd_per_mtok = Decimal(100)
    acme_model.save(update_fields=["input_usd_per_mtok", "output_usd_per_mtok"])

    record = admission_settle(admission=admission, usage=TokenUsage(1_000_000))

    assert record is not None
    assert record.cost_usd == Decimal("0.15")
    assert record.input_usd_per_mtok == Decimal("0.15")
    assert record.cached_input_usd_per_mtok == Decimal("0.075")


def test_it_reaps_abandoned_reservations_at_the_reserved_amount(
    bob, acme_model, time_machine
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    abandoned = _open(bob, acme_model)
    time_machine.shift(timedelta(minutes=20))
    fresh = _open(bob, acme_model)

    assert reservation_reap(older_than=timedelta(minutes=15)) == 1
    assert reservation_reap(older_than=timedelta(minutes=15)) == 0

    record = UsageRecord.objects.get()
    assert record.call_id == abandoned.call_id
    assert record.cost_usd == abandoned.reserved_usd
    assert record.estimated is True
    assert (record.input_tokens, record.output_tokens) == (1000, 500)
    assert Reservation.objects.get(call_id=fresh.call_id).status == ReservationStatus.OPEN
    # The dead process comes back and settles: it gets the reaper's row, not a second one.
    late = admission_settle(admission=abandoned, usage=TokenUsage(1, output_tokens=1))
    assert late is not None
    assert late.pk == record.pk
    assert UsageRecord.objects.count() == 1


def test_it_spares_reservations_that_heartbeat(bob, acme_model, time_machine) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    admission = _open(bob, acme_model)
    time_machine.shift(timedelta(minutes=20))
    admission_heartbeat(admission=admission)

    assert reservation_reap(older_than=timedelta(minutes=15)) == 0
    assert Reservation.objects.get(call_id=admission.call_id).status == ReservationStatus.OPEN


def test_it_skips_released_reservations_when_reaping(bob, acme_model, time_machine) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    admission = _open(bob, acme_model)
    admission_settle(admission=admission, usage=None, failed_before_output=True)
    time_machine.shift(timedelta(hours=1))

    assert reservation_reap(older_than=timedelta(minutes=15)) == 0
    assert UsageRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_settles_once_under_concurrent_settles(bob, acme_model) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need Postgres; SQLite serialises writers by itself")
    admission = _open(bob, acme_model)
    barrier = threading.Barrier(6)
    results: list[int | None] = []
    errors: list[BaseException] = []

    def settle(n: int) -> None:
        try:
            barrier.wait()
            record = admission_settle(admission=admission, usage=TokenUsage(100 + n))
            results.append(None if record is None else record.pk)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=settle, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 6
    assert len(set(results)) == 1
    assert UsageRecord.objects.filter(call_id=admission.call_id).count() == 1
    assert Reservation.objects.get(call_id=admission.call_id).status == ReservationStatus.SETTLED


@pytest.mark.django_db(transaction=True)
def test_it_settles_once_when_the_reaper_races_the_engine(bob, acme_model) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need Postgres; SQLite serialises writers by itself")
    admission = _open(bob, acme_model)
    Reservation.objects.filter(call_id=admission.call_id).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(target) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(lambda: reservation_reap(older_than=timedelta(0)),)),
        threading.Thread(
            target=run,
            args=(lambda: admission_settle(admission=admission, usage=TokenUsage(5)),),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert UsageRecord.objects.filter(call_id=admission.call_id).count() == 1


def test_it_leaves_the_reservation_open_when_settling_fails(bob, acme_model) -> None:
    admission = _open(bob, acme_model)

    def unreachable(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(unreachable), pytest.raises(ApplicationError) as refused:
        admission_settle(admission=admission, usage=TokenUsage(10))

    assert refused.value.code == "service_unavailable"
    # The reaper settles it later; a retry once the database is back settles it now.
    assert Reservation.objects.get(call_id=admission.call_id).status == ReservationStatus.OPEN
    assert admission_settle(admission=admission, usage=TokenUsage(10)) is not None
    assert UsageRecord.objects.count() == 1


def test_it_reaps_through_the_celery_task(bob, acme_model, time_machine) -> None:
    from billing.tasks import reservation_reap as reservation_reap_task

    time_machine.move_to(timezone.now(), tick=False)
    _open(bob, acme_model)
    time_machine.shift(timedelta(hours=1))

    assert reservation_reap_task(older_than_seconds=60) == 1
    assert UsageRecord.objects.get().estimated is True


def _hard_budget(acme, alice, bob, limit: str) -> None:
    from billing.budgets import budget_set

    budget_set(
        organization=acme,
        actor=alice,
        scope="user",
        user_id=bob.pk,
        limit_usd=Decimal(limit),
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )


def test_it_says_a_long_request_does_not_fit_what_is_left(alice, bob, acme, acme_model) -> None:
    # 0.15 / 0.60 per Mtok: 20,000 prompt tokens and the 64-token floor need 0.0030384; a
    # one-line question in a new conversation (32 + 64 tokens) fits easily in 0.001.
    _hard_budget(acme, alice, bob, "0.001")

    with pytest.raises(ApplicationError) as refused:
        _open(bob, acme_model, prompt_tokens_upper=20_000, max_tokens=500)

    detail = refused.value.detail
    assert (detail["scope"], detail["reason"]) == ("user", "too_large")
    assert detail["remaining_usd"] == "0.001000000"
    assert detail["needed_usd"] == "0.003038400"
    assert detail["period"] == "monthly"
    assert detail["period_end"].endswith("Z")
    assert "too long for what is left of your budget" in refused.value.message
    assert "Start a new conversation" in refused.value.message


def test_it_says_a_budget_is_used_up_when_nothing_useful_is_left(
    alice, bob, acme, acme_model
) -> None:
    _hard_budget(acme, alice, bob, "0.00004")  # below 32 * 0.15 + 64 * 0.60 = 43.2 per Mtok

    with pytest.raises(ApplicationError) as refused:
        _open(bob, acme_model, prompt_tokens_upper=100, max_tokens=500)

    assert refused.value.detail["reason"] == "exhausted"
    assert refused.value.message.startswith("Your budget of $0.00004 for this month is used up.")
    assert "It resets on" in refused.value.message
