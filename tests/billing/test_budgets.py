"""Budgets in one process: the gate lowering and refusing, soft budgets, periods in a non-UTC zone,
counters through settlement, release and the reaper, warnings, rollups and the budget APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core import mail

from accounts.models import AuditEvent, Organization, User
from billing.budgets import (
    budget_set,
    budget_warnings_send,
    usage_rollup,
    warning_emails_send,
)
from billing.gate import (
    Admission,
    admission_output_cap,
    admission_settle,
    reservation_reap,
)
from billing.ledger import user_scope_key
from billing.models import (
    BudgetCounter,
    BudgetScope,
    BudgetWarning,
    ReservationStatus,
    UsageDaily,
    UsageRecord,
)
from billing.policy import usd as nusd_to_usd
from billing.pricing import TokenUsage, UnitPrices, worst_case_cost
from core.exceptions import ApplicationError
from providers.models import AIModel
from tests.billing.conftest import gate_open, make_model
from tests.conftest import login

PRICES = UnitPrices(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075"))
WORST = worst_case_cost(1000, 500, PRICES)  # 0.00045


def set_budget(
    org: Organization,
    actor: User,
    *,
    scope: str = BudgetScope.USER,
    user: User | None = None,
    limit: str | None = "0.001",
    period: str = "monthly",
    enforcement: str = "hard",
    warn: list[int] | None = None,
) -> None:
    budget_set(
        organization=org,
        actor=actor,
        scope=scope,
        user_id=None if user is None else user.pk,
        limit_usd=None if limit is None else Decimal(limit),
        period=period,
        enforcement=enforcement,
        warn_at_percent=warn or [],
    )


def admit(user: User, model: AIModel, *, prompt: int = 1000, max_tokens: int = 500) -> Admission:
    return gate_open(
        user=user, ai_model=model, prompt_tokens_upper=prompt, max_tokens=max_tokens, source="chat"
    )


def worst(admission: Admission) -> TokenUsage:
    return TokenUsage(admission.prompt_tokens_upper, output_tokens=admission.max_tokens)


def counter(user: User) -> BudgetCounter:
    return BudgetCounter.objects.get(scope_key=user_scope_key(user.pk))


# --- The gate ------------------------------------------------------------------------------------


def test_it_lowers_max_tokens_to_what_the_budget_holds(alice, bob, acme, acme_model) -> None:
    set_budget(acme, alice, user=bob, limit="0.0004")  # below one worst case (0.00045)

    admission = admit(bob, acme_model)

    # 0.0004 - 1000 * 0.15e-6 = 0.00025 left for output at 0.60/Mtok: 416 tokens.
    assert admission.max_tokens == 416
    assert admission.reserved_usd <= Decimal("0.0004")
    assert counter(bob).reserved_nusd == 399_600


def test_it_refuses_before_the_provider_when_under_64_tokens_fit(
    alice, bob, acme, acme_model
) -> None:
    set_budget(acme, alice, user=bob, limit="0.00017")  # 33 output tokens after the prompt

    with pytest.raises(ApplicationError) as refused:
        admit(bob, acme_model)

    assert (refused.value.code, refused.value.status) == ("budget_exceeded", 402)
    assert refused.value.detail["scope"] == "user"
    assert refused.value.detail["limit_usd"] == "0.000170000"
    assert refused.value.detail["period_end"].endswith("Z")
    assert not bob.reservations.exists()
    # A request that asks for fewer than 64 tokens only needs what it asked for.
    assert admit(bob, acme_model, max_tokens=30).max_tokens == 30


def test_it_applies_the_default_to_members_without_their_own(alice, bob, acme, acme_model) -> None:
    set_budget(acme, alice, scope=BudgetScope.DEFAULT, limit="0.00017")
    with pytest.raises(ApplicationError):
        admit(bob, acme_model)

    set_budget(acme, alice, user=bob, limit="1")

    assert admit(bob, acme_model).max_tokens == 500
    assert admit(alice, acme_model, max_tokens=10).max_tokens == 10  # Alice is under the default


def test_it_refuses_on_the_org_cap_whatever_the_user_budget(alice, bob, acme, acme_model) -> None:
    set_budget(acme, alice, user=bob, limit=None)
    set_budget(acme, alice, scope=BudgetScope.ORG, limit=str(WORST))
    admission_settle(admission=admit(alice, acme_model), usage=TokenUsage(1000, output_tokens=500))

    with pytest.raises(ApplicationError) as refused:
        admit(bob, acme_model)

    assert refused.value.detail["scope"] == "org"


def test_it_lets_soft_budgets_pass_and_go_negative(
    api_client, alice, bob, acme, acme_model
) -> None:
    set_budget(acme, alice, user=bob, limit="0.0005", enforcement="soft")

    for _ in range(3):
        admission = admit(bob, acme_model)
        assert admission.max_tokens == 500
        admission_settle(admission=admission, usage=worst(admission))

    body = login(api_client, bob).get("/api/usage/me/").json()
    assert body["limit_usd"] == "0.000500000"
    assert body["spent_usd"] == "0.001350000"
    assert body["remaining_usd"] == "-0.000850000"


def test_it_records_an_overshoot_instead_of_writing_it_off(alice, bob, acme, acme_model) -> None:
    set_budget(acme, alice, user=bob, limit="0.0005")
    admission = admit(bob, acme_model)

    # The provider ignored max_tokens: 2000 output tokens where 500 were reserved.
    record = admission_settle(admission=admission, usage=TokenUsage(1000, output_tokens=2000))

    assert record is not None
    assert record.cost_usd == Decimal("0.00135")
    assert nusd_to_usd(counter(bob).spent_nusd) == Decimal("0.00135")  # above the limit
    assert counter(bob).reserved_nusd == 0
    with pytest.raises(ApplicationError):
        admit(bob, acme_model)


def test_it_cuts_off_only_past_max_tokens_and_its_margin(bob, acme, acme_model) -> None:
    admission = admit(bob, acme_model)
    assert admission_output_cap(admission) == 550  # 500 + max(16, 500 // 10)

    # The same for a free model: the cut-off is about providers that ignore max_tokens.
    free = make_model(org=acme, model_id="free", input_price="0", output_price="0")
    assert admission_output_cap(admit(bob, free)) == 550


def test_it_frees_the_reservation_when_the_call_failed_before_output(
    alice, bob, acme, acme_model
) -> None:
    set_budget(acme, alice, user=bob, limit=str(WORST))
    admission = admit(bob, acme_model)
    with pytest.raises(ApplicationError):
        admit(bob, acme_model)

    admission_settle(admission=admission, usage=None, failed_before_output=True)

    assert (counter(bob).spent_nusd, counter(bob).reserved_nusd) == (0, 0)
    assert admit(bob, acme_model).max_tokens == 500


def test_it_reaps_an_abandoned_reservation_into_spent(
    alice, bob, acme, acme_model, time_machine
) -> None:
    time_machine.move_to(datetime(2025, 3, 10, 12, tzinfo=UTC), tick=False)
    set_budget(acme, alice, user=bob, limit="1")
    admission = admit(bob, acme_model)
    time_machine.shift(timedelta(minutes=30))

    assert reservation_reap(older_than=timedelta(minutes=15)) == 1

    assert bob.reservations.get().status == ReservationStatus.SETTLED
    assert counter(bob).reserved_nusd == 0
    assert nusd_to_usd(counter(bob).spent_nusd) == admission.reserved_usd
    # The process comes back: the late settlement changes nothing.
    admission_settle(admission=admission, usage=TokenUsage(1, output_tokens=1))
    assert nusd_to_usd(counter(bob).spent_nusd) == admission.reserved_usd


def test_it_starts_a_new_period_at_local_midnight_across_dst(
    alice, bob, acme, acme_model, time_machine
) -> None:
    acme.time_zone = "Europe/Berlin"
    acme.save(update_fields=["time_zone"])
    set_budget(acme, alice, user=bob, limit=str(WORST), period="daily")
    # Saturday 2025-03-29 23:30 in Berlin (+01:00); clocks spring forward that night.
    time_machine.move_to(datetime(2025, 3, 29, 22, 30, tzinfo=UTC), tick=False)
    admission_settle(admission=(first := admit(bob, acme_model)), usage=worst(first))
    with pytest.raises(ApplicationError) as refused:
        admit(bob, acme_model)
    assert refused.value.detail["period_end"] == "2025-03-29T23:00:00Z"

    time_machine.move_to(datetime(2025, 3, 29, 22, 59, 59, tzinfo=UTC), tick=False)
    with pytest.raises(ApplicationError):
        admit(bob, acme_model)
    # 00:00 Berlin: a new day and a new counter, nothing reset by hand.
    time_machine.move_to(datetime(2025, 3, 29, 23, 0, tzinfo=UTC), tick=False)
    second = admit(bob, acme_model)
    assert second.max_tokens == 500
    # Sunday has 23 hours: it ends at 22:00 UTC (midnight +02:00).
    time_machine.move_to(datetime(2025, 3, 30, 21, 59, tzinfo=UTC), tick=False)
    with pytest.raises(ApplicationError) as again:
        admit(bob, acme_model)
    assert again.value.detail["period_end"] == "2025-03-30T22:00:00Z"
    assert sorted(
        BudgetCounter.objects.filter(scope_key=user_scope_key(bob.pk)).values_list(
            "period_key", flat=True
        )
    ) == ["daily:2025-03-29", "daily:2025-03-30"]


def test_it_counts_spend_already_in_the_ledger_when_a_budget_starts(
    alice, bob, acme, acme_model
) -> None:
    admission_settle(admission=(a := admit(bob, acme_model)), usage=worst(a))  # monthly counter
    set_budget(acme, alice, user=bob, limit=str(WORST * 2), period="daily")  # a new counter

    lowered = admit(bob, acme_model, max_tokens=600)

    assert lowered.max_tokens == 500  # what is left is one worst case, not two


# --- Notifications -------------------------------------------------------------------------------


def group_messages(user: User, action: Any) -> list[dict[str, Any]]:
    """Run `action` and return what the channel layer delivered to the user's group.

    Subscribing, acting and draining happen in one event loop: the Redis pub/sub layer delivers
    only to subscriptions alive in the loop that made them. The action itself runs back on this
    thread (thread-sensitive), where the test's transaction lives.
    """
    layer = get_channel_layer()
    assert layer is not None
    received: list[dict[str, Any]] = []

    async def run() -> None:
        import asyncio

        channel = await layer.new_channel()
        await layer.group_add(f"user.{user.pk}", channel)
        try:
            await sync_to_async(action)()
            while True:
                try:
                    received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
                except TimeoutError:
                    return
        finally:
            await layer.group_discard(f"user.{user.pk}", channel)

    async_to_sync(run)()
    return received


def test_it_sends_budget_updated_after_settlement(
    alice, bob, acme, acme_model, django_capture_on_commit_callbacks
) -> None:
    set_budget(acme, alice, user=bob, limit="0.01")
    admission = admit(bob, acme_model)

    def settle() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            admission_settle(admission=admission, usage=TokenUsage(1000, output_tokens=100))

    frames = [f for f in group_messages(bob, settle) if f["type"] == "budget.updated"]

    assert frames == [
        {
            "type": "budget.updated",
            "spent_usd": "0.000210000",
            "limit_usd": "0.010000000",
            "remaining_usd": "0.009790000",
            "period_end": frames[0]["period_end"],
        }
    ]


def test_it_warns_from_the_settling_process_and_queues_the_email(
    alice, bob, acme, acme_model, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from billing import tasks

    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.warning_emails_send, "delay", lambda **kw: queued.append(kw))
    set_budget(acme, alice, user=bob, limit="0.001", warn=[50])
    below = admit(bob, acme_model)

    def settle(admission: Any) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            admission_settle(admission=admission, usage=worst(admission))

    quiet = group_messages(bob, lambda: settle(below))  # 45 %: no threshold crossed
    crossing = admit(bob, acme_model)
    frames = group_messages(bob, lambda: settle(crossing))  # 90 %

    assert [f["type"] for f in quiet] == ["budget.updated"]
    assert [f["type"] for f in frames] == ["budget.updated", "budget.warning"]
    assert frames[1]["percent"] == 50
    assert queued == [{}]  # the e-mail goes through Celery
    assert warning_emails_send() == 1
    assert mail.outbox[0].to == ["bob@acme.test"]


def test_it_warns_once_per_threshold_and_period(
    alice, bob, acme, acme_model, django_capture_on_commit_callbacks, time_machine
) -> None:
    # Ticking: the channel layer's receive timeouts need a clock that moves.
    time_machine.move_to(datetime(2025, 3, 10, 12, tzinfo=UTC), tick=True)
    set_budget(acme, alice, user=bob, limit="0.001", enforcement="soft", warn=[50, 80])
    admission_settle(admission=(a := admit(bob, acme_model)), usage=worst(a))  # 45 %

    def check() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            budget_warnings_send(organization_id=acme.pk, user_id=bob.pk)

    assert group_messages(bob, check) == []
    admission_settle(admission=(b := admit(bob, acme_model)), usage=worst(b))  # 90 %: 50 and 80

    frames = group_messages(bob, check)
    again = group_messages(bob, check)

    assert [f["percent"] for f in frames] == [80]  # one notice for the highest new threshold
    assert frames[0]["limit_usd"] == "0.001000000"
    assert again == []
    assert warning_emails_send() == 1  # the Celery task: one e-mail for the highest threshold
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@acme.test"]
    assert "80%" in mail.outbox[0].subject
    admission_settle(admission=(c := admit(bob, acme_model)), usage=worst(c))  # 135 %: soft 100
    assert [f["percent"] for f in group_messages(bob, check)] == [100]
    # Next month is a new period: the same thresholds warn again.
    time_machine.move_to(datetime(2025, 4, 1, 12, tzinfo=UTC), tick=True)
    for _ in range(2):
        admission_settle(admission=(d := admit(bob, acme_model)), usage=worst(d))
    assert [f["percent"] for f in group_messages(bob, check)] == [80]
    assert BudgetWarning.objects.count() == 5


def test_it_warns_the_admins_about_the_org_cap(
    alice, bob, acme, acme_model, django_capture_on_commit_callbacks
) -> None:
    set_budget(acme, alice, scope=BudgetScope.ORG, limit="0.0009", warn=[50])
    admission_settle(admission=(a := admit(bob, acme_model)), usage=worst(a))

    def check() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert budget_warnings_send(organization_id=acme.pk, user_id=None) == 1

    frames = group_messages(alice, check)

    assert [f["type"] for f in frames] == ["budget.warning"]
    assert warning_emails_send() == 1
    assert mail.outbox[0].to == ["alice@acme.test"]


# --- Rollups -------------------------------------------------------------------------------------


def test_it_rolls_usage_up_per_day_user_and_model_idempotently(
    bob, alice, acme, acme_model, time_machine
) -> None:
    acme.time_zone = "America/New_York"
    acme.save(update_fields=["time_zone"])
    time_machine.move_to(datetime(2025, 3, 11, 3, tzinfo=UTC), tick=False)  # the 10th in NY
    for user in (bob, bob, alice):
        admission_settle(admission=(a := admit(user, acme_model)), usage=worst(a))
    time_machine.move_to(datetime(2025, 3, 11, 14, tzinfo=UTC), tick=False)
    admission_settle(admission=(a := admit(bob, acme_model)), usage=worst(a))

    assert usage_rollup(days_back=1) == 3
    assert usage_rollup(days_back=1) == 3  # the same rows again, not new ones

    rows = {
        (str(r.day), r.user_id): (r.requests, r.cost_usd)
        for r in UsageDaily.objects.filter(organization=acme)
    }
    assert rows == {
        ("2025-03-10", bob.pk): (2, WORST * 2),
        ("2025-03-10", alice.pk): (1, WORST),
        ("2025-03-11", bob.pk): (1, WORST),
    }
    assert UsageRecord.objects.count() == 4


# --- APIs ----------------------------------------------------------------------------------------


def test_it_reads_and_writes_budgets_as_admin(api_client, alice, bob, acme) -> None:
    client = login(api_client, alice)

    assert client.get(f"/api/budgets/users/{bob.pk}/").json()["limit_usd"] is None
    body = {
        "limit_usd": "12.5",
        "period": "weekly",
        "enforcement": "soft",
        "warn_at_percent": [80, 50],
    }
    r = client.put(f"/api/budgets/users/{bob.pk}/", body, format="json")

    assert r.status_code == 200, r.json()
    assert r.json() | {"updated_at": None} == {
        "scope": "user",
        "user_id": bob.pk,
        "limit_usd": "12.500000000",
        "period": "weekly",
        "enforcement": "soft",
        "warn_at_percent": [50, 80],
        "inherited": False,
        "updated_at": None,
    }
    assert client.get(f"/api/budgets/users/{bob.pk}/").json()["limit_usd"] == "12.500000000"
    event = AuditEvent.objects.get(action="budget.updated")
    assert (event.actor_id, event.data["user_id"]) == (alice.pk, bob.pk)

    for path in ("/api/budgets/default/", "/api/budgets/org/"):
        r = client.put(path, {"limit_usd": None, "period": "total"}, format="json")
        assert r.status_code == 200, r.json()
        assert client.get(path).json()["period"] == "total"


def test_it_shows_the_default_for_members_without_a_budget(api_client, alice, bob, acme) -> None:
    set_budget(acme, alice, scope=BudgetScope.DEFAULT, limit="3", period="daily")
    client = login(api_client, alice)

    body = client.get(f"/api/budgets/users/{bob.pk}/").json()
    assert (body["limit_usd"], body["period"], body["inherited"]) == ("3.000000000", "daily", True)

    set_budget(acme, alice, user=bob, limit="1")
    assert client.delete(f"/api/budgets/users/{bob.pk}/").status_code == 204
    assert client.get(f"/api/budgets/users/{bob.pk}/").json()["inherited"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit_usd": 5}, "limit_usd"),  # a JSON number is refused: money is a string
        ({"limit_usd": "-1"}, "limit_usd"),
        ({"limit_usd": "1", "period": "yearly"}, "period"),
        ({"limit_usd": "1", "enforcement": "loose"}, "enforcement"),
        ({"limit_usd": "1", "warn_at_percent": [0]}, "warn_at_percent"),
        ({"limit_usd": "1", "colour": "red"}, "colour"),
    ],
)
def test_it_refuses_bad_budgets(api_client, alice, bob, body, field) -> None:
    r = login(api_client, alice).put(f"/api/budgets/users/{bob.pk}/", body, format="json")

    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["detail"]["fields"]


def test_it_hides_other_orgs_users_and_refuses_members(api_client, alice, bob, charlie) -> None:
    admin = login(api_client, charlie)
    assert admin.get(f"/api/budgets/users/{bob.pk}/").status_code == 404
    assert (
        admin.put(f"/api/budgets/users/{bob.pk}/", {"limit_usd": "1"}, format="json").status_code
        == 404
    )

    member = login(api_client, bob)
    assert member.get("/api/budgets/org/").status_code == 403
    assert (
        member.put(f"/api/budgets/users/{bob.pk}/", {"limit_usd": "9"}, format="json").status_code
        == 403
    )


def test_it_reports_the_budget_period_in_usage_me(
    api_client, alice, bob, acme, acme_model, time_machine
) -> None:
    time_machine.move_to(datetime(2025, 3, 15, 12, tzinfo=UTC), tick=False)
    acme.time_zone = "Asia/Tokyo"
    acme.save(update_fields=["time_zone"])
    set_budget(acme, alice, user=bob, limit="0.01", period="weekly")
    admission_settle(admission=(a := admit(bob, acme_model)), usage=worst(a))
    admit(bob, acme_model)  # in flight

    body = login(api_client, bob).get("/api/usage/me/").json()

    assert body["period"] == {
        "kind": "weekly",
        "start": "2025-03-09T15:00:00Z",  # Monday 00:00 in Tokyo
        "end": "2025-03-16T15:00:00Z",
    }
    assert (body["spent_usd"], body["reserved_usd"]) == ("0.000450000", "0.000450000")
    assert body["remaining_usd"] == "0.009100000"
