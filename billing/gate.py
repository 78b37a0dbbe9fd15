"""The admission gate: the one path to any provider call.

    admission = admission_open(organization_id=…, user_id=…, model=ModelPrice(…), …)
    … call the provider with admission.max_tokens and admission.upstream_model …
    admission_settle(admission=admission, usage=…, output_text=…, …)

`admission_open` takes a price snapshot of the model, locks the counters of every budget that
applies, asks `billing.policy.fit` whether the call's worst case fits (lowering max_tokens when
it must), and holds that worst case in an open `Reservation`. `admission_settle` closes it into
exactly one ledger row (none when the call failed before any output), at the snapshot's prices,
for every ending: complete, stopped, failed; `reservation_reap` settles the reservations of a
process that died through the same function.

Everything here is synchronous and touches the database: from async code, call it through
`channels.db.database_sync_to_async`. The gate fails closed: when the ledger cannot be written
no provider call may start (`service_unavailable`, 503).
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.utils import timezone
from rest_framework import status

from billing import ledger, notices, policy
from billing.ledger import CounterKey, MemberBudgets
from billing.models import (
    Budget,
    BudgetCounter,
    Reservation,
    ReservationStatus,
    UsageRecord,
    UsageSource,
)
from billing.periods import PeriodKind
from billing.pricing import TokenUsage, UnitPrices, cost_usd, worst_case_cost
from core.dates import iso_utc, zone
from core.exceptions import ApplicationError, NotFoundError, ServiceUnavailableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPrice:
    """What the gate needs to know of the model a call uses, snapshotted by the caller: billing
    never reads the provider catalogue's tables."""

    model_id: str  # the org-facing model id
    upstream_model: str
    provider: str
    provider_key_id: int
    prices: UnitPrices
    max_output_tokens: int | None = None


@dataclass(frozen=True)
class TokenCap:
    """An API token's own spending cap (over its lifetime): one more budget for its calls."""

    token_id: int
    limit_usd: Decimal


@dataclass(frozen=True)
class Admission:
    """A call the gate let through, with everything settlement needs (no further lookups)."""

    call_id: str
    organization_id: int
    user_id: int
    model_id: str
    upstream_model: str
    provider: str
    provider_key_id: int
    prices: UnitPrices
    max_tokens: int  # possibly lowered (model limit, budgets): send THIS upstream
    prompt_tokens_upper: int
    reserved_usd: Decimal
    source: str
    conversation_id: int | None
    message_id: int | None
    api_token_id: int | None
    prompt_tokens_estimate: int = 0
    # The budgets that applied, as admission read them under their locks (member's first is
    # not implied: look them up by scope). Empty for an admission rebuilt by the reaper.
    limits: tuple[policy.Limit, ...] = field(default=())


class _CallIds:
    """Unique call ids without a system call each: a random per-process prefix (drawn again in
    a forked child) and a counter. 24 random hex characters (96 bits) + 12 counter characters."""

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


def _unavailable(exc: Exception) -> ServiceUnavailableError:
    logger.error("billing ledger unavailable: %s", type(exc).__name__, exc_info=exc)
    return ServiceUnavailableError("database")


# --- Admission ------------------------------------------------------------------------------------


