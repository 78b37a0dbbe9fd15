"""Gateway overhead of Potluck's /v1 API, measured the onthebench.ai way: the same client, the
same fake upstream, the same machine and run, once through Potluck and once direct; added
latency = gateway minus direct.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.gateway_overhead [--requests 300] [--burst 1000]

Starts the fake upstream (`python -m tests.fake_upstream`), Potluck on Daphne on a fresh
database (tests/e2e/live.py: a new Postgres database when DATABASE_URL names Postgres, Redis when
REDIS_URL is set), sets it up through its REST API (org, OpenAI key on the fake, a model, a member
budget and an org cap so budgets are on, an API token), then measures with aiohttp:
- non-streaming: end-to-end latency of a whole completion;
- streaming: time to the first content chunk;
at concurrency 1 (p50/p99) and 50 (p50/p99 and requests per second), and prints Potluck's own
`x-potluck-overhead-ms` header beside the measured added latency, and the load average before
and after (the machine is shared: a figure means little without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.live import LiveApp, free_port, live_app  # noqa: E402

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway benchmark account
PROMPT = [{"role": "user", "content": "Say hello to the benchmark."}]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)  # seconds
    overheads: list[float] = field(default_factory=list)  # ms, from the header
    wall: float = 0.0
    errors: int = 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def one(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    *,
    stream: bool,
    sample: Sample,
) -> None:
    start = time.perf_counter()
    try:
        async with session.post(url, json=body, headers=headers) as response:
            if response.status != 200:
                sample.errors += 1
                await response.read()
                return
            overhead = response.headers.get("x-potluck-overhead-ms")
            if stream:
                elapsed = None
                async for line in response.content:
                    if elapsed is None and b'"content":"' in line and b'"content":""' not in line:
                        elapsed = time.perf_counter() - start
                await_end = elapsed if elapsed is not None else time.perf_counter() - start
                sample.latencies.append(await_end)
            else:
                await response.read()
                sample.latencies.append(time.perf_counter() - start)
            if overhead is not None:
                sample.overheads.append(float(overhead))
    except aiohttp.ClientError:
        sample.errors += 1


async def run(
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    *,
    stream: bool,
    concurrency: int,
    total: int,
    warmup: int,
) -> Sample:
    connector = aiohttp.TCPConnector(limit=concurrency * 2, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = Sample()
        for _ in range(warmup):
            await one(session, url, headers, body, stream=stream, sample=warm)
        sample = Sample()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(total):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                await one(session, url, headers, body, stream=stream, sample=sample)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        sample.wall = time.perf_counter() - start
        return sample


def setup(app: LiveApp, fake_base: str) -> tuple[str, str]:
    """Org, key, model, budgets and a token through the REST API; returns (token, model)."""
    import urllib.request
    from http.cookiejar import CookieJar

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def csrf() -> str:
        opener.open(f"{app.url}/api/auth/csrf/")
        return next(c.value or "" for c in jar if c.name == "csrftoken")

    def call(method: str, path: str, payload: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the local app
            f"{app.url}{path}",
            method=method,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf()},
        )
        with opener.open(request) as response:
            raw = response.read()
            return json.loads(raw) if raw else None

    me = call(
        "POST",
        "/api/setup/",
        {"org_name": "Bench", "name": "Bench", "email": "bench@bench.test", "password": PASSWORD},
    )
    key = call(
        "POST",
        "/api/provider-keys/",
        {"provider": "openai", "label": "fake", "api_key": "sk-bench-0000", "base_url": fake_base},
    )
    model = call(
        "POST",
        "/api/models/",
        {
            "provider_key": key["id"],
            "name": "gpt-4o-mini",
            "input_usd_per_mtok": "0.15",
            "output_usd_per_mtok": "0.6",
        },
    )
    budget = {
        "limit_usd": "100000",
        "period": "monthly",
        "enforcement": "hard",
        "warn_at_percent": [],
    }
    call("PUT", f"/api/budgets/users/{me['id']}/", budget)
    call("PUT", "/api/budgets/org/", budget)
    token = call("POST", "/api/tokens/", {"name": "bench"})
    return token["token"], model["id"]


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests at c=1")
    parser.add_argument("--burst", type=int, default=1000, help="measured requests at c=50")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()

    fake_port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(fake_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fake_root = f"http://127.0.0.1:{fake_port}"
    try:
        for _ in range(100):
            try:
                import urllib.request

                urllib.request.urlopen(f"{fake_root}/_fake/health", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        with (
            tempfile.TemporaryDirectory() as tmp,
            # One API token carries all 50 concurrent calls: its in-flight limit (default 16,
            # a 429 past it) is raised so the figures measure the gateway, not the refusals.
            live_app(
                Path(tmp),
                with_celery=False,
                extra_env={"LOG_LEVEL": "WARNING", "API_MAX_CONCURRENT_PER_TOKEN": "1000"},
            ) as app,
        ):
            token, model = setup(app, f"{fake_root}/openai/v1")
            db = "postgres" if app.env["DATABASE_URL"].startswith("postgres") else "sqlite"
            redis = "redis" if os.environ.get("REDIS_URL") else "no redis"
            print(f"Potluck {app.url} ({db}, {redis}); fake upstream {fake_root}; budgets on")
            print(f"load average before: {_load()}", flush=True)
            asyncio.run(measure(app.url, fake_root, token, model, args))
            print(f"load average after: {_load()} (2 cores: compare runs at a similar load)")
    finally:
        fake.terminate()
        fake.wait(timeout=10)


async def measure(app_url: str, fake_root: str, token: str, model: str, args: Any) -> None:
    gateway = (f"{app_url}/v1/chat/completions", {"Authorization": f"Bearer {token}"})
    direct = (f"{fake_root}/openai/v1/chat/completions", {"Authorization": "Bearer sk-bench"})
    rows: list[str] = []
    header = (
        f"{'mode':<14}{'conc':>5}{'direct p50':>12}{'p99':>8}{'potluck p50':>13}{'p99':>8}"
        f"{'added p50':>11}{'p99':>8}{'hdr p50':>9}{'rps':>8}{'direct rps':>11}{'err':>5}"
    )
    for stream in (False, True):
        for concurrency, total in ((1, args.requests), (50, args.burst)):
            body_gw: dict[str, Any] = {"model": model, "messages": PROMPT, "max_tokens": 64}
            body_direct: dict[str, Any] = {
                "model": "gpt-4o-mini",
                "messages": PROMPT,
                "max_completion_tokens": 64,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            if stream:
                body_gw |= {"stream": True, "stream_options": {"include_usage": True}}
            d = await run(
                *direct,
                body_direct,
                stream=stream,
                concurrency=concurrency,
                total=total,
                warmup=args.warmup,
            )
            g = await run(
                *gateway,
                body_gw,
                stream=stream,
                concurrency=concurrency,
                total=total,
                warmup=args.warmup,
            )
            ms = 1000.0
            rows.append(
                f"{'stream TTFT' if stream else 'non-stream':<14}{concurrency:>5}"
                f"{pct(d.latencies, 50) * ms:>12.2f}{pct(d.latencies, 99) * ms:>8.2f}"
                f"{pct(g.latencies, 50) * ms:>13.2f}{pct(g.latencies, 99) * ms:>8.2f}"
                f"{(pct(g.latencies, 50) - pct(d.latencies, 50)) * ms:>11.2f}"
                f"{(pct(g.latencies, 99) - pct(d.latencies, 99)) * ms:>8.2f}"
                f"{(statistics.median(g.overheads) if g.overheads else float('nan')):>9.2f}"
                f"{len(g.latencies) / g.wall:>8.1f}{len(d.latencies) / d.wall:>11.1f}"
                f"{g.errors + d.errors:>5}"
            )
            print(rows[-1] if len(rows) > 1 else header + "\n" + rows[-1], flush=True)
    print(
        "\n(ms; added = Potluck minus direct at the same percentile; hdr = median of "
        "Potluck's x-potluck-overhead-ms; rps = completed requests per second)"
    )


if __name__ == "__main__":
    main()
