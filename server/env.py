"""Reading configuration from the environment.

Every setting that can come from the environment is read here or in settings/base.py through
`env`, so that a bad value fails at start with a clear ImproperlyConfigured message.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("POTLUCK_VAR_DIR", BASE_DIR / "var"))
SECRETS_FILE = VAR_DIR / "secrets.env"

env = environ.Env()


def env_secret(name: str, default: str | None = None) -> str | None:
    """A secret from `NAME`, or from the file named by `NAME_FILE` (Docker/Kubernetes secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def ensure_local_secrets() -> dict[str, str]:
    """Load (creating on first use) the git-ignored var/secrets.env used by local runs.

    The file is created with O_EXCL so that processes started at the same moment (web, worker,
    beat) agree on one set of keys: the loser of the race reads the winner's file.
    """
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if not SECRETS_FILE.exists():
        content = (
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"FIELD_ENCRYPTION_KEY={secrets.token_urlsafe(32)}\n"
        )
        try:
            fd = os.open(SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
    values: dict[str, str] = {}
    for line in SECRETS_FILE.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values
