"""Budget race: a hard budget at its edge, hit by 200 concurrent /v1 calls spread over several
Potluck web processes, as deployed: Daphne on Postgres (and Redis when REDIS_URL is set), the
fake upstream as the provider.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.budget_race [--k 10] [--requests 200] [--web 2]

Starts the fake upstream and `--web` Daphne processes on one fresh database (tests/e2e/live.py),
sets up an org through the REST API with a member whose hard monthly budget holds exactly `--k`
worst-case calls (prompt upper bound at the input price plus max_tokens at the output price),
scripts the fake to answer every call with all of max_tokens and the prompt's upper bound as its
input (so each admitted call costs exactly its worst case), then fires `--requests` chat
completions at the same instant, round-robin over the processes: exactly k must be admitted.

It prints what was admitted (200) and refused (402), what the fake upstream received (it must be
the admitted count: a refused call never reaches the provider), the settled sum against the limit
(the overshoot must be 0) and the load average. Exit status 0 when both hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gateway_overhead import PROMPT, setup  # noqa: E402
from tests.e2e.live import LiveApp, free_port, live_app  # noqa: E402

MAX_TOKENS = 256


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _fake(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_fake/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the fake upstream did not start")


def _fake_requests(root: str) -> int:
    with urllib.request.urlopen(f"{root}/_fake/requests", timeout=10) as response:  # noqa: S310
        records = json.loads(response.read())["requests"]
    return sum(1 for r in records if r["path"].endswith("/chat/completions"))


def _edge_budget(k: int) -> tuple[Decimal, int]:
    """Exactly k worst cases of the bench's call (billing.pricing is pure: no Django needed)."""
    from billing.pricing import UnitPrices, prompt_tokens_upper_bound, worst_case_cost

    upper = prompt_tokens_upper_bound([PROMPT[0]["content"]], None)
    prices = UnitPrices(input=Decimal("0.15"), output=Decimal("0.6"))  # setup()'s model
    return worst_case_cost(upper, MAX_TOKENS, prices) * k, upper


def _script_full_answers(root: str, *, input_tokens: int) -> None:
    """Every answer uses all of max_tokens and reports the prompt's upper bound as its input:
    each admitted call then costs exactly its worst case, and the budget holds exactly k."""
    scenario = {
        "provider": "openai",
        "deltas": MAX_TOKENS,
        "delay": 0.004,
        "finish_reason": "length",
        "input_tokens": input_tokens,
        "times": None,
    }
    request = urllib.request.Request(  # noqa: S310 - the local fake
        f"{root}/_fake/script",
        data=json.dumps(scenario).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def _settled(app: LiveApp) -> Decimal:
    """The ledger's sum once no reservation is open (a call may settle just after answering)."""
    script = (
        "import time\nfrom django.db.models import Sum\n"
        "from billing.models import Reservation, UsageRecord\n"
        "for _ in range(100):\n"
        "    if not Reservation.objects.filter(status='open').exists(): break\n"
        "    time.sleep(0.1)\n"
        "print(UsageRecord.objects.aggregate(s=Sum('cost_usd'))['s'] or 0)\n"
    )
    last = app.manage("shell", "-c", script).strip().splitlines()[-1]
    return Decimal(last).quantize(Decimal("1e-9"))


async def _fire(urls: list[str], token: str, model: str, requests: int) -> dict[int, int]:
    body = {"model": model, "messages": PROMPT, "max_tokens": MAX_TOKENS}
    headers = {"Authorization": f"Bearer {token}"}
    statuses: dict[int, int] = {}
    start = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            await start.wait()
            url = f"{urls[n % len(urls)]}/v1/chat/completions"
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

        tasks = [asyncio.create_task(one(n)) for n in range(requests)]
        await asyncio.sleep(0.2)
        start.set()
        await asyncio.gather(*tasks)
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=10, help="worst-case calls the budget holds")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--web", type=int, default=2, help="Daphne processes")
    args = parser.parse_args()
    fake_port = free_port()
    fake = _fake(fake_port)
    fake_root = f"http://127.0.0.1:{fake_port}"
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            live_app(
                Path(tmp),
                with_celery=False,
                web=args.web,
                extra_env={"LOG_LEVEL": "WARNING", "API_MAX_CONCURRENT_PER_TOKEN": "1000"},
            ) as app,
        ):
            token, model = setup(app, f"{fake_root}/openai/v1")
            limit, upper = _edge_budget(args.k)
            _script_full_answers(fake_root, input_tokens=upper)
            app.manage(
                "shell",
                "-c",
                "from accounts.models import User\nfrom billing.budgets import budget_set\n"
                "u = User.objects.get(email='bench@bench.test')\n"
                "budget_set(organization=u.membership.organization, actor=u, scope='user', "
                f"user_id=u.pk, limit_usd=__import__('decimal').Decimal('{limit}'), "
                "period='monthly', enforcement='hard', warn_at_percent=[])\n",
            )
            db = "postgres" if app.env["DATABASE_URL"].startswith("postgres") else "sqlite"
            redis = "redis" if os.environ.get("REDIS_URL") else "in-memory layer"
            print(f"Potluck: {args.web} Daphne processes ({db}, {redis}); fake {fake_root}")
            print(f"load average before: {_load()}", flush=True)
            before = _fake_requests(fake_root)
            started = time.perf_counter()
            statuses = asyncio.run(_fire(app.urls, token, model, args.requests))
            elapsed = time.perf_counter() - started
            received = _fake_requests(fake_root) - before
            settled = _settled(app)
            print(f"load average after: {_load()}")
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    admitted = statuses.get(200, 0)
    refused = statuses.get(402, 0)
    report: dict[str, Any] = {
        "requests": args.requests,
        "web processes": args.web,
        "prompt upper bound": f"{upper} tokens, max_tokens {MAX_TOKENS}",
        "limit (k worst cases)": f"{limit} USD (k={args.k})",
        "answered": json.dumps(statuses, sort_keys=True),
        "admitted (200)": admitted,
        "refused (402)": refused,
        "fake upstream received": received,
        "settled": f"{settled} USD",
        "overshoot": f"{format(max(settled - limit, Decimal(0)), 'f')} USD",
        "elapsed": f"{elapsed:.2f} s",
    }
    for name, value in report.items():
        print(f"{name:>24}: {value}")
    ok = settled <= limit and received == admitted == args.k
    ok = ok and admitted + refused == args.requests
    held = f"held: exactly {args.k} admitted, overshoot 0, refused calls never reached the fake"
    print("verdict:", held if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
