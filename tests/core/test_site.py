from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_it_reports_health() -> None:
    r = Client().get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"


def test_it_answers_json_404_under_api(db) -> None:
    r = Client().get("/api/does-not-exist/")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_it_serves_the_openapi_schema(db) -> None:
    r = Client().get("/api/schema/")
    assert r.status_code == 200
    assert b"/api/setup/" in r.content


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://nope", "DATABASE_URL"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL"),
        ("PORT", "eighty", "PORT"),
        ("CSRF_TRUSTED_ORIGINS", "example.com", "CSRF_TRUSTED_ORIGINS"),
    ],
)
def test_it_fails_at_start_with_a_clear_message(variable, value, message) -> None:
    env = {**os.environ, variable: value, "DJANGO_SETTINGS_MODULE": "server.settings.local"}
    result = _manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_it_requires_secrets_in_production(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY"}}
    env["DJANGO_SETTINGS_MODULE"] = "server.settings.production"
    result = _manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_reads_secrets_from_files(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 60 + "\n")
    field_key = tmp_path / "field"
    field_key.write_text("f" * 40)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "server.settings.production",
        "SECRET_KEY_FILE": str(secret),
        "FIELD_ENCRYPTION_KEY_FILE": str(field_key),
        "ALLOWED_HOSTS": "potluck.example.com",
    }
    code = "from django.conf import settings; print(len(settings.SECRET_KEY))"
    result = _manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("60")
