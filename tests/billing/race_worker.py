"""A separate process that hammers the admission gate; used by the concurrency tests and the bench.

    DATABASE_URL=... python -m tests.billing.race_worker admit --model-pk 3 --users 5,6 \
        --requests 50 --threads 5 --prompt 1000 --max-tokens 500 --start-at 1712345678.5
    DATABASE_URL=... python -m tests.billing.race_worker warn --org 1 --user 5 --start-at ...
    DATABASE_URL=postgres://postgres@127.0.0.1:1/x python -m tests.billing.race_worker down

Each admitted call is settled at its full worst case (the most it can cost), so a budget that is
kept exactly shows it. Prints one JSON object on stdout. Drives our real code only: nothing here
is mocked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings.test")
    import django

    django.setup()


def _wait(start_at: float) -> None:
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)


def _admit(args: argparse.Namespace) -> dict[str, Any]:
    from accounts.models import User
    from billing.gate import admission_settle
    from billing.pricing import TokenUsage
    from core.exceptions import ApplicationError
    from providers.models import AIModel
    from tests.billing.conftest import gate_open

    user_ids = [int(u) for u in args.users.split(",")]
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    ai_model = AIModel.objects.select_related("provider_key").get(pk=args.model_pk)
    lock = threading.Lock()
    result: dict[str, Any] = {
        "admitted": 0,
        "refused": 0,
        "lowered": 0,
        "errors": [],
        "settled_usd": "0",
    }
    settled = [Decimal(0)]

    def one(n: int) -> None:
        user = users[user_ids[n % len(user_ids)]]
        try:
            admission = gate_open(
                user=user,
                ai_model=ai_model,
                prompt_tokens_upper=args.prompt,
                max_tokens=args.max_tokens,
                source="chat",
            )
        except ApplicationError as exc:
            with lock:
                if exc.code == "budget_exceeded":
                    result["refused"] += 1
                else:
                    result["errors"].append(exc.code)
            return
        try:
            record = admission_settle(
                admission=admission,
                usage=TokenUsage(args.prompt, output_tokens=admission.max_tokens),
            )
        except ApplicationError as exc:
            with lock:
                result["errors"].append(f"settle:{exc.code}")
            return
        with lock:
            result["admitted"] += 1
            result["lowered"] += admission.max_tokens < args.max_tokens
            settled[0] += record.cost_usd if record is not None else Decimal(0)

    def run(n: int) -> None:
        # Each pool thread keeps its own connection for all its requests; they close when the
        # process exits.
        one(n)

    _wait(args.start_at)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        list(pool.map(run, range(args.offset, args.offset + args.requests)))
    result["elapsed"] = time.perf_counter() - began
    result["settled_usd"] = str(settled[0])
    return result


def _warn(args: argparse.Namespace) -> dict[str, Any]:
    from billing.budgets import budget_warnings_send

    _wait(args.start_at)
    return {"created": budget_warnings_send(organization_id=args.org, user_id=args.user)}


def _down(args: argparse.Namespace) -> dict[str, Any]:
    """The gate against a database that does not answer: unsaved rows, a dead DATABASE_URL."""
    from accounts.models import User
    from core.exceptions import ApplicationError
    from providers.models import AIModel, ProviderKey
    from tests.billing.conftest import gate_open

    key = ProviderKey(pk=1, organization_id=1, provider="openai", label="k")
    ai_model = AIModel(
        pk=1,
        organization_id=1,
        provider_key=key,
        model_id="m",
        name="m",
        input_usd_per_mtok=Decimal(1),
        output_usd_per_mtok=Decimal(1),
    )
    try:
        gate_open(
            user=User(pk=1, email="x@example.com"),
            ai_model=ai_model,
            prompt_tokens_upper=10,
            max_tokens=10,
            source="chat",
        )
    except ApplicationError as exc:
        return {"code": exc.code, "status": exc.status}
    return {"code": None}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    admit_p = sub.add_parser("admit")
    admit_p.add_argument("--model-pk", type=int, required=True)
    admit_p.add_argument("--users", required=True)
    admit_p.add_argument("--requests", type=int, default=50)
    admit_p.add_argument("--offset", type=int, default=0)
    admit_p.add_argument("--threads", type=int, default=5)
    admit_p.add_argument("--prompt", type=int, default=1000)
    admit_p.add_argument("--max-tokens", type=int, default=500)
    admit_p.add_argument("--start-at", type=float, default=0.0)
    warn = sub.add_parser("warn")
    warn.add_argument("--org", type=int, required=True)
    warn.add_argument("--user", type=int, default=None)
    warn.add_argument("--start-at", type=float, default=0.0)
    sub.add_parser("down")
    args = parser.parse_args(argv)
    _setup()
    handler = {"admit": _admit, "warn": _warn, "down": _down}[args.mode]
    print(json.dumps(handler(args)))  # the parent process reads this line
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
