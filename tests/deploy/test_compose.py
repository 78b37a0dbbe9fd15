"""docker/compose.yml and docker/.env.example, checked without Docker (none on these machines)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import yaml

from tests.deploy.support import (
    DOCKER,
    ROOT,
    env_example,
    settings_variables,
    start_script_variables,
)

APP_SERVICES = ("web", "worker", "beat", "migrate")
LONG_RUNNING = ("web", "worker", "beat", "postgres", "redis", "caddy")
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(:?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (DOCKER / "compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    # safe_load resolves the `<<: *web` merge keys the way Compose does.
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_it_defines_the_services(services) -> None:
    assert set(services) == {"web", "worker", "beat", "migrate", "postgres", "redis", "caddy"}


def test_it_pins_every_image_to_an_exact_version(services) -> None:
    for name, service in services.items():
        if "build" in service:
            continue  # built from this repository
        image = service["image"]
        _repository, _, tag = image.partition(":")
        assert tag, f"{name}: {image} has no tag"
        assert "latest" not in tag, f"{name}: {image} floats"
        # major.minor(.patch): "16" or "7" alone would follow new minor releases silently.
        assert re.match(r"^\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$", tag), f"{name}: {image} not exact"
    assert services["postgres"]["image"].startswith("postgres:16.")
    assert services["redis"]["image"].startswith("redis:7.")


def test_it_gives_every_long_running_service_a_healthcheck(services) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check, name
        assert not check.get("disable"), name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert {"interval", "timeout", "retries"} <= set(check), name
    # Each Potluck process checks itself, not the web's /healthz (a worker has no HTTP server).
    assert services["web"]["healthcheck"]["test"][-1] == "web"
    assert services["worker"]["healthcheck"]["test"][-1] == "worker"
    assert services["beat"]["healthcheck"]["test"][-1] == "beat"


def test_it_waits_for_healthy_dependencies_and_one_migration_run(services) -> None:
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
    # The migration runner itself waits only for the database and Redis (no cycle).
    assert set(services["migrate"]["depends_on"]) == {"postgres", "redis"}
    assert all(
        dep["condition"] == "service_healthy" for dep in services["migrate"]["depends_on"].values()
    )
    assert services["caddy"]["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_it_sets_restart_policies(services) -> None:
    for name in LONG_RUNNING:
        assert services[name]["restart"] in {"unless-stopped", "always"}, name
    # A one-shot job must not be restarted in a loop once it has exited 0.
    assert services["migrate"]["restart"] == "no"


def test_it_reuses_the_web_definition_through_an_anchor(compose_text, services) -> None:
    assert re.search(r"^  web: &web$", compose_text, re.M)
    for name in ("worker", "beat", "migrate"):
        block = re.search(rf"^  {name}:\n((?:    .*\n|\n)+)", compose_text, re.M)
        assert block, name
        assert block[1].lstrip().startswith("<<: *web"), name
        # What the anchor carries is identical: one image, one environment.
        for key in ("image", "build", "env_file", "environment"):
            assert services[name][key] == services["web"][key], (name, key)
    commands = {name: services[name]["command"] for name in APP_SERVICES}
    assert len({tuple(c) for c in commands.values()}) == len(APP_SERVICES)
    for name, command in commands.items():
        script = DOCKER / "start" / name
        assert command == [f"/app/docker/start/{name}"], name
        assert script.exists(), name
        assert os.access(script, os.X_OK), name


def test_it_keeps_data_in_named_volumes(compose, services) -> None:
    declared = set(compose["volumes"])
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = [v.split(":") for v in services[name]["volumes"]]
        assert [path] == [m[1] for m in mounts if m[0] in declared], name
    assert services["redis"]["command"][-2:] == ["--appendonly", "yes"]


def test_it_publishes_ports_only_through_the_proxy(services) -> None:
    for name in APP_SERVICES:
        assert not services[name].get("ports"), name
    assert {p.split(":")[0] for p in services["caddy"]["ports"]} == {"80", "443"}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert (DOCKER / "Caddyfile").exists()


def test_it_gives_processes_time_to_settle_on_sigterm(services) -> None:
    assert services["web"]["stop_grace_period"] == "60s"
    # Longer than the Celery hard time limit (150 s): a warm shutdown can finish any task.
    assert int(services["worker"]["stop_grace_period"].removesuffix("s")) > 150


def test_it_sets_only_variables_something_reads(compose_text, services) -> None:
    assigned, commented = env_example()
    caddyfile = (DOCKER / "Caddyfile").read_text(encoding="utf-8")
    # Outside Potluck, a variable is read by compose itself for the postgres and caddy services.
    infra = {
        key
        for name in ("postgres", "caddy")
        for key in services[name].get("environment", {})
        if key.startswith(("POSTGRES_", "POTLUCK_"))
    }
    infra |= set(re.findall(r"\{\$([A-Z][A-Z0-9_]*)", caddyfile))
    consumed = settings_variables() | start_script_variables() | infra | {"DJANGO_SETTINGS_MODULE"}
    app_environment = set(services["web"]["environment"])
    unread = (set(assigned) | commented | app_environment) - consumed
    assert not unread, f"set but read by nothing: {sorted(unread)}"
    # The scan itself works: it sees settings in base.py, production.py and the start scripts.
    assert {"SECRET_KEY", "SECRET_KEY_FILE", "METRICS_TOKEN", "USE_X_FORWARDED_PROTO"} <= consumed
    assert {"CELERY_CONCURRENCY", "PORT"} <= consumed


def test_it_provides_every_required_production_setting(compose_text, services) -> None:
    assigned, _commented = env_example()
    required = {
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "POSTGRES_PASSWORD",
        "POTLUCK_DOMAIN",
        "USE_X_FORWARDED_PROTO",
    }
    assert required <= set(assigned)
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "server.settings.production"
        assert environment["DATABASE_URL"].startswith("${DATABASE_URL:-postgres://")
        assert environment["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379/0}"
        assert services[name]["env_file"] == ".env"
    # Every ${VAR} compose substitutes either has a default or is set in .env.example.
    for name, modifier in INTERPOLATION.findall(compose_text):
        if not modifier.startswith((":-", "-")):
            assert name in assigned, name
    # Placeholders, not secrets, are committed.
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "POSTGRES_PASSWORD", "METRICS_TOKEN"):
        assert assigned[name] == "CHANGE_ME", name


def test_it_keeps_the_real_env_file_out_of_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "docker/.env" in ignored
