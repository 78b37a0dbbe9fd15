"""The admission gate: THE one path to any provider call.

    admission = admission_open(user=…, ai_model=…, prompt_tokens_upper=…, max_tokens=…, source=…)
    … call the provider with admission.max_tokens and admission.upstream_model …
    admission_settle(admission=admission, usage=…, output_text=…, failed_before_output=…)

`admission_open` snapshots the model's prices, computes the call's worst-case cost and writes an
open `Reservation`; `admission_settle` turns it into exactly one `UsageRecord` (or none when the
call failed before any output); `reservation_reap` settles reservations whose process died.

Everything here is synchronous and touches the database: from async code, call it through
`channels.db.database_sync_to_async`. The gate fails closed: if the ledger cannot be written, no
provider call may start (`ledger_unavailable`, 503).
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import status

from billing.budgets import (
    DEFAULT_PERIOD,
    ORG_SCOPE_KEY,
    ApplicableBudgets,
    BudgetSnapshot,
    admission_context,
    admission_read_sql,
    budget_snapshot,
    budget_updated_dispatch,
    budget_updated_event,
    budget_updated_notify,
    budgets_applicable,
    counters_lock,
    counters_lock_ids,
    counters_move,
    iso_utc,
    nusd_to_usd,
    on_postgres,
    org_tz,
    usd_to_nusd,
    user_scope_key,
)
from billing.models import (
    Budget,
    BudgetCounter,
    BudgetEnforcement,
    Reservation,
    ReservationStatus,
    UsageRecord,
    UsageSource,
)
from billing.periods import PeriodKind, period_key
from billing.pricing import (
    UNLIMITED_TOKENS,
    TokenUsage,
    UnitPrices,
    cost_usd,
    estimate_output_tokens,
    max_tokens_that_fit,
    worst_case_cost,
)
from core.exceptions import ApplicationError, NotFoundError

if TYPE_CHECKING:
    from accounts.models import User
    from chat.events import BudgetUpdatedEvent
    from chat.models import AIModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    """A call the gate let through, with everything settlement needs (no further lookups)."""

    call_id: str
    organization_id: int
    user_id: int
    model_id: str  # the org-facing model id
    upstream_model: str
    provider: str
    provider_key_id: int
    prices: UnitPrices
    max_tokens: int  # possibly lowered (model limit now, budgets later): send THIS upstream
    prompt_tokens_upper: int
    reserved_usd: Decimal
    source: str
    conversation_id: int | None
    message_id: int | None
    api_token_id: int | None
    # The member's budget as admission saw it: settlement builds its `budget.updated` frame and
    # decides on the warnings task from it instead of reading the budgets again (None: read).
    budgets: BudgetSnapshot | None = None


class _CallIds:
    """Unique call ids without a system call each (under load every call that releases the GIL
    waits to get it back): a random per-process prefix, drawn again in a forked child, and a
    counter. 24 random hex characters (96 bits) + 12 counter characters."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = secrets.token_hex(12)
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):012x}"


_call_ids = _CallIds()
os.register_at_fork(after_in_child=_call_ids.reset)


def new_call_id() -> str:
    """A fresh id for one provider call (the ledger's unique `call_id`)."""
    return _call_ids.next()


