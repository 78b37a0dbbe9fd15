"""Budgets under real concurrency: several OS processes (each with threads) against one database.

The worker processes are `tests.billing.race_worker`, pointed at this test's database through
DATABASE_URL. On Postgres (CI) this proves the row locks; on SQLite the same tests show that the
IMMEDIATE transactions serialise the writers of every process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from accounts.models import User
from billing.budgets import budget_set
from billing.ledger import user_scope_key
from billing.models import (
    BudgetCounter,
    BudgetScope,
    BudgetWarning,
    Reservation,
    ReservationStatus,
    UsageRecord,
)
from billing.policy import nusd as usd_to_nusd
from billing.pricing import UnitPrices, worst_case_cost
from tests.billing.conftest import make_model
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
PRICES = UnitPrices(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075"))
WORST = worst_case_cost(1000, 500, PRICES)  # 0.00045 per request
K = 20
PROCESSES = 4
PER_PROCESS = 50  # 200 requests in all

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def run_workers(
    mode: str, arg_sets: list[list[str]], url: str | None = None
) -> list[dict[str, Any]]:
    """Start one worker process per argument list at the same moment; their JSON results."""
    env = {
        **os.environ,
        "DATABASE_URL": url or database_url(),
        "DJANGO_SETTINGS_MODULE": "server.settings.test",
    }
    start_at = time.time() + 3.0  # every process is set up before the starting gun
    procs = [
        subprocess.Popen(  # our own module, fixed arguments
            [sys.executable, "-m", "tests.billing.race_worker", mode, *args]
            + ([] if mode == "down" else ["--start-at", str(start_at)]),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arg_sets
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=110)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def race(*, model_pk: int, users: list[User]) -> dict[str, Any]:
    ids = ",".join(str(u.pk) for u in users)
    results = run_workers(
        "admit",
        [
            [
                *("--model-pk", str(model_pk), "--users", ids),
                *("--requests", str(PER_PROCESS), "--offset", str(n * PER_PROCESS)),
                *("--threads", "5", "--prompt", "1000", "--max-tokens", "500"),
            ]
            for n in range(PROCESSES)
        ],
    )
    total: dict[str, Any] = {"admitted": 0, "refused": 0, "lowered": 0, "errors": []}
    for result in results:
        for key in ("admitted", "refused", "lowered"):
            total[key] += result[key]
        total["errors"] += result["errors"]
    return total


def settled_sum(users: list[User]) -> Decimal:
    total = UsageRecord.objects.filter(user__in=users).aggregate(s=Sum("cost_usd"))["s"]
    return Decimal(total or 0).quantize(Decimal("1e-9"))


def test_it_keeps_a_hard_budget_under_200_concurrent_requests_from_4_processes(
    alice, bob, acme
) -> None:
    model = make_model(org=acme)
    # K full worst cases plus a sliver that fits one lowered request (83 output tokens).
    limit = WORST * K + Decimal("0.0002")
    budget_set(
        organization=acme, actor=alice, scope=BudgetScope.USER, user_id=bob.pk,
        limit_usd=limit, period="monthly", enforcement="hard", warn_at_percent=[],
    )  # fmt: skip

    total = race(model_pk=model.pk, users=[bob])

    assert total["errors"] == []
    assert total["admitted"] + total["refused"] == PROCESSES * PER_PROCESS
    # Every admitted call was settled at its worst case, so exactly K + 1 fit, one of them lowered;
    # the refused ones never got an Admission, so they could never reach a provider.
    assert (total["admitted"], total["lowered"]) == (K + 1, 1)
    assert Reservation.objects.filter(user=bob).count() == K + 1
    assert settled_sum([bob]) <= limit
    counter = BudgetCounter.objects.get(scope_key=user_scope_key(bob.pk))
    assert counter.reserved_nusd == 0
    assert counter.spent_nusd == usd_to_nusd(settled_sum([bob]))
    assert not Reservation.objects.filter(status=ReservationStatus.OPEN).exists()


def test_it_keeps_the_org_cap_across_many_users_and_processes(alice, acme) -> None:
    model = make_model(org=acme)
    users = [make_user(org=acme) for _ in range(20)]
    limit = WORST * K + Decimal("0.0002")
    budget_set(
        organization=acme, actor=alice, scope=BudgetScope.ORG,
        limit_usd=limit, period="daily", enforcement="hard", warn_at_percent=[],
    )  # fmt: skip

    total = race(model_pk=model.pk, users=users)

    assert total["errors"] == []
    assert total["admitted"] + total["refused"] == PROCESSES * PER_PROCESS
    assert (total["admitted"], total["lowered"]) == (K + 1, 1)
    assert settled_sum(users) <= limit
    counter = BudgetCounter.objects.get(scope_key="org")
    assert (counter.spent_nusd, counter.reserved_nusd) == (usd_to_nusd(settled_sum(users)), 0)


def test_it_sends_each_warning_once_when_two_workers_check_at_once(alice, bob, acme) -> None:
    model = make_model(org=acme)
    budget_set(
        organization=acme, actor=alice, scope=BudgetScope.USER, user_id=bob.pk,
        limit_usd=None, period="weekly", enforcement="hard", warn_at_percent=[],
    )  # fmt: skip
    assert race(model_pk=model.pk, users=[bob])["refused"] == 0
    # Now a soft budget far below what was spent: three thresholds are due at once.
    budget_set(
        organization=acme, actor=alice, scope=BudgetScope.USER, user_id=bob.pk,
        limit_usd=Decimal("0.001"), period="weekly", enforcement="soft", warn_at_percent=[50, 80],
    )  # fmt: skip

    results = run_workers(
        "warn", [["--org", str(acme.pk), "--user", str(bob.pk)] for _ in range(2)]
    )

    # 50, 80 and the soft budget's 100 each recorded once, whichever worker won each insert.
    assert sum(r["created"] for r in results) == 3
    assert sorted(BudgetWarning.objects.values_list("threshold", flat=True)) == [50, 80, 100]


def test_it_refuses_when_the_database_is_down() -> None:
    # A real process whose DATABASE_URL points at a port where nothing listens.
    (result,) = run_workers("down", [[]], url="postgres://postgres@127.0.0.1:1/potluck_down")

    assert result == {"code": "service_unavailable", "status": 503}