def admission_open(
    *,
    organization_id: int,
    user_id: int,
    model: ModelPrice,
    prompt_tokens_upper: int,
    max_tokens: int,
    source: str,
    prompt_tokens_estimate: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    api_token_id: int | None = None,
    token_cap: TokenCap | None = None,
) -> Admission:
    """Admit one provider call: lock the applicable budgets' counters, fit, reserve.

    `max_tokens` is capped at the model's limit and lowered to what the budgets hold: the caller
    must send `admission.max_tokens` upstream, not its own value. In its own transaction, or the
    caller's (the chat socket stores the messages and admits in one). Raises `validation_error`
    for bad arguments, `not_found` when the user is not a member of the organisation,
    `budget_exceeded` (402) with the refusing budget's amounts, `service_unavailable` (503)
    when the database cannot be written.
    """
    if prompt_tokens_upper < 0 or max_tokens < 1:
        raise ApplicationError(
            "max_tokens must be at least 1 and the prompt size non-negative.",
            code="validation_error",
        )
    if source not in UsageSource.values:
        raise ApplicationError(f"Unknown usage source {source!r}.", code="validation_error")
    if model.max_output_tokens:
        max_tokens = min(max_tokens, model.max_output_tokens)
    try:
        with transaction.atomic():
            budgets = ledger.member_budgets(organization_id=organization_id, user_id=user_id)
            if budgets is None:
                raise NotFoundError("Model not found.")
            now = timezone.now()
            keys = _counter_keys(budgets=budgets, user_id=user_id, token_cap=token_cap)
            counters = ledger.counters_lock(
                organization_id=organization_id,
                keys=list(keys.values()),
                tz=zone(budgets.time_zone),
                now=now,
            )
            limits = _limits(budgets=budgets, token_cap=token_cap, counters=counters, keys=keys)
            fitted = policy.fit(
                limits=list(limits.values()),
                prompt_tokens_upper=prompt_tokens_upper,
                max_tokens=max_tokens,
                prices=model.prices,
            )
            if isinstance(fitted, policy.Refusal):
                raise _refusal_error(fitted, time_zone=budgets.time_zone)
            reservation = _reservation_insert(
                organization_id=organization_id,
                user_id=user_id,
                model=model,
                prompt_tokens_upper=prompt_tokens_upper,
                max_tokens=fitted,
                source=source,
                conversation_id=conversation_id,
                message_id=message_id,
                api_token_id=api_token_id,
                token_cap=token_cap,
                counters=counters,
                keys=keys,
                now=now,
            )
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    # The reaper rebuilds an Admission from the row the same way; admission adds what only it
    # knows: the prompt's estimate and the budgets as read under their locks.
    return replace(
        _admission_from_reservation(reservation),
        prompt_tokens_estimate=(
            prompt_tokens_upper if prompt_tokens_estimate is None else prompt_tokens_estimate
        ),
        limits=tuple(limits.values()),
    )


def _counter_keys(
    *, budgets: MemberBudgets, user_id: int, token_cap: TokenCap | None
) -> dict[policy.Scope, CounterKey]:
    """The counters a call is held against: the org cap's when there is one, the token's cap,
    and always the member's (spend is tracked from the first call, budget or not)."""
    keys: dict[policy.Scope, CounterKey] = {}
    if budgets.org is not None:
        keys["org"] = CounterKey(ledger.ORG_SCOPE_KEY, _period(budgets.org))
    if token_cap is not None:
        keys["token"] = CounterKey(
            ledger.token_scope_key(token_cap.token_id), "total", api_token_id=token_cap.token_id
        )
    user_period = ledger.DEFAULT_PERIOD if budgets.user is None else _period(budgets.user)
    keys["user"] = CounterKey(ledger.user_scope_key(user_id), user_period, user_id=user_id)
    return keys


def _period(budget: Budget) -> PeriodKind:
    return budget.period  # type: ignore[return-value]


def _limits(
    *,
    budgets: MemberBudgets,
    token_cap: TokenCap | None,
    counters: dict[str, BudgetCounter],
    keys: dict[policy.Scope, CounterKey],
) -> dict[policy.Scope, policy.Limit]:
    """The applicable budgets with their locked counters, in the order refusals name them:
    the organisation's cap first, then the token's, then the member's."""
    limits: dict[policy.Scope, policy.Limit] = {}
    if "org" in keys:
        limits["org"] = ledger.budget_limit(
            scope="org", budget=budgets.org, counter=counters[keys["org"].scope_key]
        )
    if token_cap is not None:
        counter = counters[keys["token"].scope_key]
        limits["token"] = policy.Limit(
            scope="token",
            limit_nusd=policy.nusd(token_cap.limit_usd),
            hard=True,
            spent_nusd=counter.spent_nusd,
            reserved_nusd=counter.reserved_nusd,
            period="total",
        )
    limits["user"] = ledger.budget_limit(
        scope="user", budget=budgets.user, counter=counters[keys["user"].scope_key]
    )
    return limits


