"""A real Celery beat and worker, as subprocesses against Redis, run a billing task end to end.

Skipped without REDIS_URL locally; in CI (CI=true) a missing REDIS_URL is a failure, not a skip.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from billing.gate import admission_settle
from billing.models import UsageDaily
from billing.pricing import TokenUsage
from tests.billing.conftest import gate_open, make_model
from tests.billing.test_budget_concurrency import database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker_url(redis_url: str) -> str:
    # A Redis database of its own, so no other run's queued tasks reach this worker.
    parsed = urlparse(redis_url)
    return urlunparse(parsed._replace(path=f"/{random.randint(1, 15)}"))


@pytest.fixture
def celery_processes(broker_url: str, tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker_url,
        "USAGE_ROLLUP_EVERY_SECONDS": "1",
    }
    celery = [sys.executable, "-m", "celery", "-A", "server.celery_app"]
    commands = [
        [*celery, "worker", "--pool", "solo", "--loglevel", "INFO", "--without-heartbeat"],
        [*celery, "beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
    ]
    procs = [
        subprocess.Popen(  # our own entry points, fixed arguments
            command,
            cwd=ROOT,
            env=env,
            stdout=(tmp_path / f"celery-{n}.log").open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n, command in enumerate(commands)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_it_runs_the_rollup_from_beat_in_a_real_worker(
    bob, acme, celery_processes, tmp_path
) -> None:
    model = make_model(org=acme)
    admission = gate_open(
        user=bob, ai_model=model, prompt_tokens_upper=1000, max_tokens=500, source="chat"
    )
    admission_settle(admission=admission, usage=TokenUsage(1000, output_tokens=500))

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not UsageDaily.objects.filter(user=bob).exists():
        assert all(p.poll() is None for p in celery_processes), _logs(tmp_path)
        time.sleep(0.5)

    row = UsageDaily.objects.filter(user=bob).first()
    assert row is not None, _logs(tmp_path)
    assert (row.requests, row.input_tokens, row.output_tokens) == (1, 1000, 500)


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text()[-2000:] for p in sorted(tmp_path.glob("celery-*.log")))
