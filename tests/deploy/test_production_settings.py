"""server.settings.production, run in a subprocess exactly as the containers load it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from core.logging import REDACTED, JsonFormatter
from tests.deploy.support import ROOT, documented_production_env, env_example

# Variables of the developer's or CI's shell that would change what production settings see.
_SCRUB = {"DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "USE_X_FORWARDED_PROTO"}


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.endswith("_FILE")}
    env.update(documented_production_env())
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_passes_check_deploy_with_the_documented_variables() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output


def test_it_refuses_to_start_without_its_secrets() -> None:
    for missing in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        result = run_python("import django; django.setup()", production_env(**{missing: None}))
        assert result.returncode != 0, missing
        assert f"{missing} (or {missing}_FILE) must be set" in result.stderr, missing


def test_it_reads_secrets_from_files(tmp_path) -> None:
    secret = tmp_path / "secret_key"
    secret.write_text("f" * 30 + "from-a-docker-secret-file" + "g" * 10 + "\n")
    token = tmp_path / "metrics_token"
    token.write_text("scrape-me\n")
    env = production_env(
        SECRET_KEY=None,
        SECRET_KEY_FILE=str(secret),
        METRICS_TOKEN=None,
        METRICS_TOKEN_FILE=str(token),
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECRET_KEY[30:55], settings.METRICS_TOKEN)"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-a-docker-secret-file", "scrape-me"]


def test_it_never_debugs_and_trusts_proxy_headers_only_when_told() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, getattr(s, 'SECURE_PROXY_SSL_HEADER', None), s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, "
        "s.DATABASES['default']['CONN_MAX_AGE'] if not s.IS_SQLITE else 0)"
    )
    told = run_python(code, production_env(DEBUG="true", USE_X_FORWARDED_PROTO="true"))
    assert told.returncode == 0, told.stderr
    assert told.stdout.split() == [
        "False",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "True",
        "True",
        "0",
    ]
    untold = run_python(code, production_env(USE_X_FORWARDED_PROTO=None))
    assert untold.stdout.split()[:2] == ["False", "None"]


def test_it_logs_one_json_object_per_line_to_stdout() -> None:
    code = """
import django, logging
django.setup()
log = logging.getLogger("potluck.deploytest")
log.info("hello %s", "world", extra={"api_key": "sk-live-123", "org_id": 7})
try:
    raise ValueError("boom")
except ValueError:
    log.exception("it failed")
"""
    result = run_python(code, production_env(LOG_LEVEL="INFO"))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    hello, failure = (entry for entry in lines if entry["logger"] == "potluck.deploytest")
    assert set(hello) >= {"time", "level", "logger", "message"}
    assert hello["message"] == "hello world"
    assert hello["level"] == "INFO"
    assert hello["time"].endswith("+00:00")
    assert hello["org_id"] == 7
    assert hello["api_key"] == REDACTED
    assert "sk-live-123" not in result.stdout
    assert failure["level"] == "ERROR"
    assert "ValueError: boom" in failure["exc_info"]


@pytest.mark.parametrize(
    "name", ["password", "session_token", "Authorization", "cookie", "field_encryption_key"]
)
def test_it_redacts_extras_named_like_secrets(name) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    setattr(record, name, "hunter2")
    entry = json.loads(JsonFormatter().format(record))
    assert entry[name] == REDACTED


def test_it_keeps_the_example_env_complete_for_production() -> None:
    assigned, _commented = env_example()
    # What docs/self-hosting.md tells the admin to fill in is exactly the CHANGE_ME set.
    placeholders = {k for k, v in assigned.items() if v == "CHANGE_ME"}
    assert placeholders == {
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "POSTGRES_PASSWORD",
        "METRICS_TOKEN",
    }
    docs = (ROOT / "docs" / "self-hosting.md").read_text(encoding="utf-8")
    for name in placeholders:
        assert name in docs, name
