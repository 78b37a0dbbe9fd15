"""Several web processes, one scrape: prometheus_client's multiprocess mode as Potluck sets it up.

Two real Python processes import core.metrics with PROMETHEUS_MULTIPROC_DIR set (as
docker/start/web and `make run` do), count requests and run generations through chat.registry;
then GET /metrics, served here with the same directory, shows their sum.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.deploy.support import ROOT

TOKEN = "scrape-token-0123456789"

# One web process: `requests` answered on /healthz, `running` chat generations in flight until
# stdin closes.
CHILD = """
import asyncio, sys

import django

django.setup()

from chat.registry import registry
from core import metrics

requests, running = int(sys.argv[1]), int(sys.argv[2])
for _ in range(requests):
    metrics.HTTP_REQUESTS.labels(method="GET", route="healthz", status="200").inc()
    metrics.HTTP_LATENCY.labels(method="GET", route="healthz").observe(0.02)


async def main() -> None:
    release = asyncio.Event()
    tasks = [asyncio.create_task(release.wait()) for _ in range(running)]
    for index, task in enumerate(tasks):
        registry.add(key=f"child-{index}", task=task, user_id=1, kind="chat")
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    release.set()
    await asyncio.gather(*tasks)


asyncio.run(main())
"""


@contextmanager
def web_process(directory: Path, *, requests: int, running: int) -> Iterator[None]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(requests), str(running)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def scrape() -> str:
    r = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 200
    return r.content.decode()


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_it_adds_up_every_web_process_in_one_scrape(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with web_process(tmp_path, requests=3, running=1), web_process(tmp_path, requests=4, running=2):
        text = scrape()
        requests = 'potluck_http_requests_total{method="GET",route="healthz",status="200"}'
        assert f"{requests} 7.0\n" in text
        assert (
            'potluck_http_request_duration_seconds_count{method="GET",route="healthz"} 7.0\n'
            in text
        )
        assert (
            'potluck_http_request_duration_seconds_bucket{le="0.025",method="GET",route="healthz"}'
            " 7.0\n" in text
        )
        assert 'potluck_active_generations{kind="chat"} 3.0\n' in text
        assert 'potluck_active_generations{kind="title"} 0.0\n' in text
        # One family per name however many processes wrote it, and no per-process `pid` label.
        assert text.count("# TYPE potluck_http_requests_total counter\n") == 1
        assert "pid=" not in text
        # The database-backed series are there once too.
        assert text.count("# TYPE potluck_open_reservations gauge\n") == 1
    # Both processes exited: their counts stay (counters never go down), their live gauges went.
    text = scrape()
    assert f"{requests} 7.0\n" in text
    assert 'potluck_active_generations{kind="chat"}' not in text
    assert not list(tmp_path.glob("gauge_live*.db"))


@pytest.mark.django_db
def test_it_keeps_this_process_alone_without_the_directory(monkeypatch) -> None:
    from core import metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics.reset()
    metrics.PROVIDER_ERRORS.labels(provider="openai", code="provider_auth").inc()
    with override_settings(METRICS_TOKEN=TOKEN):
        text = scrape()
    assert 'potluck_provider_errors_total{code="provider_auth",provider="openai"} 1.0\n' in text
    metrics.reset()
