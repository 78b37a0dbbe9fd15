"""Settings for `make run` on a laptop: secrets come from var/secrets.env, made on first use."""

from __future__ import annotations

import os

from server.env import ensure_local_secrets, env
from server.settings.base import *  # noqa: F403
from server.settings.base import FIELD_ENCRYPTION_KEY, SECRET_KEY, STATIC_ROOT, STORAGES

if not SECRET_KEY or not FIELD_ENCRYPTION_KEY:
    _local = ensure_local_secrets()
    SECRET_KEY = SECRET_KEY or _local["SECRET_KEY"]
    FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or _local["FIELD_ENCRYPTION_KEY"]

DEBUG = env.bool("DEBUG", default=False)

if "PROVIDER_ALLOWED_NETWORKS" not in os.environ:
    # A laptop's Ollama, vLLM or LM Studio listens on loopback: allowed unless the variable says.
    PROVIDER_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1", "localhost"]

if not (STATIC_ROOT / "staticfiles.json").exists():
    # `make run` serves static files from the apps' folders (no collectstatic, so no manifest):
    # the manifest storage would answer every admin page with "Missing staticfiles manifest
    # entry". Plain URLs instead; the Docker image runs collectstatic and keeps the manifest.
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
