"""docker/Dockerfile, .dockerignore and the start scripts, checked by reading them."""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass, field

import pytest
from django.conf import settings

from tests.deploy.support import DOCKER, ROOT, START

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL", re.I)


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile() -> list[Stage]:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+) AS (\S+)", args.strip(), re.I)
            assert match, f"every stage is named: {line}"
            stages.append(Stage(image=match[1], name=match[2]))
        else:
            assert stages, f"instruction before FROM: {line}"
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return {stage.name: stage for stage in parse_dockerfile()}


def test_it_builds_in_three_pinned_stages(stages) -> None:
    assert list(stages) == ["spa", "builder", "runtime"]
    assert re.fullmatch(r"node:20\.\d+\.\d+-\w+-slim", stages["spa"].image)
    for name in ("builder", "runtime"):
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", stages[name].image), name
    # The builder and the runtime share one base: the venv's interpreter path must exist there.
    assert stages["builder"].image == stages["runtime"].image


def test_it_builds_the_spa_with_npm_ci(stages) -> None:
    runs = stages["spa"].args("RUN")
    assert "npm ci --no-audit --no-fund" in runs
    assert "npm run build" in runs
    # The lock file is copied before the sources, so dependency layers are cached.
    copies = stages["spa"].args("COPY")
    assert copies[0] == "frontend/package.json frontend/package-lock.json ./"


def test_it_installs_only_locked_runtime_dependencies_from_wheels(stages) -> None:
    (install,) = stages["builder"].args("RUN")
    assert "--only-binary=:all:" in install
    assert "--constraint requirements.lock" in install
    assert "['project']['dependencies']" in install
    # Every runtime dependency is pinned in the lock at the same version, so the constraint
    # really decides every version.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").split()
    }
    for requirement in project["project"]["dependencies"]:
        name, version = requirement.split("==")
        name = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
        assert lock.get(name) == version, requirement


def test_it_ships_a_runtime_without_build_tools(stages) -> None:
    runtime = stages["runtime"]
    copies = runtime.args("COPY")
    assert "--from=builder /opt/venv /opt/venv" in copies
    assert "--from=spa /src/frontend/dist/ frontend/dist/" in copies
    for run in runtime.args("RUN"):
        for tool in ("apt-get", "apk ", "gcc", "build-essential", "npm", "pip install"):
            assert tool not in run, tool


def test_it_runs_as_a_non_root_user(stages) -> None:
    users = stages["runtime"].args("USER")
    assert users, "no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # USER comes after the last RUN: nothing at run time has root's rights.
    keywords = [kw for kw, _ in stages["runtime"].instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN")
    assert "groupadd --system --gid 10001 potluck" in stages["runtime"].args("RUN")[0]


def test_it_bakes_no_secrets_in(stages) -> None:
    for stage in stages.values():
        for keyword in ("ENV", "ARG", "LABEL"):
            for args in stage.args(keyword):
                names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
                for name in names:
                    assert not SECRET_NAME.search(name), f"{stage.name}: {keyword} {name}"
    # The secrets in the collectstatic RUN are visibly throwaway values.
    (collect,) = [r for r in stages["runtime"].args("RUN") if "collectstatic" in r]
    for value in re.findall(r"(?:SECRET_KEY|FIELD_ENCRYPTION_KEY)=(\S+)", collect):
        assert value.startswith("build-only-not-a-secret")
    # Nothing from a developer's machine can be copied in: the context is an allowlist.
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [ln.strip() for ln in dockerignore if ln.strip() and not ln.startswith("#")]
    assert rules[0] == "*"
    allowed = {line[1:] for line in dockerignore if line.startswith("!")}
    assert not {a for a in allowed if a.startswith(("var", ".env", "docker/.env", ".venv"))}


def test_it_collects_static_files_at_build_time(stages) -> None:
    env = " ".join(stages["runtime"].args("ENV"))
    assert "DJANGO_SETTINGS_MODULE=server.settings.production" in env
    runs = stages["runtime"].args("RUN")
    assert any("python manage.py collectstatic --noinput" in r for r in runs)


def test_it_copies_every_project_app_and_allows_it_in_the_context(stages) -> None:
    local_apps = {
        app for app in settings.INSTALLED_APPS if "." not in app and (ROOT / app).is_dir()
    }
    assert local_apps >= {"core", "accounts", "providers", "billing", "chat", "gateway"}
    copies = stages["runtime"].args("COPY")
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    for package in {*local_apps, "server"}:
        assert f"{package}/ {package}/" in copies, package
        assert package in allowed, package
    assert "docker/start" in allowed


def test_it_declares_the_port_the_healthcheck_and_the_web_command(stages) -> None:
    runtime = stages["runtime"]
    assert runtime.args("EXPOSE") == ["8000"]
    (healthcheck,) = runtime.args("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["/app/docker/start/healthcheck", "web"]')
    assert "/healthz" in (START / "healthcheck").read_text(encoding="utf-8")
    assert runtime.args("CMD") == ['["/app/docker/start/web"]']


@pytest.mark.parametrize("name", ["web", "worker", "beat", "migrate"])
def test_it_writes_strict_start_scripts_that_exec(name) -> None:
    script = START / name
    lines = [ln for ln in script.read_text(encoding="utf-8").splitlines() if ln and ln[0] != "#"]
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    assert lines[0] == "set -o errexit -o pipefail -o nounset"
    # The last command replaces the shell: the process gets SIGTERM from Docker directly.
    last = [ln for ln in lines if not ln.startswith((" ", "\t"))][-1]
    assert last.startswith("exec "), last
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_it_writes_a_healthcheck_script_that_compiles() -> None:
    source = (START / "healthcheck").read_text(encoding="utf-8")
    assert source.startswith("#!/usr/bin/env python\n")
    compile(source, "healthcheck", "exec")
