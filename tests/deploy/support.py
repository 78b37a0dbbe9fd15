"""What the deployment tests share: paths, the documented environment, and which variables the
code reads."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
START = DOCKER / "start"

_READ_PATTERNS = (
    re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""\benv_secret\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""os\.environ(?:\.get)?\s*[\[(]\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""["']([A-Z][A-Z0-9_]*)["']\s+(?:not\s+)?in\s+os\.environ"""),
    re.compile(r"""\bgetenv\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
)
_SECRET_READER = re.compile(r"""\benv_secret\(\s*["']([A-Z][A-Z0-9_]*)["']""")
_SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def settings_variables() -> set[str]:
    """Every environment variable the Django/Celery side reads (server/ and core/)."""
    names: set[str] = set()
    for folder in ("server", "core"):
        for source in (ROOT / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            for pattern in _READ_PATTERNS:
                names.update(pattern.findall(text))
            # env_secret("X") also reads X_FILE.
            names.update(f"{name}_FILE" for name in _SECRET_READER.findall(text))
    return names


def start_script_variables() -> set[str]:
    """Variables the start scripts read (`${NAME...}` in the shell ones, os.environ in Python)."""
    names: set[str] = set()
    for script in START.iterdir():
        text = script.read_text(encoding="utf-8")
        names.update(_SHELL_READ.findall(text))
        for pattern in _READ_PATTERNS:
            names.update(pattern.findall(text))
    return names


def env_example() -> tuple[dict[str, str], set[str]]:
    """docker/.env.example: the variables it sets, and those it documents commented out."""
    assigned: dict[str, str] = {}
    commented: set[str] = set()
    for line in (DOCKER / ".env.example").read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            assigned[match[1]] = match[2]
        elif match := re.fullmatch(r"#\s?([A-Z][A-Z0-9_]*)=(.*)", line):
            commented.add(match[1])
    return assigned, commented


def documented_production_env() -> dict[str, str]:
    """docker/.env.example filled in the way docs/self-hosting.md says, plus what compose adds."""
    assigned, _commented = env_example()
    env = {
        name: (secrets.token_hex(32) if value == "CHANGE_ME" else value)
        for name, value in assigned.items()
    }
    env["DJANGO_SETTINGS_MODULE"] = "server.settings.production"
    return env