def _reservation_insert(
    *,
    organization_id: int,
    user_id: int,
    model: ModelPrice,
    prompt_tokens_upper: int,
    max_tokens: int,
    source: str,
    conversation_id: int | None,
    message_id: int | None,
    api_token_id: int | None,
    token_cap: TokenCap | None,
    counters: dict[str, BudgetCounter],
    keys: dict[policy.Scope, CounterKey],
    now: datetime,
) -> Reservation:
    def counter(scope: policy.Scope) -> BudgetCounter | None:
        return counters[keys[scope].scope_key] if scope in keys else None

    prices = model.prices
    reservation = Reservation.objects.create(
        call_id=new_call_id(),
        organization_id=organization_id,
        user_id=user_id,
        model=model.model_id,
        upstream_model=model.upstream_model,
        provider=model.provider,
        provider_key_id=model.provider_key_id,
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
        created_at=now,
        heartbeat_at=now,
        user_counter=counter("user"),
        org_counter=counter("org"),
        token_counter=counter("token"),
    )
    ledger.counters_move(
        counters=list(counters.values()),
        reserved_nusd=policy.nusd(reservation.reserved_usd),
        spent_nusd=0,
    )
    return reservation


# --- Refusals -------------------------------------------------------------------------------------

_PERIOD_WORDS = {"daily": "today", "weekly": "this week", "monthly": "this month"}


def _money(nano: int) -> str:
    """An amount for the message: no trailing zeros, never negative."""
    return format(policy.usd(max(nano, 0)).normalize(), "f")


def _usd(nano: int) -> str:
    """An amount for the detail: the contract's decimal string, 9 places."""
    return notices.usd_str(policy.usd(nano))


def _refusal_error(refusal: policy.Refusal, *, time_zone: str) -> ApplicationError:
    """A `budget_exceeded` refusal that says which budget, why, how much and until when.

    The SPA words it from `detail` in the member's language; the message is the English text.
    """
    limit = refusal.limit
    remaining = limit.remaining_nusd or 0
    ends = None
    if limit.period_end is not None and limit.period not in (None, "total"):
        ends = limit.period_end.astimezone(zone(time_zone))
    resets = f" It resets on {ends:%-d %B %Y}." if ends is not None else ""
    whose = {"org": "The organisation's", "token": "This API token's", "user": "Your"}[limit.scope]
    what = "spending cap" if limit.scope == "token" else "budget"
    amount = f"${_money(limit.limit_nusd or 0)}"
    if refusal.reason == "exhausted":
        when = _PERIOD_WORDS.get(limit.period or "", "")
        message = f"{whose} {what} of {amount}{' for ' + when if when else ''} is used up.{resets}"
        if ends is None:
            message += " Ask an admin to raise it."
    else:
        message = (
            f"This conversation is too long for what is left of {whose.lower()} {what}: even a "
            f"short answer could cost up to ${_money(refusal.needed_nusd)}, and "
            f"${_money(remaining)} is left.{resets} Start a new conversation, ask for a shorter "
            "answer, or ask an admin to raise the budget."
        )
    return ApplicationError(
        message,
        code="budget_exceeded",
        status=status.HTTP_402_PAYMENT_REQUIRED,
        detail={
            "scope": limit.scope,
            "reason": refusal.reason,
            "limit_usd": _usd(limit.limit_nusd or 0),
            "spent_usd": _usd(limit.spent_nusd),
            "reserved_usd": _usd(max(limit.reserved_nusd, 0)),
            "remaining_usd": _usd(remaining),
            "needed_usd": _usd(refusal.needed_nusd),
            "period": limit.period,
            "period_end": None if ends is None else iso_utc(ends),
        },
    )


# --- Settlement -----------------------------------------------------------------------------------


