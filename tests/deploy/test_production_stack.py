"""The production stack outside Docker, started exactly as the containers start it.

docker/start/migrate, then docker/start/web (Daphne), docker/start/worker and docker/start/beat
(Celery), all with server.settings.production, on the real Postgres and Redis named by
DATABASE_URL and REDIS_URL, and the container healthchecks (docker/start/healthcheck). Then a
chat round trip over the WebSocket against the fake upstream, a /metrics scrape, and SIGTERM to
Daphne in the middle of a generation: the usage record must exist once it has exited.

Needs Postgres and Redis: skipped without them on a laptop, a failure in CI (CI=true).
The stack gets its own database (created and dropped here) and its own Redis database number and
key prefix, so it never touches the test database or other runs.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlparse, urlunparse
from urllib.request import Request, urlopen

import aiohttp
import psycopg
import pytest

from tests.deploy.support import ROOT, START, documented_production_env

pytestmark = [pytest.mark.services, pytest.mark.timeout(420)]

VENV_BIN = Path(sys.executable).parent
STACK_REDIS_DB = 13


def _services_or_skip() -> tuple[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")) and redis_url.startswith(
        "redis://"
    ):
        return database_url, redis_url
    message = "the production stack test needs DATABASE_URL=postgres://… and REDIS_URL=redis://…"
    if os.environ.get("CI", "").lower() in {"true", "1"}:
        pytest.fail(f"{message} (CI must run it)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_path(url: str, path: str) -> str:
    return urlunparse(urlparse(url)._replace(path=path))


@pytest.fixture
def stack_database() -> Iterator[str]:
    database_url, _redis = _services_or_skip()
    name = f"potluck_stack_{uuid.uuid4().hex[:10]}"
    admin_url = _with_path(database_url, "/postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_path(database_url, f"/{name}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@dataclass
class Stack:
    env: dict[str, str]
    port: int
    logs: Path
    database_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.port}"

    def start(self, name: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.out").open("ab")
        err = (self.logs / f"{name}.err").open("ab")
        process = subprocess.Popen(
            [str(START / name)], cwd=ROOT, env=self.env, stdout=out, stderr=err
        )
        self.processes[name] = process
        return process

    def healthcheck(self, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(START / "healthcheck"), name],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def wait_healthy(self, name: str, within: float) -> None:
        deadline = time.monotonic() + within
        result = self.healthcheck(name)
        while result.returncode != 0 and time.monotonic() < deadline:
            for proc_name, process in self.processes.items():
                assert process.poll() is None, f"{proc_name} exited early:\n{self.tail()}"
            time.sleep(1)
            result = self.healthcheck(name)
        assert result.returncode == 0, f"{name} unhealthy: {result.stderr}\n{self.tail()}"

    def tail(self) -> str:
        parts = []
        for path in sorted(self.logs.iterdir()):
            text = path.read_text(encoding="utf-8", errors="replace")[-3000:]
            parts.append(f"--- {path.name}\n{text}")
        return "\n".join(parts)

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def stop_all(self) -> dict[str, int]:
        codes: dict[str, int] = {}
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait(timeout=10)
        return codes


class Browser:
    """Just enough of a browser behind the TLS proxy: cookies, CSRF header, X-Forwarded-Proto.

    The cookies are Secure (production), so a cookie jar would not send them over plain HTTP;
    Caddy would be speaking HTTPS to the browser, which this class stands in for.
    """

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.cookies: dict[str, str] = {}

    def headers(self) -> dict[str, str]:
        headers = {
            "Host": f"localhost:{self.stack.port}",
            "X-Forwarded-Proto": "https",
            "Origin": self.stack.origin,
            "Referer": f"{self.stack.origin}/",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return headers

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = self.headers()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = f"http://127.0.0.1:{self.stack.port}{path}"
        request = Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urlopen(request, timeout=30) as response:  # noqa: S310
                status, raw, set_cookies = response.status, response.read(), response.headers
        except HTTPError as error:
            status, raw, set_cookies = error.code, error.read(), error.headers
        for header in set_cookies.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                assert "secure" in header.lower(), f"{name} cookie is not Secure"
                self.cookies[name] = morsel.value
        content = json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
        return status, content


def _stack_env(port: int, database_url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k in {"HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE"}
    }
    return {
        **inherited,
        **documented_production_env(),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "REDIS_URL": _with_path(redis_url, f"/{STACK_REDIS_DB}"),
        "CHANNEL_LAYER_PREFIX": f"potluck-stack-{uuid.uuid4().hex[:8]}",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"https://localhost:{port}",
        "PUBLIC_URL": f"https://localhost:{port}",
        "USE_X_FORWARDED_PROTO": "true",
        # The fake provider listens on loopback, an internal destination in production.
        "PROVIDER_ALLOWED_NETWORKS": "127.0.0.0/8",
        "POTLUCK_VAR_DIR": str(var_dir),
        "STATIC_ROOT": str(var_dir / "static"),
        "SPA_DIST_DIR": str(var_dir / "spa"),
        "PORT": str(port),
        "BIND_ADDRESS": "127.0.0.1",
        "CELERY_CONCURRENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def stack(stack_database: str, tmp_path: Path) -> Iterator[Stack]:
    _database_url, redis_url = _services_or_skip()
    port = _free_port()
    (tmp_path / "logs").mkdir()
    env = _stack_env(port, stack_database, redis_url, tmp_path / "var")
    running = Stack(env=env, port=port, logs=tmp_path / "logs", database_url=stack_database)
    # What the image build does: a built SPA in place and collectstatic run.
    spa = tmp_path / "var" / "spa"
    spa.mkdir(parents=True)
    (spa / "index.html").write_text("<!doctype html><title>Potluck</title><div id=root></div>")
    for command in (
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        [str(START / "migrate")],
    ):
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield running
    finally:
        running.stop_all()


async def _chat(
    stack: Stack, browser: Browser, *, model: str, content: str, sigterm_web: bool = False
) -> dict[str, Any]:
    """Send one message over /ws/chat/; return the assistant message of the final frame."""
    headers = browser.headers()
    headers.pop("X-CSRFToken", None)
    url = f"http://127.0.0.1:{stack.port}/ws/chat/"
    client_id = uuid.uuid4().hex
    assistant_id: int | None = None
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers=headers, heartbeat=None) as ws,
    ):
        frame = {
            "type": "message.send",
            "conversation_id": None,
            "model": model,
            "content": content,
            "client_id": client_id,
        }
        await ws.send_json(frame)
        async with asyncio.timeout(60):
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                if data["type"] == "error":
                    raise AssertionError(data)
                if data["type"] == "message.created" and data["message"]["role"] == "assistant":
                    assistant_id = data["message"]["id"]
                if data["type"] == "message.delta" and sigterm_web:
                    stack.processes["web"].send_signal(signal.SIGTERM)
                    return {"id": data["message_id"]}
                if data["type"] in {"message.completed", "message.failed"}:
                    result: dict[str, Any] = data["message"]
                    assert result["id"] == assistant_id
                    return result
    raise AssertionError(f"the socket closed before the reply ended:\n{stack.tail()}")


def test_it_serves_chats_and_settles_usage_on_sigterm(stack: Stack, fake_upstream) -> None:
    stack.start("web")
    stack.start("worker")
    stack.start("beat")
    # The containers' own healthchecks decide when the stack is up.
    stack.wait_healthy("web", within=60)
    stack.wait_healthy("worker", within=90)
    stack.wait_healthy("beat", within=60)

    # First run: the setup page's API creates the organisation and logs the owner in.
    browser = Browser(stack)
    status, _ = browser.request("GET", "/api/auth/csrf/")
    assert status in {200, 204}
    assert "csrftoken" in browser.cookies
    status, user = browser.request(
        "POST",
        "/api/setup/",
        {
            "org_name": "Stack Co",
            "name": "Olivia Owner",
            "email": "owner@stack.test",
            "password": "a long and unguessable password 42",
        },
    )
    assert status == 201, user
    assert "sessionid" in browser.cookies
    # Plain HTTP without the proxy's header is redirected to HTTPS; /healthz is not.
    plain = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    plain.request("GET", "/api/auth/me/", headers={"Host": "localhost"})
    redirect = plain.getresponse()
    assert redirect.status == 301
    assert redirect.getheader("Location", "").startswith("https://localhost")
    plain.close()

    # The web app's shell is served from the site root.
    status, shell = browser.request("GET", "/")
    assert status == 200
    assert "<div id=root>" in shell

    status, key = browser.request(
        "POST",
        "/api/provider-keys/",
        {
            "provider": "openai",
            "label": "fake",
            "api_key": "sk-stack-test-0000",
            "base_url": fake_upstream.base_url("openai"),
        },
    )
    assert status == 201, key
    status, model = browser.request(
        "POST", "/api/models/", {"provider_key": key["id"], "name": "gpt-4o-mini"}
    )
    assert status == 201, model
    # The first model also titles new conversations; the scripted answers below are for the
    # replies alone, so titles are turned off (a title call would take a scripted answer).
    status, org = browser.request("PATCH", "/api/org/", {"title_model": None})
    assert status == 200, org

    # A full round trip over the WebSocket, through Daphne, to the fake provider and back.
    fake_upstream.script(provider="openai", kind="generated", deltas=6, text="hello from prod")
    reply = asyncio.run(_chat(stack, browser, model=model["id"], content="Hi"))
    assert reply["status"] == "complete", reply
    assert reply["content"] == "hello from prod"
    rows = stack.sql(
        "SELECT estimated, output_tokens FROM billing_usagerecord WHERE message_id = %s",
        reply["id"],
    )
    assert rows == [(False, reply["usage"]["output_tokens"])]
    assert rows[0][1] > 0

    # A provider refusing the key ends the reply failed, and is counted by provider and code.
    fake_upstream.script(provider="openai", kind="generated", status=401)
    failed = asyncio.run(_chat(stack, browser, model=model["id"], content="Again"))
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "provider_auth"

    # Metrics from the running Daphne: the middleware saw the API calls.
    metrics = Request(
        f"http://127.0.0.1:{stack.port}/metrics",
        headers={
            "Host": "localhost",
            "Authorization": f"Bearer {stack.env['METRICS_TOKEN']}",
        },
    )
    with urlopen(metrics, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    setup = 'potluck_http_requests_total{method="POST",route="api/setup/",status="201"}'
    assert f"{setup} 1.0\n" in text
    assert 'potluck_spend_usd_total{org="' in text
    assert 'potluck_provider_errors_total{code="provider_auth",provider="openai"} 1.0\n' in text
    # docker/start/web put prometheus_client in multiprocess mode, under the var folder.
    assert list((Path(stack.env["POTLUCK_VAR_DIR"]) / "prometheus").glob("counter_*.db"))

    # SIGTERM to Daphne while a long reply streams: it settles the generation before exiting.
    fake_upstream.script(provider="openai", kind="generated", deltas=400, delay=0.05)
    stopped = asyncio.run(
        _chat(stack, browser, model=model["id"], content="Long one", sigterm_web=True)
    )
    web = stack.processes["web"]
    assert web.wait(timeout=60) == 0, stack.tail()
    rows = stack.sql(
        "SELECT count(*) FROM billing_usagerecord WHERE message_id = %s", stopped["id"]
    )
    assert rows == [(1,)], stack.tail()
    message_status = stack.sql("SELECT status FROM chat_message WHERE id = %s", stopped["id"])
    assert message_status == [("stopped",)]
    assert stack.sql("SELECT count(*) FROM billing_reservation WHERE status = 'open'") == [(0,)]

    # Every line the web process logged is one JSON object.
    lines = (stack.logs / "web.out").read_text(encoding="utf-8").splitlines()
    lines += (stack.logs / "web.err").read_text(encoding="utf-8").splitlines()
    for line in filter(None, lines):
        assert line.startswith("{"), line
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), line
        assert stack.env["SECRET_KEY"] not in line

    # Worker (warm shutdown) and beat end cleanly on SIGTERM too.
    codes = stack.stop_all()
    assert codes["worker"] == 0, stack.tail()
    assert codes["beat"] == 0, stack.tail()
