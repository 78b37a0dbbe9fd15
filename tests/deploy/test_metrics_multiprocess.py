"""Several web processes, one scrape: prometheus_client's multiprocess mode as Potluck sets it up.

Two real Python processes import core.metrics with PROMETHEUS_MULTIPROC_DIR set (as
docker/start/web and `make run` do), count requests and run generations through chat.registry;
then GET /metrics, served here with the same directory, shows their sum.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.test import Client, override_settings

from tests.deploy.support import ROOT
from tests.e2e.live import live_app

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


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urlopen(Request(url, headers=headers), timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, ""


def test_it_adds_up_two_daphne_processes(tmp_path) -> None:
    """Two real Daphne processes (production settings, so the middleware counts) share the
    folder; either one's /metrics shows both, and one that exits takes its live gauges along."""
    spa = tmp_path / "spa"
    spa.mkdir()
    (spa / "index.html").write_text("<!doctype html><title>Potluck</title>")
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    extra_env = {
        "DJANGO_SETTINGS_MODULE": "server.settings.production",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(tmp_path / "static"),
        "SPA_DIST_DIR": str(spa),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with live_app(tmp_path, extra_env=extra_env, with_celery=False, web=2) as app:
        first, second = app.urls
        # Refused scrapes are requests too: 3 on one process, 4 on the other.
        for url, times in ((first, 3), (second, 4)):
            for _ in range(times):
                assert _get(f"{url}/metrics")[0] == 401
        refused = 'potluck_http_requests_total{method="GET",route="metrics",status="401"}'
        for url in app.urls:
            status, text = _get(f"{url}/metrics", TOKEN)
            assert status == 200
            assert f"{refused} 7.0\n" in text
            assert 'potluck_active_generations{kind="chat"} 0.0\n' in text
        pids = [proc.pid for proc in app.processes]
        assert {p.name for p in metrics_dir.glob("gauge_livesum_*.db")} >= {
            f"gauge_livesum_{pid}.db" for pid in pids
        }
        # SIGTERM the second: Daphne exits, its counts stay, its live gauge file goes.
        app.processes[1].send_signal(signal.SIGTERM)
        assert app.processes[1].wait(timeout=30) == 0
        assert not (metrics_dir / f"gauge_livesum_{pids[1]}.db").exists()
        status, text = _get(f"{first}/metrics", TOKEN)
        assert f"{refused} 7.0\n" in text