def admission_output_cap(admission: Admission) -> int:
    """The engine cuts a stream off once its output count passes this (max_tokens plus the
    margin of `policy.overrun_margin`): only a provider that ignores max_tokens gets there."""
    return policy.output_cap(admission.max_tokens)


def admission_heartbeat(*, admission: Admission) -> None:
    """Mark a long call as alive, so the reaper leaves its reservation alone."""
    try:
        ledger.reservation_heartbeat(call_id=admission.call_id)
    except DatabaseError:
        # Best effort: a missed heartbeat only risks an early reap at the reserved amount.
        logger.warning("reservation heartbeat failed for %s", admission.call_id)


def admission_settle(
    *,
    admission: Admission,
    usage: TokenUsage | None,
    output_text: str = "",
    failed_before_output: bool = False,
    output_deltas: int = 0,
    cut_off: bool = False,
) -> UsageRecord | None:
    """Settle one admitted call into the ledger, exactly once per call_id.

    - `failed_before_output` and no usage: no ledger row (no charge); the reservation is released.
    - otherwise `policy.billed_usage`: the provider's report as it is, or an estimate that never
      exceeds what the reservation covered (`estimated=True`).

    Idempotent and safe under concurrency (the reservation row is locked for the transaction): a
    repeated or concurrent call returns the existing row, or None if the call was released; the
    reaper may have settled it first, at the reserved amount. Raises `service_unavailable` (503)
    when the database is down: the reservation then stays open and the reaper settles it later.
    """
    charge: tuple[TokenUsage, bool, Decimal] | None = None
    if not (failed_before_output and usage is None):
        billed, estimated = policy.billed_usage(
            reported=usage,
            prompt_tokens_estimate=admission.prompt_tokens_estimate,
            prompt_tokens_upper=admission.prompt_tokens_upper,
            max_tokens=admission.max_tokens,
            output_text=output_text,
            output_deltas=output_deltas,
            cut_off=cut_off,
        )
        charge = (billed, estimated, cost_usd(billed, admission.prices))
    try:
        return _settle(admission=admission, charge=charge)
    except DatabaseError as exc:
        raise _unavailable(exc) from exc


def _settle(
    *,
    admission: Admission,
    charge: tuple[TokenUsage, bool, Decimal] | None,
    stale_before: datetime | None = None,
) -> UsageRecord | None:
    """The one settlement: close the open reservation into its ledger row (or release it when
    `charge` is None) and move its counters, in one transaction; notify after commit. With
    `stale_before` (the reaper) only a reservation whose heartbeat is older is closed."""
    if charge is not None and stale_before is None:
        usage, estimated, cost = charge
        built = _record_build(admission=admission, usage=usage, cost=cost, estimated=estimated)
        fast = ledger.reservation_settle_fast(built)
        if fast is not None:
            _notify(admission=admission, reservation=fast[0], counters=fast[1], record=built)
            return built
    with transaction.atomic():
        reservation = ledger.reservation_for_update(call_id=admission.call_id)
        if (
            reservation is None
            or reservation.status != ReservationStatus.OPEN
            or (stale_before is not None and reservation.heartbeat_at >= stale_before)
        ):
            # Settled before (by a repeat or the reaper), released, alive, or never reserved.
            return UsageRecord.objects.filter(call_id=admission.call_id).first()
        record = None
        if charge is not None:
            usage, estimated, cost = charge
            record = ledger.record_insert(
                _record_build(admission=admission, usage=usage, cost=cost, estimated=estimated)
            )
        counters = ledger.reservation_close(
            reservation,
            status=ReservationStatus.RELEASED if record is None else ReservationStatus.SETTLED,
            record=record,
        )
        _notify(admission=admission, reservation=reservation, counters=counters, record=record)
    return record


