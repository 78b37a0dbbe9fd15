"""A live Potluck for browser tests: the real processes (Daphne, Celery worker and beat) on a
fresh database of its own, started the way `make run` starts them.

With DATABASE_URL/REDIS_URL set (CI), the app gets a new Postgres database and its own Redis key
prefix; otherwise a SQLite file in a temporary folder and the embedded broker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import aiohttp
from yarl import URL

from tests.fake_upstream.server import FakeUpstreamClient

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveApp:
    url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_dir: Path | None = None
    # Every web process's URL (the first is `url`); more than one with `live_app(web=N)`.
    urls: list[str] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return result.stdout


@contextmanager
def fake_upstream_process() -> Iterator[str]:
    """Run the fake provider upstream in its own process, as a real provider is; yield its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_upstream", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_fake/health", timeout=1):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the fake upstream did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _postgres_database(base_url: str) -> tuple[str, str]:
    """Create a fresh database beside the one DATABASE_URL names; return (url, name)."""
    import psycopg

    name = f"potluck_e2e_{uuid.uuid4().hex[:10]}"
    parsed = urlparse(base_url)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}")), admin_url


def _drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_healthy(url: str, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} during start")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Potluck at {url} did not become healthy in {timeout}s")


@contextmanager
def live_app(
    tmp_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    with_celery: bool = True,
    web: int = 1,
    database_url_via: Callable[[str], str] | None = None,
) -> Iterator[LiveApp]:
    """Potluck's real processes on a fresh database: `web` Daphne processes (each on its own
    port, all on the same database and channel layer) and, `with_celery`, a worker and beat.

    `database_url_via`: given the fresh database's URL, the URL the processes use instead
    (e.g. through a TCP proxy a test can cut); the database is still dropped directly."""
    ports = [free_port() for _ in range(web)]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.settings.local",
        "POTLUCK_VAR_DIR": str(tmp_dir),
        "SECRET_KEY": "e2e-secret-" + "k" * 50,
        "FIELD_ENCRYPTION_KEY": "e2e-field-key-" + "f" * 30,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CHANNEL_LAYER_PREFIX": f"potluck-e2e-{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    drop: tuple[str, str] | None = None
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        env["DATABASE_URL"], admin_url = _postgres_database(os.environ["DATABASE_URL"])
        drop = (admin_url, urlparse(env["DATABASE_URL"]).path.lstrip("/"))
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_dir / 'e2e.sqlite3'}"
    if database_url_via is not None:
        env["DATABASE_URL"] = database_url_via(env["DATABASE_URL"])
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    app = LiveApp(url=urls[0], env=env, log_dir=tmp_dir, urls=urls)
    try:
        app.manage("migrate", "--noinput")
        commands = [
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(p), "server.asgi:application"]
            for p in ports
        ]
        if with_celery:
            commands += [
                [
                    str(BIN / "celery"),
                    "-A",
                    "server",
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=1",
                    "--pool=solo",
                ],
                [
                    str(BIN / "celery"),
                    "-A",
                    "server",
                    "beat",
                    "--loglevel=INFO",
                    "--schedule",
                    str(tmp_dir / "beat-schedule"),
                ],
            ]
        for index, command in enumerate(commands):
            log = (tmp_dir / f"process-{index}.log").open("wb")
            app.processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        for url in urls:
            _wait_healthy(url, app.processes)
        yield app
    finally:
        for proc in app.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in app.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if drop is not None:
            _drop_postgres_database(*drop)


async def sign_in_with_model(
    session: aiohttp.ClientSession, url: str, fake_url: str, *, email: str, password: str
) -> dict[str, str]:
    """Log a user (an admin) in to a live app and enable model "m" (1 and 2 USD per Mtok) served
    by the fake upstream at `fake_url`; the CSRF headers for further calls. The session's cookie
    jar must accept cookies from 127.0.0.1 (`aiohttp.CookieJar(unsafe=True)`)."""
    async with session.get(f"{url}/api/auth/csrf/") as response:
        assert response.status == 204
    csrf = session.cookie_jar.filter_cookies(URL(url))["csrftoken"].value
    headers = {"X-CSRFToken": csrf}
    login = {"email": email, "password": password}
    async with session.post(f"{url}/api/auth/login/", json=login, headers=headers) as response:
        assert response.status == 200, await response.text()
    csrf = session.cookie_jar.filter_cookies(URL(url))["csrftoken"].value
    headers = {"X-CSRFToken": csrf}
    key = {
        "provider": "openai_compatible",
        "label": "Fake",
        "api_key": "sk-fake-0000",
        "base_url": FakeUpstreamClient(fake_url).base_url("openai_compatible"),
    }
    async with session.post(f"{url}/api/provider-keys/", json=key, headers=headers) as response:
        assert response.status == 201, await response.text()
        key_id = (await response.json())["id"]
    model = {
        "provider_key": key_id,
        "name": "m",
        "input_usd_per_mtok": "1",
        "output_usd_per_mtok": "2",
    }
    async with session.post(f"{url}/api/models/", json=model, headers=headers) as response:
        assert response.status == 201, await response.text()
    return headers