def _ledger_unavailable(exc: Exception) -> ApplicationError:
    logger.error("billing ledger unavailable: %s", type(exc).__name__, exc_info=exc)
    return ApplicationError(
        "Usage cannot be recorded right now, so the request was not sent. Try again shortly.",
        code="ledger_unavailable",
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def prices_from_model(*, ai_model: AIModel) -> UnitPrices:
    return UnitPrices(
        input=ai_model.input_usd_per_mtok,
        output=ai_model.output_usd_per_mtok,
        cached_input=ai_model.cached_input_usd_per_mtok,
        cache_write=ai_model.cache_write_usd_per_mtok,
    )


def _prices_from_reservation(reservation: Reservation) -> UnitPrices:
    return UnitPrices(
        input=reservation.input_usd_per_mtok,
        output=reservation.output_usd_per_mtok,
        cached_input=reservation.cached_input_usd_per_mtok,
        cache_write=reservation.cache_write_usd_per_mtok,
    )


@dataclass(frozen=True)
class _BudgetFit:
    max_tokens: int
    org_counter: BudgetCounter | None
    user_counter: BudgetCounter
    budgets: ApplicableBudgets


def _fit_one(
    *,
    budget: Budget,
    counter: BudgetCounter,
    scope: str,
    prompt_tokens_upper: int,
    max_tokens: int,
    min_tokens: int,
    prices: UnitPrices,
) -> int:
    """max_tokens lowered to what one hard budget still holds; budget_exceeded below min_tokens."""
    if budget.limit_usd is None or budget.enforcement == BudgetEnforcement.SOFT:
        return max_tokens
    remaining = usd_to_nusd(budget.limit_usd) - counter.spent_nusd - counter.reserved_nusd
    fit = (
        0
        if remaining < 0
        else max_tokens_that_fit(nusd_to_usd(remaining), prompt_tokens_upper, prices)
    )
    if fit < min_tokens:
        raise ApplicationError(
            "The organisation's budget is used up for this period."
            if scope == "org"
            else "Your budget is used up for this period.",
            code="budget_exceeded",
            status=status.HTTP_402_PAYMENT_REQUIRED,
            detail={
                "scope": scope,
                "limit_usd": format(budget.limit_usd, "f"),
                "spent_usd": format(nusd_to_usd(counter.spent_nusd), "f"),
                "reserved_usd": format(nusd_to_usd(max(counter.reserved_nusd, 0)), "f"),
                "period": budget.period,
                "period_end": iso_utc(counter.period_end),
            },
        )
    return min(max_tokens, fit)


def _budgets_fit(
    *,
    organization_id: int,
    user_id: int,
    prompt_tokens_upper: int,
    max_tokens: int,
    prices: UnitPrices,
) -> _BudgetFit:
    """Lock the counters of every budget that applies and lower max_tokens to what they hold.

    Runs inside admission_open's transaction. Locks the org cap's counter first, then the
    member's (the same order everywhere, so concurrent admissions never deadlock); on Postgres
    these row locks serialise admissions of one member (and, with an org cap, of one org) across
    every process, and on SQLite the IMMEDIATE transaction already serialises all writers. The
    member's counter is held even without a budget, so spend is tracked from the first call.
    Raises not_found when the user is not a member of the organisation, and budget_exceeded
    (402) when fewer than min(64, max_tokens) output tokens fit. Two queries when the period's
    counters exist: the membership with the org's time zone and budgets, then both locks.
    """
    context = admission_context(organization_id=organization_id, user_id=user_id)
    if context is None:
        raise NotFoundError("Model not found.")
    budgets = context.budgets
    tz = org_tz(context.time_zone)
    now = timezone.now()
    min_tokens = min(64, max_tokens)
    org_kind: PeriodKind | None = None if budgets.org is None else budgets.org.period  # type: ignore[assignment]
    user_kind: PeriodKind = DEFAULT_PERIOD if budgets.user is None else budgets.user.period  # type: ignore[assignment]
    org_counter, user_counter = counters_lock(
        organization_id=organization_id,
        user_id=user_id,
        org_kind=org_kind,
        user_kind=user_kind,
        tz=tz,
        now=now,
    )
    if budgets.org is not None and org_counter is not None:
        max_tokens = _fit_one(
            budget=budgets.org,
            counter=org_counter,
            scope="org",
            prompt_tokens_upper=prompt_tokens_upper,
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            prices=prices,
        )
    if budgets.user is not None:
        max_tokens = _fit_one(
            budget=budgets.user,
            counter=user_counter,
            scope="user",
            prompt_tokens_upper=prompt_tokens_upper,
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            prices=prices,
        )
    return _BudgetFit(
        max_tokens=max_tokens, org_counter=org_counter, user_counter=user_counter, budgets=budgets
    )


# --- Postgres hot paths: the same writes as the ORM code beside them, in fewer statements ------

_RESERVATION_COLUMNS = (
    "call_id",
    "organization_id",
    "user_id",
    "model",
    "upstream_model",
    "provider",
    "provider_key_id",
    "conversation_id",
    "message_id",
    "api_token_id",
    "source",
    "input_usd_per_mtok",
    "cached_input_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "output_usd_per_mtok",
    "prompt_tokens_upper",
    "max_tokens",
    "reserved_usd",
    "status",
    "created_at",
    "heartbeat_at",
    "user_counter_id",
    "org_counter_id",
)
_COUNTERS = BudgetCounter._meta.db_table
_RESERVE_SQL = f"""
WITH moved AS (
    UPDATE {_COUNTERS} SET reserved_nusd = reserved_nusd + %(reserved_nusd)s, updated_at = %(now)s
    WHERE id = ANY(%(counter_ids)s)
)
INSERT INTO {Reservation._meta.db_table} ({", ".join(_RESERVATION_COLUMNS)})
VALUES ({", ".join(f"%({c})s" for c in _RESERVATION_COLUMNS)})
RETURNING id
"""  # noqa: S608 - table and column names from model metadata; every value is a bound parameter


def _reserve_sql(reservation: Reservation, *, counter_ids: list[int]) -> None:
    """Hold the reservation on its counters (locked by the caller) and insert it: one statement."""
    values = {column: getattr(reservation, column) for column in _RESERVATION_COLUMNS}
    with connection.cursor() as cursor:
        cursor.execute(
            _RESERVE_SQL,
            {
                **values,
                "reserved_nusd": usd_to_nusd(reservation.reserved_usd),
                "now": timezone.now(),
                "counter_ids": counter_ids,
            },
        )
        reservation.pk = cursor.fetchone()[0]
    reservation._state.adding = False
    reservation._state.db = connection.alias


_RECORD_COLUMNS = (
    "organization_id",
    "user_id",
    "model",
    "upstream_model",
    "provider",
    "provider_key_id",
    "conversation_id",
    "message_id",
    "api_token_id",
    "source",
    "call_id",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "input_usd_per_mtok",
    "cached_input_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "output_usd_per_mtok",
    "cost_usd",
    "estimated",
    "created_at",
)
# Settle an open reservation in one statement: lock it (only while still open), write the
# ledger row, close the reservation onto it, then lock its counters in the order every locker
# uses (org first: a MATERIALIZED CTE locks in its ORDER BY, and a counter row is only reached
# through it) and move them. No row when the reservation was not open: nothing changed.
_SETTLE_SQL = f"""
WITH res AS MATERIALIZED (
    SELECT id, reserved_usd, org_counter_id, user_counter_id
    FROM {Reservation._meta.db_table}
    WHERE call_id = %(call_id)s AND status = %(open)s
    FOR UPDATE
), rec AS (
    INSERT INTO {UsageRecord._meta.db_table} ({", ".join(_RECORD_COLUMNS)})
    SELECT {", ".join(f"%({c})s" for c in _RECORD_COLUMNS)} FROM res
    RETURNING id
), closed AS (
    UPDATE {Reservation._meta.db_table} r
    SET status = %(settled)s, settled_at = %(now)s, usage_record_id = (SELECT id FROM rec)
    FROM res WHERE r.id = res.id
), locked AS MATERIALIZED (
    SELECT c.id, (res.reserved_usd * 1000000000)::bigint AS held
    FROM {_COUNTERS} c JOIN res ON c.id IN (res.org_counter_id, res.user_counter_id)
    ORDER BY c.scope_key
    FOR UPDATE OF c
), moved AS (
    UPDATE {_COUNTERS} c
    SET reserved_nusd = c.reserved_nusd - locked.held,
        spent_nusd = c.spent_nusd + %(spent_delta)s,
        updated_at = %(now)s
    FROM locked WHERE c.id = locked.id
    RETURNING c.scope_key, c.period_end, c.spent_nusd, c.reserved_nusd
)
SELECT rec.id, moved.scope_key, moved.period_end, moved.spent_nusd, moved.reserved_nusd
FROM rec LEFT JOIN moved ON true
"""  # noqa: S608 - table and column names from model metadata; every value is a bound parameter


def _settle_sql(
    *,
    admission: Admission,
    usage: TokenUsage | None,
    output_text: str,
    failed_before_output: bool,
) -> tuple[bool, UsageRecord | None]:
    """The usual settlement on Postgres, as one statement outside any transaction (its locks
    are held for its execution only): (True, record) when done; (False, None) when it changed
    nothing (no usage to bill, or the reservation is not open) and the ORM paths decide."""
    if failed_before_output and usage is None:
        return False, None
    billed, estimated = _settled_usage(admission=admission, usage=usage, output_text=output_text)
    record = _record_build(
        admission=admission,
        usage=billed,
        cost=cost_usd(billed, admission.prices),
        estimated=estimated,
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _SETTLE_SQL,
            {
                **{column: getattr(record, column) for column in _RECORD_COLUMNS},
                "call_id": admission.call_id,
                "open": ReservationStatus.OPEN,
                "settled": ReservationStatus.SETTLED,
                "now": now,
                "spent_delta": usd_to_nusd(record.cost_usd),
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return False, None
    record.pk = rows[0][0]
    record._state.adding = False
    record._state.db = connection.alias
    budgets = admission.budgets
    if budgets is None:
        budgets = budget_snapshot(
            budgets_applicable(organization_id=admission.organization_id, user_id=admission.user_id)
        )
    event = None
    moved = False
    for _record_id, scope_key, period_end, spent_nusd, reserved_nusd in rows:
        if scope_key is None:
            continue  # no counters (a reservation from before counters existed)
        moved = True
        if scope_key == user_scope_key(admission.user_id) and period_end > now:
            counter = BudgetCounter(
                period_end=period_end, spent_nusd=spent_nusd, reserved_nusd=reserved_nusd
            )
            event = budget_updated_event(counter=counter, limit_usd=budgets.user_limit_usd)
    if moved:
        warn = budgets.warn
        organization_id, user_id = admission.organization_id, admission.user_id
        transaction.on_commit(
            lambda: _after_settle(
                organization_id=organization_id, user_id=user_id, warn=warn, event=event
            )
        )
    return True, record


def admission_output_cap(admission: Admission) -> int:
    """The most output tokens the admission's reservation covers (at least its max_tokens).

    For mid-stream enforcement: a provider that ignores max_tokens must be cut off once the
    stream's output passes this, so the overshoot stays within what was reserved (plus the
    tokens in flight, which settlement still charges: overshoot is recorded, never written off).
    Pure; UNLIMITED_TOKENS when output is free.
    """
    fit = max_tokens_that_fit(
        admission.reserved_usd, admission.prompt_tokens_upper, admission.prices
    )
    return min(max(fit, admission.max_tokens), UNLIMITED_TOKENS)


def admission_open(
    *,
    user: User,
    ai_model: AIModel,
    prompt_tokens_upper: int,
    max_tokens: int,
    source: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
    api_token_id: int | None = None,
) -> Admission:
    """Admit one provider call: snapshot prices, reserve its worst case, return the Admission.

    `max_tokens` is capped at the model's `max_output_tokens` (and, later, at what budgets allow):
    the caller must send `admission.max_tokens` upstream, not its own value. Raises
    ApplicationError `validation_error` for bad arguments, `not_found` when the user is not in the
    model's organisation, `ledger_unavailable` (503) when the database cannot be written.
    """
    if prompt_tokens_upper < 0 or max_tokens < 1:
        raise ApplicationError(
            "max_tokens must be at least 1 and the prompt size non-negative.",
            code="validation_error",
        )
    if source not in UsageSource.values:
        raise ApplicationError(f"Unknown usage source {source!r}.", code="validation_error")
    if ai_model.max_output_tokens:
        max_tokens = min(max_tokens, ai_model.max_output_tokens)
    prices = prices_from_model(ai_model=ai_model)
    try:
        reservation = Reservation(
            call_id=new_call_id(),
            organization_id=ai_model.organization_id,
            user_id=user.pk,
            model=ai_model.model_id,
            upstream_model=ai_model.name,
            provider=ai_model.provider_key.provider,
            provider_key_id=ai_model.provider_key_id,
            conversation_id=conversation_id,
            message_id=message_id,
            api_token_id=api_token_id,
            source=source,
            input_usd_per_mtok=prices.input,
            cached_input_usd_per_mtok=prices.cached_input,
            cache_write_usd_per_mtok=prices.cache_write,
            output_usd_per_mtok=prices.output,
            prompt_tokens_upper=prompt_tokens_upper,
            max_tokens=max_tokens,
            reserved_usd=worst_case_cost(prompt_tokens_upper, max_tokens, prices),
        )
        budgets = None
        if on_postgres() and max_tokens <= UNLIMITED_TOKENS:
            budgets = _reserve_quick(reservation)
        if budgets is None:
            budgets = _reserve_locked(reservation, prices=prices)
    except DatabaseError as exc:
        raise _ledger_unavailable(exc) from exc
    return Admission(
        call_id=reservation.call_id,
        organization_id=reservation.organization_id,
        user_id=reservation.user_id,
        model_id=reservation.model,
        upstream_model=reservation.upstream_model,
        provider=reservation.provider,
        provider_key_id=ai_model.provider_key_id,
        prices=prices,
        max_tokens=int(reservation.max_tokens),
        prompt_tokens_upper=prompt_tokens_upper,
        reserved_usd=reservation.reserved_usd,
        source=source,
        conversation_id=conversation_id,
        message_id=message_id,
        api_token_id=api_token_id,
        budgets=budget_snapshot(budgets),
    )


def _reserve_locked(reservation: Reservation, *, prices: UnitPrices) -> ApplicableBudgets:
    """Admission under the counters' locks, held to the end of a transaction: lowers
    max_tokens to what the budgets hold or refuses, then writes the reservation."""
    with transaction.atomic():
        fit = _budgets_fit(
            organization_id=reservation.organization_id,
            user_id=reservation.user_id,
            prompt_tokens_upper=int(reservation.prompt_tokens_upper),
            max_tokens=int(reservation.max_tokens),
            prices=prices,
        )
        reservation.max_tokens = fit.max_tokens
        reservation.reserved_usd = worst_case_cost(
            int(reservation.prompt_tokens_upper), fit.max_tokens, prices
        )
        reservation.org_counter = fit.org_counter
        reservation.user_counter = fit.user_counter
        counter_ids = [c.pk for c in (fit.org_counter, fit.user_counter) if c is not None]
        if on_postgres():
            _reserve_sql(reservation, counter_ids=counter_ids)
        else:
            counters_move(
                counter_ids=counter_ids,
                reserved_delta_nusd=usd_to_nusd(reservation.reserved_usd),
                spent_delta_nusd=0,
            )
            reservation.save(force_insert=True)
    return fit.budgets


_RESERVE_IF_FITS_SQL = f"""
WITH locked AS MATERIALIZED (
    SELECT id, spent_nusd, reserved_nusd FROM {_COUNTERS}
    WHERE id = ANY(%(counter_ids)s) ORDER BY scope_key FOR UPDATE
), verdict AS MATERIALIZED (
    SELECT count(*) = %(counter_count)s AND coalesce(bool_and(CASE id
        WHEN %(org_counter_id)s THEN %(org_limit)s::bigint IS NULL
            OR %(org_limit)s::bigint - spent_nusd - reserved_nusd >= %(reserved_nusd)s
        WHEN %(user_counter_id)s THEN %(user_limit)s::bigint IS NULL
            OR %(user_limit)s::bigint - spent_nusd - reserved_nusd >= %(reserved_nusd)s
        END), false) AS fits
    FROM locked
), moved AS (
    UPDATE {_COUNTERS} c SET reserved_nusd = c.reserved_nusd + %(reserved_nusd)s,
        updated_at = %(now)s
    FROM locked, verdict WHERE c.id = locked.id AND verdict.fits
), inserted AS (
    INSERT INTO {Reservation._meta.db_table} ({", ".join(_RESERVATION_COLUMNS)})
    SELECT {", ".join(f"%({c})s" for c in _RESERVATION_COLUMNS)} FROM verdict WHERE verdict.fits
    RETURNING id
)
SELECT verdict.fits, (SELECT id FROM inserted) FROM verdict
"""  # noqa: S608 - table and column names from model metadata; every value is a bound parameter


def _reserve_quick(reservation: Reservation) -> ApplicableBudgets | None:
    """Optimistic admission on Postgres: the reservation as asked for, or None (nothing
    written) to leave the call to `_reserve_locked`.

    One unlocked read of the budgets and the period's counters; if the full request fits
    them, one statement locks the counters (org first, like every locker), re-checks the fit
    against their current values, moves them and inserts the reservation, or changes nothing.
    Run outside a transaction, that statement is its own: the locks are held for its execution
    only, never across a round trip to this process. The outcome is the locked path's: it
    admits unchanged exactly what fits the current counters; anything to lower, refuse or
    create (a new period's counter, a non-member) goes the locked way.
    """
    now = timezone.now()
    organization_id, user_id = reservation.organization_id, reservation.user_id
    read = admission_read_sql(organization_id=organization_id, user_id=user_id, now=now)
    if read is None:
        return None
    context, counters = read
    budgets = context.budgets
    tz = org_tz(context.time_zone)
    user_kind: PeriodKind = DEFAULT_PERIOD if budgets.user is None else budgets.user.period  # type: ignore[assignment]
    user_counter = counters.get((user_scope_key(user_id), period_key(user_kind, now, tz)))
    org_counter = None
    if budgets.org is not None:
        org_kind: PeriodKind = budgets.org.period  # type: ignore[assignment]
        org_counter = counters.get((ORG_SCOPE_KEY, period_key(org_kind, now, tz)))
        if org_counter is None:
            return None
    if user_counter is None:
        return None
    need = usd_to_nusd(reservation.reserved_usd)
    limits: dict[int, int | None] = {}
    for budget, counter in ((budgets.org, org_counter), (budgets.user, user_counter)):
        if counter is None:
            continue
        limits[counter.pk] = None
        if budget is None or budget.limit_usd is None:
            continue
        if budget.enforcement == BudgetEnforcement.SOFT:
            continue
        limit = usd_to_nusd(budget.limit_usd)
        if limit - counter.spent_nusd - counter.reserved_nusd < need:
            return None  # it would be lowered or refused: decided under the locks
        limits[counter.pk] = limit
    reservation.org_counter_id = None if org_counter is None else org_counter.pk
    reservation.user_counter_id = user_counter.pk
    reservation.created_at = reservation.heartbeat_at = now
    values = {column: getattr(reservation, column) for column in _RESERVATION_COLUMNS}
    with connection.cursor() as cursor:
        cursor.execute(
            _RESERVE_IF_FITS_SQL,
            {
                **values,
                "counter_ids": list(limits),
                "counter_count": len(limits),
                "org_counter_id": reservation.org_counter_id,
                "org_limit": None if org_counter is None else limits[org_counter.pk],
                "user_counter_id": user_counter.pk,
                "user_limit": limits[user_counter.pk],
                "reserved_nusd": need,
                "now": now,
            },
        )
        fits, reservation_id = cursor.fetchone()
    if not fits:
        return None
    reservation.pk = reservation_id
    reservation._state.adding = False
    reservation._state.db = connection.alias
    return budgets


def admission_heartbeat(*, admission: Admission) -> None:
    """Mark a long call as alive, so the reaper leaves its reservation alone."""
    try:
        Reservation.objects.filter(call_id=admission.call_id, status=ReservationStatus.OPEN).update(
            heartbeat_at=timezone.now()
        )
    except DatabaseError:
        # Best effort: a missed heartbeat only risks an early reap at the reserved amount.
        logger.warning("reservation heartbeat failed for %s", admission.call_id)


def _settled_usage(
    *, admission: Admission, usage: TokenUsage | None, output_text: str
) -> tuple[TokenUsage, bool]:
    """The usage to bill and whether it is estimated."""
    if usage is None:
        # No report at all: the prompt's upper bound and the output text's estimate.
        estimate = TokenUsage(
            input_tokens=admission.prompt_tokens_upper,
            output_tokens=estimate_output_tokens(output_text),
        )
        return estimate, True
    usage = usage.normalized()
    if usage.output_tokens == 0 and output_text:
        # A report that stopped before its output count (a stream cut after Anthropic's
        # message_start, say) while text did arrive: the output part is estimated.
        return TokenUsage(
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            output_tokens=estimate_output_tokens(output_text),
        ), True
    return usage, False


def _record_build(
    *,
    admission: Admission,
    usage: TokenUsage,
    cost: Decimal,
    estimated: bool,
) -> UsageRecord:
    return UsageRecord(
        organization_id=admission.organization_id,
        user_id=admission.user_id,
        model=admission.model_id,
        upstream_model=admission.upstream_model,
        provider=admission.provider,
        provider_key_id=admission.provider_key_id,
        conversation_id=admission.conversation_id,
        message_id=admission.message_id,
        api_token_id=admission.api_token_id,
        source=admission.source,
        call_id=admission.call_id,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        input_usd_per_mtok=admission.prices.input,
        cached_input_usd_per_mtok=admission.prices.cached_input,
        cache_write_usd_per_mtok=admission.prices.cache_write,
        output_usd_per_mtok=admission.prices.output,
        cost_usd=cost,
        estimated=estimated,
    )


def _record_write(
    *,
    admission: Admission,
    usage: TokenUsage,
    cost: Decimal,
    estimated: bool,
) -> UsageRecord:
    record = _record_build(admission=admission, usage=usage, cost=cost, estimated=estimated)
    # The call_id is unique: a concurrent settle that got here first makes this insert fail, and
    # the savepoint lets the caller read that row instead.
    with transaction.atomic():
        record.save()
    return record


def _reservation_close(
    reservation: Reservation | None,
    *,
    new_status: str,
    record: UsageRecord | None,
    budgets: BudgetSnapshot | None = None,
) -> None:
    """Close an open reservation (locked by the caller) and move its budget counters, once.

    The counters change only on the OPEN → SETTLED/RELEASED transition, which the reservation's
    row lock makes happen exactly once: the hold leaves `reserved`, the charge (the real one,
    even past the limit: an overshoot is recorded, never written off) enters `spent`. After
    commit the member gets `budget.updated`, and the warnings task is queued when a budget warns.
    `budgets` is admission's snapshot of the member's budget; without it they are read here.
    """
    if reservation is None or reservation.status != ReservationStatus.OPEN:
        return
    reservation.status = new_status
    reservation.settled_at = timezone.now()
    reservation.usage_record = record
    reservation.save(update_fields=["status", "settled_at", "usage_record"])
    counter_ids = [
        c for c in (reservation.org_counter_id, reservation.user_counter_id) if c is not None
    ]
    if not counter_ids:
        return
    reserved_delta = -usd_to_nusd(reservation.reserved_usd)
    spent_delta = 0 if record is None else usd_to_nusd(record.cost_usd)
    counters = counters_lock_ids(counter_ids=counter_ids)
    counters_move(
        counter_ids=counter_ids, reserved_delta_nusd=reserved_delta, spent_delta_nusd=spent_delta
    )
    organization_id, user_id = reservation.organization_id, reservation.user_id
    if budgets is None:
        budgets = budget_snapshot(
            budgets_applicable(organization_id=organization_id, user_id=user_id)
        )
    event = None
    user_counter = next((c for c in counters if c.pk == reservation.user_counter_id), None)
    if user_counter is not None and user_counter.period_end > reservation.settled_at:
        # The frame from the counter as this transaction leaves it (it holds the row lock).
        user_counter.spent_nusd += spent_delta
        user_counter.reserved_nusd += reserved_delta
        event = budget_updated_event(counter=user_counter, limit_usd=budgets.user_limit_usd)
    warn = budgets.warn
    transaction.on_commit(
        lambda: _after_settle(
            organization_id=organization_id, user_id=user_id, warn=warn, event=event
        )
    )


def _after_settle(
    *, organization_id: int, user_id: int, warn: bool, event: BudgetUpdatedEvent | None
) -> None:
    """Runs after the settlement committed: never raises into the engine's ending."""
    if event is None:
        # The call's period has ended meanwhile: the frame shows the current one, read afresh.
        budget_updated_notify(organization_id=organization_id, user_id=user_id)
    else:
        try:
            budget_updated_dispatch(user_id=user_id, event=event)
        except Exception:
            logger.warning("budget.updated for user %s not sent", user_id, exc_info=True)
    if not warn:
        return
    try:
        from billing.tasks import budget_warnings_check as budget_warnings_check_task

        budget_warnings_check_task.delay(organization_id=organization_id, user_id=user_id)
    except Exception:
        # The beat scan (budget_warnings_scan) catches up when the broker is back.
        logger.warning("budget warnings task not queued for user %s", user_id, exc_info=True)


def admission_settle(
    *,
    admission: Admission,
    usage: TokenUsage | None,
    output_text: str = "",
    failed_before_output: bool = False,
) -> UsageRecord | None:
    """Settle one admitted call into the ledger, exactly once per call_id.

    - `failed_before_output` and no usage: no ledger row (no charge); the reservation is released.
    - `usage` None otherwise: input = the prompt's upper bound, output = estimate_output_tokens(
      output_text), `estimated=True`.
    - otherwise the reported usage (clamped upward if impossible) at the admission's prices.

    Idempotent and safe under concurrency: the Reservation row is locked (select_for_update) for
    the whole transaction, and the unique call_id backs it up where locks are no-ops (SQLite, whose
    IMMEDIATE transactions serialise writers anyway). A repeated or concurrent call returns the
    existing row, or None if the call was released; the reaper may have settled it first, at the
    reserved amount, in which case that row is returned. Raises `ledger_unavailable` (503) when the
    database is down: the reservation then stays open and the reaper settles it later.
    """
    try:
        if on_postgres():
            try:
                # Inside a caller's transaction a savepoint keeps a failed statement from
                # breaking it; on its own (the engine) the statement is its own transaction.
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    done, settled = _settle_sql(
                        admission=admission,
                        usage=usage,
                        output_text=output_text,
                        failed_before_output=failed_before_output,
                    )
            except IntegrityError:
                done, settled = False, None  # a ledger row exists already: the careful way
            if done:
                return settled
        try:
            return _settle(
                admission=admission,
                usage=usage,
                output_text=output_text,
                failed_before_output=failed_before_output,
                careful=False,
            )
        except IntegrityError:
            # The quick path found a ledger row it did not expect (its insert has no savepoint,
            # so its transaction is rolled back): settle again the careful way.
            return _settle(
                admission=admission,
                usage=usage,
                output_text=output_text,
                failed_before_output=failed_before_output,
                careful=True,
            )
    except DatabaseError as exc:
        raise _ledger_unavailable(exc) from exc


def _settle(
    *,
    admission: Admission,
    usage: TokenUsage | None,
    output_text: str,
    failed_before_output: bool,
    careful: bool,
) -> UsageRecord | None:
    with transaction.atomic():
        if not careful:
            done, settled = _settle_open(
                admission=admission,
                usage=usage,
                output_text=output_text,
                failed_before_output=failed_before_output,
            )
            if done:
                return settled
        return _settle_careful(
            admission=admission,
            usage=usage,
            output_text=output_text,
            failed_before_output=failed_before_output,
        )


def _settle_open(
    *,
    admission: Admission,
    usage: TokenUsage | None,
    output_text: str,
    failed_before_output: bool,
) -> tuple[bool, UsageRecord | None]:
    """The usual settlement through the ORM (SQLite): an open reservation, locked here.

    Ledger rows are only ever written together with closing their reservation, under its lock,
    so an open reservation has none: no lookup and no savepoint. The unique call_id still guards
    the insert (an IntegrityError rolls back and settles the careful way). (False, None) leaves
    any other case to `_settle_careful`, in the same transaction.
    """
    reservation = Reservation.objects.select_for_update().filter(call_id=admission.call_id).first()
    if reservation is None or reservation.status != ReservationStatus.OPEN:
        return False, None
    if failed_before_output and usage is None:
        _reservation_close(
            reservation,
            new_status=ReservationStatus.RELEASED,
            record=None,
            budgets=admission.budgets,
        )
        return True, None
    billed, estimated = _settled_usage(admission=admission, usage=usage, output_text=output_text)
    record = _record_build(
        admission=admission,
        usage=billed,
        cost=cost_usd(billed, admission.prices),
        estimated=estimated,
    )
    record.save(force_insert=True)
    _reservation_close(
        reservation,
        new_status=ReservationStatus.SETTLED,
        record=record,
        budgets=admission.budgets,
    )
    return True, record


def _settle_careful(
    *,
    admission: Admission,
    usage: TokenUsage | None,
    output_text: str,
    failed_before_output: bool,
) -> UsageRecord | None:
    """A repeated or concurrent settlement, a released or reaped call, or no reservation."""
    reservation = Reservation.objects.select_for_update().filter(call_id=admission.call_id).first()
    existing = UsageRecord.objects.filter(call_id=admission.call_id).first()
    if existing is not None:
        _reservation_close(reservation, new_status=ReservationStatus.SETTLED, record=existing)
        return existing
    if reservation is not None and reservation.status == ReservationStatus.RELEASED:
        return None
    if failed_before_output and usage is None:
        _reservation_close(reservation, new_status=ReservationStatus.RELEASED, record=None)
        return None
    billed, estimated = _settled_usage(admission=admission, usage=usage, output_text=output_text)
    try:
        record = _record_write(
            admission=admission,
            usage=billed,
            cost=cost_usd(billed, admission.prices),
            estimated=estimated,
        )
    except IntegrityError:
        record = UsageRecord.objects.get(call_id=admission.call_id)
    _reservation_close(reservation, new_status=ReservationStatus.SETTLED, record=record)
    return record


def _admission_from_reservation(reservation: Reservation) -> Admission:
    return Admission(
        call_id=reservation.call_id,
        organization_id=reservation.organization_id,
        user_id=reservation.user_id,
        model_id=reservation.model,
        upstream_model=reservation.upstream_model,
        provider=reservation.provider,
        provider_key_id=reservation.provider_key_id or 0,
        prices=_prices_from_reservation(reservation),
        max_tokens=int(reservation.max_tokens),
        prompt_tokens_upper=int(reservation.prompt_tokens_upper),
        reserved_usd=reservation.reserved_usd,
        source=reservation.source,
        conversation_id=reservation.conversation_id,
        message_id=reservation.message_id,
        api_token_id=reservation.api_token_id,
    )


def reservation_reap(*, older_than: timedelta) -> int:
    """Settle open reservations whose heartbeat is older than `older_than`; return how many.

    Their process died mid-call, so the usage is unknown: each is charged its reserved amount (the
    worst case: prompt upper bound and max_tokens), `estimated=True`. Idempotent: each reservation
    is settled in its own transaction under the same lock `admission_settle` takes, so a late
    settle and the reaper never both write.
    """
    cutoff = timezone.now() - older_than
    call_ids = list(
        Reservation.objects.filter(
            status=ReservationStatus.OPEN, heartbeat_at__lt=cutoff
        ).values_list("call_id", flat=True)
    )
    reaped = 0
    for call_id in call_ids:
        with transaction.atomic():
            reservation = (
                Reservation.objects.select_for_update()
                .filter(call_id=call_id, status=ReservationStatus.OPEN, heartbeat_at__lt=cutoff)
                .first()
            )
            if reservation is None:
                continue  # settled or heartbeat bumped since the scan
            admission = _admission_from_reservation(reservation)
            record = UsageRecord.objects.filter(call_id=call_id).first()
            if record is None:
                try:
                    record = _record_write(
                        admission=admission,
                        usage=TokenUsage(
                            input_tokens=admission.prompt_tokens_upper,
                            output_tokens=admission.max_tokens,
                        ),
                        cost=reservation.reserved_usd,
                        estimated=True,
                    )
                except IntegrityError:
                    record = UsageRecord.objects.get(call_id=call_id)
                else:
                    reaped += 1
                    logger.warning("reaped abandoned reservation %s", call_id)
            _reservation_close(reservation, new_status=ReservationStatus.SETTLED, record=record)
    return reaped