def _notify(
    *,
    admission: Admission,
    reservation: Reservation,
    counters: list[BudgetCounter],
    record: UsageRecord | None,
) -> None:
    """After commit (at once outside a transaction): the member's frame and any warning."""
    spent = 0 if record is None else policy.nusd(record.cost_usd)
    settled = _limits_after(admission=admission, reservation=reservation, counters=counters)
    settled_at = reservation.settled_at
    transaction.on_commit(
        lambda: notices.after_settlement(
            organization_id=admission.organization_id,
            user_id=admission.user_id,
            limits=settled,
            spent_nusd=spent,
            now=settled_at,
        )
    )


def _limits_after(
    *, admission: Admission, reservation: Reservation, counters: list[BudgetCounter]
) -> list[policy.Limit]:
    """The member's and the org's budgets with their counters as this settlement leaves them."""
    by_id = {counter.pk: counter for counter in counters}
    scopes: list[tuple[policy.Scope, int | None]] = [
        ("user", reservation.user_counter_id),
        ("org", reservation.org_counter_id),
    ]
    known = {limit.scope: limit for limit in admission.limits}
    if not known:  # an admission rebuilt by the reaper: read the budgets now
        budgets = ledger.member_budgets(
            organization_id=admission.organization_id, user_id=admission.user_id
        )
        if budgets is None:
            return []
        for scope, counter_id in scopes:
            if counter_id in by_id:
                known[scope] = ledger.budget_limit(
                    scope=scope,
                    budget=budgets.user if scope == "user" else budgets.org,
                    counter=by_id[counter_id],
                )
    limits = []
    for scope, counter_id in scopes:
        limit = known.get(scope)
        counter = None if counter_id is None else by_id.get(counter_id)
        if limit is not None and counter is not None:
            limits.append(
                replace(
                    limit,
                    spent_nusd=counter.spent_nusd,
                    reserved_nusd=counter.reserved_nusd,
                    period_end=counter.period_end,
                )
            )
    return limits


def _record_build(
    *, admission: Admission, usage: TokenUsage, cost: Decimal, estimated: bool
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


# --- The reaper -----------------------------------------------------------------------------------


def _admission_from_reservation(reservation: Reservation) -> Admission:
    return Admission(
        call_id=reservation.call_id,
        organization_id=reservation.organization_id,
        user_id=reservation.user_id,
        model_id=reservation.model,
        upstream_model=reservation.upstream_model,
        provider=reservation.provider,
        provider_key_id=reservation.provider_key_id or 0,
        prices=UnitPrices(
            input=reservation.input_usd_per_mtok,
            output=reservation.output_usd_per_mtok,
            cached_input=reservation.cached_input_usd_per_mtok,
            cache_write=reservation.cache_write_usd_per_mtok,
        ),
        max_tokens=int(reservation.max_tokens),
        prompt_tokens_upper=int(reservation.prompt_tokens_upper),
        prompt_tokens_estimate=int(reservation.prompt_tokens_upper),
        reserved_usd=reservation.reserved_usd,
        source=reservation.source,
        conversation_id=reservation.conversation_id,
        message_id=reservation.message_id,
        api_token_id=reservation.api_token_id,
    )


def reservation_reap(*, older_than: timedelta) -> int:
    """Settle open reservations whose heartbeat is older than `older_than`; return how many.

    Their process died mid-call, so the usage is unknown: each is charged its reserved amount (the
    worst case: prompt upper bound and max_tokens), `estimated=True`, through the one settlement,
    under the same lock: a late settle and the reaper never both write.
    """
    cutoff = timezone.now() - older_than
    reaped = 0
    for reservation in ledger.reservations_stale(cutoff=cutoff):
        admission = _admission_from_reservation(reservation)
        worst = TokenUsage(
            input_tokens=admission.prompt_tokens_upper, output_tokens=admission.max_tokens
        )
        charge = (worst, True, reservation.reserved_usd)
        record = _settle(admission=admission, charge=charge, stale_before=cutoff)
        if record is not None and record.created_at >= cutoff and record.estimated:
            reaped += 1
            logger.warning("reaped abandoned reservation %s", reservation.call_id)
    return reaped
