"""Budget race: one member whose hard budget fits exactly K worst-case requests, 10 x K concurrent
requests from several processes, against Potluck's admission gate on Postgres.

How to run (from the repository root; the database must exist, the bench migrates it):

    createdb -h 127.0.0.1 -U postgres potluck_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/potluck_bench \
        .venv/bin/python bench/budget_race.py --k 50 --processes 4 --threads 4

It prints the admitted and refused counts, how many calls could reach a provider, the sum of
settled costs against the limit (the overshoot must be 0) and admissions per second.

The worker processes (`tests.billing.race_worker`) call the real gate directly: admission_open,
then admission_settle at the call's full worst case, the most a call can cost. No provider is
called, so "upstream received" is the number of Admissions handed out: the engine cannot call
an adapter without one, and a refused request never gets one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=50, help="worst-case requests the budget fits")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--prompt", type=int, default=1000, help="prompt upper bound, tokens")
    parser.add_argument("--max-tokens", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings.local")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "bench-field-key-" + "y" * 24)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum

    from accounts.models import Membership, Organization, User
    from billing.budgets import budget_set
    from billing.models import UsageRecord
    from billing.pricing import UnitPrices, worst_case_cost
    from chat.models import AIModel, ProviderKey
    from tests.billing.test_budget_concurrency import database_url

    if connection.vendor != "postgresql":
        print("warning: not Postgres; set DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)
    stamp = int(time.time() * 1000)
    org = Organization.objects.create(name=f"bench {stamp}")
    user = User.objects.create_user(f"bench-{stamp}@example.com", None)
    Membership.objects.create(user=user, organization=org, role="member")
    owner = User.objects.create_user(f"bench-owner-{stamp}@example.com", None)
    Membership.objects.create(user=owner, organization=org, role="owner")
    key = ProviderKey.objects.create(
        organization=org, provider="openai", label="bench", api_key="sk-bench-0000"
    )
    model = AIModel.objects.create(
        organization=org,
        provider_key=key,
        model_id="bench-model",
        name="bench-model",
        input_usd_per_mtok=Decimal("0.15"),
        output_usd_per_mtok=Decimal("0.60"),
    )
    prices = UnitPrices(input=Decimal("0.15"), output=Decimal("0.60"))
    worst = worst_case_cost(args.prompt, args.max_tokens, prices)
    limit = worst * args.k
    budget_set(
        organization=org,
        actor=owner,
        scope="user",
        user_id=user.pk,
        limit_usd=limit,
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )
    total = 10 * args.k
    per = -(-total // args.processes)
    env = {**os.environ, "DATABASE_URL": database_url()}
    start_at = time.time() + 3.0
    procs = []
    for n in range(args.processes):
        count = max(0, min(per, total - n * per))
        procs.append(
            subprocess.Popen(  # our own module, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "tests.billing.race_worker",
                    "admit",
                    "--model-pk",
                    str(model.pk),
                    "--users",
                    str(user.pk),
                    "--requests",
                    str(count),
                    "--offset",
                    str(n * per),
                    "--threads",
                    str(args.threads),
                    "--prompt",
                    str(args.prompt),
                    "--max-tokens",
                    str(args.max_tokens),
                    "--start-at",
                    str(start_at),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        results.append(json.loads(out.strip().splitlines()[-1]))
    admitted = sum(r["admitted"] for r in results)
    refused = sum(r["refused"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    elapsed = max(r["elapsed"] for r in results)
    settled = UsageRecord.objects.filter(user=user).aggregate(s=Sum("cost_usd"))["s"] or 0
    settled = Decimal(settled).quantize(Decimal("1e-9"))
    report = {
        "database": connection.vendor,
        "requests": total,
        "processes": args.processes,
        "threads_per_process": args.threads,
        "k": args.k,
        "admitted": admitted,
        "refused": refused,
        "errors": len(errors),
        "upstream_received": admitted,
        "limit_usd": str(limit),
        "settled_usd": str(settled),
        "overshoot_usd": format(max(settled - limit, Decimal(0)), "f"),
        "elapsed_s": round(elapsed, 3),
        "gate_decisions_per_s": round(total / elapsed, 1) if elapsed else None,
        "admissions_per_s": round(admitted / elapsed, 1) if elapsed else None,
    }
    for name, value in report.items():
        print(f"{name:>20}: {value}")
    return 0 if settled <= limit and admitted == args.k and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
